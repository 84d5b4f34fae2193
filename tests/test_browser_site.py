"""The course site in a real browser: headless Chromium on build output, served and from file://.

The site is built once from the committed lessons, except lesson 05 (the quiz), which is executed
afresh so that its quiz forms come from the current renderer. Chromium then follows the landing
page to every lesson, searches, checks that the maths is typeset, plays the quiz (wrong answers and
their feedback, right answers and the score, a typed number, the explorer's slider) and records
every request the pages make: none may leave 127.0.0.1 or the local files. Skipped only without
Debian's /usr/bin/chromium. Screenshots land in the test's tmp_path.
"""

import functools
import http.server
import re
import threading
from urllib.parse import urlparse

import nbformat
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, check_figure_shown, press

from rmcourse.notebooks import clean_notebook, execute_notebook
from rmcourse.quiz import Explorer, check
from rmcourse.site.build import SiteSources, build_site
from rmcourse.site.course import lesson_paths

QUIZ_LESSON = "05_quiz.ipynb"
STEP_MS = 15_000  # one page or one click to its result, on a busy 2-core machine
LOCAL_SCHEMES = {"file", "data", "about", "blob"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.kernel,  # lesson 05 is executed for the site
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the committed lessons, lesson 05 executed afresh."""
    work = tmp_path_factory.mktemp("site")
    lessons = []
    for path in lesson_paths(ROOT / "notebooks"):
        if path.name == QUIZ_LESSON:
            fresh = work / path.name
            nbformat.write(clean_notebook(execute_notebook(path, timeout=300)), fresh)
            path = fresh
        lessons.append(path)
    build_site(SiteSources.from_repository(ROOT, lessons), work / "site")
    return work / "site"


@pytest.fixture(scope="module")
def server(site):
    """An HTTP server for the site on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output to what fails
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A page whose every request is recorded; the test fails if one leaves the machine."""
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    requests = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    page.requests = requests
    yield page
    context.close()
    outside = [url for url in requests if not _is_local(url)]
    assert requests and not outside, f"requests left the site: {outside}"


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in LOCAL_SCHEMES or parsed.hostname == "127.0.0.1"


def _typeset(page) -> int:
    """Wait for MathJax to finish; the number of typeset formulas on the page."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    return page.locator("mjx-container").count()


def test_landing_page_leads_to_every_lesson_with_its_maths_typeset(page, server, site, tmp_path):
    lessons = [p.stem for p in lesson_paths(ROOT / "notebooks")]
    page.goto(f"{server}/index.html")
    assert "Syllabus" in page.locator("article").inner_text()
    page.screenshot(path=str(tmp_path / "site-landing.png"))
    for stem in lessons:
        page.goto(f"{server}/index.html")
        page.locator(f"article a[href='lessons/{stem}.html']").first.click()
        page.wait_for_url(f"**/lessons/{stem}.html")
        title = page.locator("article h1").first.inner_text()
        assert title.startswith(f"Lesson {stem[:2]}"), (stem, title)
        assert page.locator(".rmcourse-run-yourself").count() == 1
        formulas = page.locator("span.math, div.math").count()
        if formulas:
            assert _typeset(page) >= formulas, stem  # every formula rendered by MathJax
            assert page.locator("mjx-merror").count() == 0, stem  # and none a TeX error
        text = page.locator("article").inner_text()
        assert "$$" not in text and "\\(" not in text, stem
        download = page.locator("a[href$='.ipynb']").first
        assert download.get_attribute("href").endswith(f"_sources/lessons/{stem}.ipynb")
    page.goto(f"{server}/lessons/01_bradley_terry.html")
    _typeset(page)
    page.screenshot(path=str(tmp_path / "site-lesson-01.png"))


def test_search_finds_bradley_terry(page, server, tmp_path):
    page.goto(f"{server}/search.html?q=Bradley-Terry")
    results = page.locator("#search-results li")
    results.first.wait_for()
    assert results.count() >= 3
    assert "Lesson 01" in page.locator("#search-results").inner_text()
    page.screenshot(path=str(tmp_path / "site-search.png"))


def _answer(page, question_id, key):
    question = page.locator(f".rmcourse-live-question[data-question-id='{question_id}']")
    question.locator(f"[data-key='{key}']").click()
    return question, question.locator("[data-role=feedback]")


def test_quiz_and_explorer_play_on_the_lesson_page(page, server, tmp_path):
    page.goto(f"{server}/lessons/05_quiz.html")
    questions = page.locator(".rmcourse-live-question")
    questions.first.wait_for()
    n = questions.count()
    assert n == page.locator(".rmcourse-question-static").count() > 0
    assert not page.locator(".rmcourse-question-static").first.is_visible()  # replaced
    score = page.locator("[data-role=score]").first
    assert score.inner_text() == f"Score: 0 of {n} solved (0 attempts)"

    # A wrong answer shows its own feedback; after a retry the right one raises the score.
    question, feedback = _answer(page, "q01", "c")
    assert feedback.inner_text() == "✘ " + check("q01", "c").message
    assert score.inner_text() == f"Score: 0 of {n} solved (1 attempt)"
    question.locator("[data-role=retry]").click()
    assert feedback.inner_text() == "" and not question.locator("input:checked").count()
    question, feedback = _answer(page, "q01", "a")
    right = check("q01", "a").message
    assert feedback.inner_text().startswith("✔ " + right)
    assert score.inner_text() == f"Score: 1 of {n} solved (2 attempts)"
    question.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "site-quiz-choice.png"))

    # A second question: wrong, then right without a retry.
    _, feedback = _answer(page, "q03", "d")
    assert feedback.inner_text() == "✘ " + check("q03", "d").message
    _, feedback = _answer(page, "q03", "a")
    assert feedback.inner_text().startswith("✔ ")
    assert score.inner_text() == f"Score: 2 of {n} solved (4 attempts)"

    # Select-all-that-apply: the verdict of the chosen set.
    multi = page.locator(".rmcourse-live-question[data-kind=multi_choice]").first
    qid = multi.get_attribute("data-question-id")
    keys = [k.get_attribute("data-key") for k in multi.locator("[data-key]").all()][:1]
    multi.locator(f"[data-key='{keys[0]}']").click()
    multi.locator("[data-role=check]").click()
    message = check(qid, keys).message
    assert (
        multi.locator("[data-role=feedback]")
        .inner_text()
        .startswith(("✔ " if check(qid, keys).correct else "✘ ") + message.splitlines()[0])
    )

    # A numeric answer: not a number (no attempt counted), how far off, then right.
    numeric = page.locator(".rmcourse-live-question[data-question-id='q05']")
    box = numeric.locator("[data-role=number]")
    before = score.inner_text()
    box.fill("abc")
    box.press("Enter")
    with pytest.raises(ValueError) as not_a_number:
        check("q05", "abc")
    assert numeric.locator("[data-role=feedback]").inner_text() == str(not_a_number.value)
    assert score.inner_text() == before
    box.fill("0.5")
    box.press("Enter")
    feedback = numeric.locator("[data-role=feedback]")
    assert feedback.inner_text() == "✘ " + check("q05", "0.5").message
    assert "0.2986 too high" in feedback.inner_text()
    solved = 2 + check(qid, keys).correct  # the select-all answer above may have been right
    assert score.inner_text() == f"Score: {solved} of {n} solved (6 attempts)"
    box.fill("0.2014")
    numeric.locator("[data-role=check]").click()
    assert feedback.inner_text().startswith("✔ " + check("q05", "0.2014").message)
    numeric.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "site-quiz-numeric.png"))

    # A diagnosis question shows its training curves.
    figure = page.locator(".rmcourse-live-question[data-question-id='q07'] img")
    check_figure_shown(page, figure, tmp_path / "site-quiz-diagnose.png")

    # The explorer: move r(x, y_w) with the keyboard; the loss and gradient follow.
    explorer = page.locator("[data-role=explorer]")
    readout = explorer.locator("[data-role=readout]")
    assert readout.inner_text() == Explorer(1.0, 0.0).readout_text()
    slider = explorer.locator("[data-role=r-chosen]")
    press(slider, "ArrowLeft", 15)
    assert slider.input_value() == "-0.5"
    assert readout.inner_text() == Explorer(-0.5, 0.0).readout_text()
    assert re.search(r"loss = 0\.9741", readout.inner_text())
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "site-explorer.png"))


def test_the_site_works_from_file_urls(page, site, tmp_path):
    page.goto((site / "index.html").as_uri())
    page.locator("article a[href='lessons/05_quiz.html']").first.click()
    page.wait_for_url("**/lessons/05_quiz.html")
    assert _typeset(page) > 0
    _, feedback = _answer(page, "q01", "a")
    assert feedback.inner_text().startswith("✔ ")
    assert page.locator("[data-role=score]").first.inner_text().startswith("Score: 1 of ")
    readout = page.locator("[data-role=explorer] [data-role=readout]")
    assert "loss = 0.3133" in readout.inner_text()
    page.screenshot(path=str(tmp_path / "site-file-url.png"))
    assert all(url.startswith(("file:", "data:", "about:")) for url in page.requests)


def test_without_scripts_the_quiz_shows_its_static_form(browser, site, tmp_path):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto((site / "lessons" / "05_quiz.html").as_uri())
        static = page.locator(".rmcourse-question-static[data-question-id='q01']")
        assert static.is_visible()
        assert static.locator("details summary").inner_text() == "Show the answer"
        assert page.locator(".rmcourse-live-question").count() == 0
        page.screenshot(path=str(tmp_path / "site-no-script.png"))
    finally:
        context.close()
