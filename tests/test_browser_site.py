"""The course site in a real browser: headless Chromium on build output, served and from file://.

The site is built once from the committed lessons, except lesson 05 (the quiz), which is executed
afresh so that its quiz forms come from the current renderer. Chromium then follows the landing
page to every lesson, searches, checks that the maths is typeset, plays the quiz (wrong answers and
their feedback, right answers and the score, a typed number, the explorer's slider) and records
every request the pages make: none may leave 127.0.0.1 or the local files. It plays your-turn
tasks on the lesson pages, wrong then right, and follows the links to what a student takes home
(the course wheel, the zip, the exercises). On a phone's screen (390×844) the menu opens and no
page runs wider than the screen; in dark mode the quiz, the explorer, the your-turn tasks and a
lesson's "run it yourself" box keep a WCAG contrast of 4.5:1. Skipped only without Debian's
/usr/bin/chromium. Screenshots land in the test's tmp_path.
"""

import functools
import http.server
import re
import threading
from urllib.parse import urlparse

import nbformat
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, check_figure_shown, press

from rmcourse import tasks
from rmcourse.notebooks import clean_notebook, execute_notebook
from rmcourse.quiz import Explorer, check
from rmcourse.site.build import SiteSources, build_site
from rmcourse.site.course import lesson_paths, take_home_files
from rmcourse.site.figures import figure_cells
from rmcourse.tasks import task_by_id

QUIZ_LESSON = "05_quiz.ipynb"
LESSON_03 = ROOT / "notebooks" / "03_pytorch_loss.ipynb"  # four figures, one in three panels
STEP_MS = 15_000  # one page or one click to its result, on a busy 2-core machine
LOCAL_SCHEMES = {"file", "data", "about", "blob"}
PHONE = {"width": 390, "height": 844}
MIN_CONTRAST = 4.5  # WCAG AA for normal text

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
    downloads = take_home_files(ROOT, lessons, work / "dist")
    build_site(SiteSources.from_repository(ROOT, lessons, downloads), work / "site")
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
    yield from _recorded_page(browser, viewport={"width": 1300, "height": 950})


@pytest.fixture
def phone(browser):
    """A page on a phone's screen (390×844, touch), its requests recorded as ``page``'s."""
    yield from _recorded_page(browser, viewport=PHONE, has_touch=True, is_mobile=True)


@pytest.fixture
def dark(browser):
    """A page in a browser that prefers dark colours, its requests recorded as ``page``'s."""
    yield from _recorded_page(browser, viewport={"width": 1300, "height": 950}, color_scheme="dark")


def _recorded_page(browser, **options):
    context = browser.new_context(**options)
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


def _task(page, task_id):
    box = page.locator(f".rmcourse-live-task[data-task-id='{task_id}']")
    return box, box.locator("[data-role=feedback]")


def test_your_turn_tasks_play_wrong_then_right_on_the_lesson_page(page, server, tmp_path):
    page.goto(f"{server}/lessons/01_bradley_terry.html")
    number, feedback = _task(page, "01-1")
    number.wait_for()
    assert not page.locator(".rmcourse-task-static[data-task-id='01-1']").is_visible()
    answer = task_by_id("01-1").answer
    assert f"{answer:.2f}" not in number.inner_text() and feedback.inner_text() == ""

    # A number: a known mistake gets its hint, the answer is right, both as the notebook says.
    box = number.locator("[data-role=number]")
    box.fill("0.3133")
    box.press("Enter")
    assert feedback.inner_text() == "✘ " + tasks.check("01-1", 0.3133).message
    box.fill("1.3")  # right to the digits given: asked for more
    number.locator("[data-role=check]").click()
    assert feedback.inner_text() == "✘ " + tasks.check("01-1", 1.3).message
    box.fill(f"{answer:.4f}")
    box.press("Enter")
    assert feedback.inner_text() == "✔ right."
    number.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "site-task-number.png"))

    # A choice: a wrong option gets its hint, then the right one.
    choice, feedback = _task(page, "01-3")
    right = task_by_id("01-3").answer
    wrong = next(k for k in task_by_id("01-3").hints)
    choice.locator(f"[data-key='{wrong}']").click()
    assert feedback.inner_text() == "✘ " + tasks.check("01-3", wrong).message
    choice.locator(f"[data-key='{right}']").click()
    assert feedback.inner_text() == "✔ right."
    choice.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "site-task-choice.png"))

    # A function cannot run in the page: it sends the student to the notebook, nothing more.
    page.goto(f"{server}/lessons/02_numpy_loss.html")
    function, _ = _task(page, "02-1")
    assert "in this cell of the notebook" in function.inner_text()
    assert function.locator("input, [data-role=feedback]").count() == 0


def test_every_your_turn_cell_of_every_lesson_has_its_task_form(site):
    for path in lesson_paths(ROOT / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        called = [
            m.group(1)
            for cell in nb.cells
            if cell.cell_type == "code" and "your-turn" in cell.metadata.get("tags", [])
            for m in [re.search(r"tasks\.check\(\"(\d\d-\d+)\"", cell.source)]
            if m
        ]
        html = (site / "lessons" / f"{path.stem}.html").read_text()
        shown = re.findall(r"rmcourse-task-static' data-task-id='([^']+)'", html)
        assert shown == called, path.name
        assert "not answered yet" not in html, path.name  # the notebook's output is replaced


def test_the_course_to_take_home_is_linked_from_the_landing_lessons_and_exercises(
    page, server, site
):
    page.goto(f"{server}/index.html")
    links = page.locator("article a[download]")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(h.endswith(".whl") for h in hrefs) and any(h.endswith(".zip") for h in hrefs)
    for href in hrefs:
        assert page.request.get(f"{server}/{href}").ok, href
    text = page.locator("article").inner_text()
    assert "rmcourse init my-course" in text and "import rmcourse" in text

    page.goto(f"{server}/lessons/02_numpy_loss.html")
    box = page.locator(".rmcourse-run-yourself")
    wheel = box.locator("a[href$='.whl']").get_attribute("href")
    assert page.request.get(f"{server}/lessons/{wheel}").ok
    box.locator("a[href*='exercises.html#exercise-02']").click()
    page.wait_for_url("**/exercises.html#exercise-02")
    section = page.locator("section#exercise-02")
    assert section.locator("a[href='lessons/02_numpy_loss.html']").count() == 1
    notebook = section.locator("a[href='download/exercises/02_numpy_loss.ipynb']")
    assert page.request.get(f"{server}/download/exercises/02_numpy_loss.ipynb").ok
    assert notebook.count() == 1
    names = [p.stem for p in lesson_paths(ROOT / "exercises")]
    for name in names:  # every exercise the page names is linked and served
        assert page.locator(f"a[href='download/exercises/{name}.ipynb']").count() == 1, name
        assert (site / "download" / "exercises" / f"{name}.ipynb").is_file()


def test_the_task_forms_fit_a_phone_screen(browser, site, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(STEP_MS)
        page.goto((site / "lessons" / "01_bradley_terry.html").as_uri())
        forms = page.locator(".rmcourse-live-task")
        forms.first.wait_for()
        assert forms.count() == 4
        for i in range(forms.count()):
            right = forms.nth(i).evaluate(
                "e => Math.max(...[e, ...e.querySelectorAll('*')]"
                ".map(n => n.getBoundingClientRect().right))"
            )
            assert right <= 390, (forms.nth(i).get_attribute("data-task-id"), right)
        forms.first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "site-task-phone.png"))
    finally:
        context.close()


# Elements of the article that reach past the screen's edge without a scroll box of their own
# inside the screen (a table's or a formula's box): what a reader could not see or reach.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const inside = (r) => r.left >= -1 && r.right <= width + 1;
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const out = [];
  for (const el of document.querySelectorAll(".bd-article *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || inside(r) || out.some((o) => o.contains(el))) continue;
    let boxed = false;
    for (let a = el.parentElement; a && a !== document.body && !boxed; a = a.parentElement) {
      boxed = scrolls(a) && inside(a.getBoundingClientRect());
    }
    if (!boxed) out.push(el);
  }
  const page = document.documentElement.scrollWidth > width ? ["the page itself"] : [];
  return page.concat(out.map((e) => `${e.tagName}.${e.className}: ${e.textContent.slice(0, 60)}`));
}"""

# WCAG contrast of each visible element matching a selector: its colour (an SVG text's fill)
# against the first opaque background behind it, translucent layers composed over it.
CONTRASTS = """(selector) => {
  const rgba = (c) => {
    const v = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
  };
  const lum = (c) => {
    const f = (x) => ((x /= 255) <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const over = (top, under) => under.map((v, i) => top[i] * top[3] + v * (1 - top[3]));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255]);
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length)
    .map((el) => {
      const style = getComputedStyle(el);
      const back = background(el);
      const text = over(rgba(el instanceof SVGElement ? style.fill : style.color), back);
      const [hi, lo] = [lum(text), lum(back)].sort((a, b) => b - a);
      return (hi + 0.05) / (lo + 0.05);
    });
}"""


# Of every displayed formula (MathJax's container scrolls): (wider than its box, fades out on
# the left, fades out on the right); then how many other elements carry those classes.
FORMULA_EDGES = """() => {
  const shown = [...document.querySelectorAll(".bd-article mjx-container[display='true']")]
    .filter((box) => box.getClientRects().length);
  const faded = document.querySelectorAll('.rmcourse-more-left, .rmcourse-more-right');
  return [shown.map((box) => [box.scrollWidth - box.clientWidth > 1,
                              box.classList.contains('rmcourse-more-left'),
                              box.classList.contains('rmcourse-more-right')]),
          [...faded].filter((el) => !shown.includes(el)).length];
}"""


def _site_pages(site):
    pages = [p.relative_to(site).as_posix() for p in site.glob("*.html")]
    pages += [f"lessons/{p.name}" for p in sorted((site / "lessons").glob("*.html"))]
    return [p for p in pages if p not in ("genindex.html", "search.html")]


def test_on_a_phone_the_menu_opens_and_no_page_runs_off_the_screen(phone, server, site, tmp_path):
    phone.goto(f"{server}/lessons/01_bradley_terry.html")
    menu = phone.locator("#pst-primary-sidebar-modal")
    assert not menu.is_visible()
    toggle = phone.locator(".primary-toggle")
    assert toggle.count() == 1 and toggle.is_visible()
    toggle.click()
    link = menu.locator("a[href='02_numpy_loss.html']")
    link.wait_for(state="visible")
    phone.screenshot(path=str(tmp_path / "phone-menu.png"))
    link.click()
    phone.wait_for_url("**/lessons/02_numpy_loss.html")
    phone.locator(".secondary-toggle").click()  # the page's contents
    phone.locator("#pst-secondary-sidebar-modal a[href='#summary']").wait_for(state="visible")
    phone.keyboard.press("Escape")

    lessons = [p.stem for p in lesson_paths(ROOT / "notebooks")]
    pages = _site_pages(site)
    assert {f"lessons/{stem}.html" for stem in lessons} <= set(pages)
    scrolling = []  # pages with a formula wider than the phone's column
    for name in pages:
        phone.goto(f"{server}/{name}")
        if phone.locator("span.math, div.math").count():
            _typeset(phone)  # formulas take their width when typeset
        if name == "lessons/05_quiz.html":
            phone.locator(".rmcourse-live-question").first.wait_for()
        assert phone.evaluate(OVERFLOWING) == [], name
        phone.evaluate("document.fonts.ready.then(() => true)")  # widths final, classes set
        formulas, others = phone.evaluate(FORMULA_EDGES)
        # at the start of its box a formula fades out on the right exactly when it scrolls
        assert all(right == wider and not left for wider, left, right in formulas), name
        assert others == 0, name
        if any(wider for wider, _, _ in formulas):
            scrolling.append(name)
    assert scrolling, "no page has a formula wider than a phone: the fading is untested"
    phone.goto(f"{server}/{scrolling[0]}")
    _typeset(phone)
    wide = phone.locator("mjx-container.rmcourse-more-right").first
    wide.scroll_into_view_if_needed()
    phone.screenshot(path=str(tmp_path / "phone-wide-formula.png"))
    wide.screenshot(path=str(tmp_path / "wide-formula-start.png"))
    formula = wide.element_handle()  # the locator matches by the class that scrolling takes off
    formula.evaluate("box => { box.scrollLeft = box.scrollWidth; }")  # to its end
    phone.wait_for_function("box => box.classList.contains('rmcourse-more-left')", arg=formula)
    assert "rmcourse-more-right" not in formula.get_attribute("class")
    formula.screenshot(path=str(tmp_path / "wide-formula-end.png"))
    phone.goto(f"{server}/lessons/05_quiz.html")
    number = phone.locator(".rmcourse-live-question[data-question-id='q05'] [data-role=number]")
    number.scroll_into_view_if_needed()
    box = number.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    phone.screenshot(path=str(tmp_path / "phone-quiz.png"))


def test_the_sidebar_toggle_hides_and_shows_the_menu_on_a_laptop(page, server):
    page.goto(f"{server}/lessons/03_pytorch_loss.html")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator(".primary-toggle").click()
    expect_hidden = "() => getComputedStyle(document.getElementById('pst-primary-sidebar'))"
    page.wait_for_function(f"{expect_hidden}.visibility === 'hidden'")
    page.locator(".primary-toggle").click()
    page.wait_for_function(f"{expect_hidden}.visibility === 'visible'")
    assert page.locator("#pst-primary-sidebar-modal").is_hidden()  # no dialog on a wide screen


def test_in_dark_mode_the_quiz_and_the_explorer_read_at_contrast_4_5(dark, server, tmp_path):
    dark.goto(f"{server}/lessons/05_quiz.html")
    dark.locator(".rmcourse-live-question").first.wait_for()
    assert dark.evaluate("document.documentElement.dataset.theme") == "dark"
    _answer(dark, "q01", "c")  # wrong: its feedback in the wrong answer's colour
    _answer(dark, "q03", "a")  # right
    parts = {
        "question titles": ".rmcourse-live-question h4",
        "question ids": ".rmcourse-live-question h4 small",
        "options": ".rmcourse-option",
        "feedback": ".rmcourse-feedback, .rmcourse-verdict, .rmcourse-explanation",
        "buttons": ".rmcourse-button",
        "score": "[data-role=score]",
        "explorer readout": "[data-role=readout]",
        "explorer labels": ".rmcourse-explorer-plot text",
    }
    for part, selector in parts.items():
        ratios = dark.evaluate(CONTRASTS, selector)
        assert ratios and min(ratios) >= MIN_CONTRAST, (part, min(ratios or [0]))
    assert dark.locator(".rmcourse-wrong .rmcourse-verdict").count() == 1
    dark.locator(".rmcourse-live-question[data-question-id='q01']").scroll_into_view_if_needed()
    dark.screenshot(path=str(tmp_path / "site-dark-quiz.png"))
    dark.locator("[data-role=explorer]").scroll_into_view_if_needed()
    dark.screenshot(path=str(tmp_path / "site-dark-explorer.png"))


def test_in_dark_mode_the_task_forms_and_the_run_yourself_box_read_at_contrast_4_5(
    dark, server, tmp_path
):
    dark.goto(f"{server}/lessons/01_bradley_terry.html")
    number, feedback = _task(dark, "01-1")
    number.wait_for()
    assert dark.evaluate("document.documentElement.dataset.theme") == "dark"
    number.locator("[data-role=number]").fill("0.3133")  # a known mistake: the wrong colour
    number.locator("[data-role=check]").click()
    assert feedback.inner_text().startswith("✘ ")
    choice, feedback = _task(dark, "01-3")
    choice.locator(f"[data-key='{task_by_id('01-3').answer}']").click()  # the right colour
    assert feedback.inner_text() == "✔ right."
    box = ".rmcourse-run-yourself"
    parts = {
        "task titles": ".rmcourse-live-task strong, .rmcourse-live-task small",
        "task texts": ".rmcourse-live-task p, .rmcourse-live-task label",
        "options": ".rmcourse-live-task .rmcourse-option",
        "number field": ".rmcourse-live-task [data-role=number]",
        "feedback": ".rmcourse-live-task .rmcourse-verdict",
        "buttons": ".rmcourse-live-task .rmcourse-button",
        "run-it-yourself box": f"{box} .admonition-title, {box} p, {box} code, {box} a",
    }
    for part, selector in parts.items():
        ratios = dark.evaluate(CONTRASTS, selector)
        assert ratios and min(ratios) >= MIN_CONTRAST, (part, min(ratios or [0]))
    assert dark.locator(".rmcourse-live-task .rmcourse-wrong .rmcourse-verdict").count() == 1
    dark.locator(box).scroll_into_view_if_needed()
    dark.screenshot(path=str(tmp_path / "site-dark-run-yourself.png"))
    number.scroll_into_view_if_needed()
    dark.screenshot(path=str(tmp_path / "site-dark-tasks.png"))


def test_figures_have_captions_and_open_at_full_size_and_code_has_copy_buttons(phone, server):
    phone.goto(f"{server}/lessons/03_pytorch_loss.html")
    figures = phone.locator("article figure")
    assert figures.count() == len(figure_cells(nbformat.read(LESSON_03, as_version=4)))
    for figure in figures.all():
        assert figure.locator("figcaption").inner_text().strip()
        assert ".png" not in figure.locator("img").get_attribute("alt")
    image = figures.first.locator("img")
    image.scroll_into_view_if_needed()
    shown = image.bounding_box()["width"]
    natural = image.evaluate("img => img.naturalWidth")
    assert shown < natural  # shrunk to the phone's column
    image.click()
    zoomed = phone.locator("dialog.rmcourse-zoom img")
    zoomed.wait_for(state="visible")
    assert zoomed.bounding_box()["width"] == pytest.approx(natural, abs=1)
    phone.keyboard.press("Escape")
    zoomed.wait_for(state="detached")
    assert phone.locator(".cell_input button.copybtn").count() >= 5
    assert phone.locator(".cell_output button.copybtn").count() == 0  # outputs: nothing to copy


def test_the_landing_page_typesets_the_loss(page, server, site):
    html = (site / "index.html").read_text()
    assert re.search(r'<div class="math[^"]*">\s*\\\[\\mathcal\{L\}\(\\theta\)', html)
    page.goto(f"{server}/index.html")
    assert _typeset(page) > 0 and page.locator("mjx-merror").count() == 0
    assert page.locator("article div.math mjx-container").count() == 1
    assert page.locator("article pre", has_text="L(θ)").count() == 0  # no pseudo-TeX block
