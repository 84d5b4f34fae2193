"""The course as a static site: lessons, quiz and instructors' pages, readable offline.

:func:`rmcourse.site.build.build_site` builds it (Sphinx, myst-nb, sphinx-book-theme) from the
executed lessons; :func:`rmcourse.site.course.build_course` is ``rmcourse course``: execute every
lesson, then build the site.
"""
