"""Exercise generation and the autograder: ``rmcourse exercises`` and ``rmcourse grade``.

Knows notebooks (nbformat, nbclient), not the ML code; :mod:`rmcourse.grading.checks` is the
comparison namespace that solution and exercise notebooks bind to ``_grader``.
"""
