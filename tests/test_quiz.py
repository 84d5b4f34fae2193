"""The quiz: content validity, every number recomputed with np_loss, answer checking, widgets."""

import copy
import json
import math
import re
import subprocess
import sys
from importlib import resources

import jsonschema
import numpy as np
import pytest

from rmcourse import quiz
from rmcourse.np_loss import bt_loss, bt_loss_grad
from rmcourse.quiz.content import SCENARIOS, question_by_id, select_questions
from rmcourse.quiz.static import HIDDEN_ANSWER, question_text
from rmcourse.quiz.widgets import Score

LN2 = math.log(2)


def _raw():
    text = resources.files("rmcourse.quiz").joinpath("questions.json").read_text("utf-8")
    return json.loads(text)


def _raw_question(qid):
    content = _raw()
    (raw,) = [q for q in content["questions"] if q["id"] == qid]
    return content, raw


def _pairs(group):
    pairs = np.asarray(group["pairs"], dtype=float)
    return pairs[:, 0], pairs[:, 1]


# --- content -------------------------------------------------------------------------------


def test_package_content_matches_its_schema():
    schema = json.loads(
        resources.files("rmcourse.quiz").joinpath("questions.schema.json").read_text("utf-8")
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(_raw()))
    assert errors == []


def test_every_scenario_is_covered_and_ids_are_unique():
    questions = quiz.load_questions()
    counts = {s: sum(q.scenario == s for q in questions) for s in SCENARIOS}
    assert all(n >= 2 for n in counts.values()), counts
    assert len({q.id for q in questions}) == len(questions)
    kinds = {q.kind for q in questions}
    assert kinds == {"choice", "multi_choice", "numeric"}


def test_every_option_has_feedback_and_every_question_an_explanation():
    for q in quiz.load_questions():
        assert q.explanation.strip() and q.prompt.strip()
        assert all(o.feedback.strip() for o in q.options), q.id


def test_no_hand_typed_computed_numbers_in_the_text():
    # Losses and gradients (3+ decimals) must come from {...} fields filled by the loader.
    def texts(raw):
        yield raw["prompt"]
        yield raw["explanation"]
        for option in raw["options"]:
            yield option["feedback"]
            yield option.get("text", "")

    for raw in _raw()["questions"]:
        for text in texts(raw):
            assert not re.search(r"\d\.\d{3,}", text), (raw["id"], text)


def test_least_loss_answers_have_the_smallest_recomputed_loss_and_feedback_states_it():
    questions = [q for q in quiz.load_questions() if q.scenario == "least_loss"]
    assert len(questions) >= 2
    for q in questions:
        losses = {o.key: bt_loss([o.rewards[0]], [o.rewards[1]]) for o in q.options}
        assert q.answer == min(losses, key=losses.get)
        for o in q.options:
            assert f"= {losses[o.key]:.4f}." in o.feedback, (q.id, o.key, o.feedback)


def test_least_loss_seed_values_by_hand():
    q = question_by_id("q01")
    # margin 3: log(1 + e^-3); margin -2: log(1 + e^2)
    assert f"{math.log1p(math.exp(-3)):.4f}" in q.option("a").feedback
    assert f"−log σ(-2) = {math.log1p(math.exp(2)):.4f}" in q.option("c").feedback


def test_calculate_loss_answers_are_the_mean_loss_of_their_pairs():
    questions = [q for q in quiz.load_questions() if q.scenario == "calculate_loss"]
    assert {len(q.pairs) for q in questions} >= {1, 4}  # a single pair and a small dataset
    for q in questions:
        r_w, r_l = np.array(q.pairs).T
        _, raw = _raw_question(q.id)
        assert raw["answer"] == round(bt_loss(r_w, r_l), 4)
        assert q.answer == bt_loss(r_w, r_l)
        assert 0 < q.tolerance <= 0.01
        for pair in q.pairs:
            assert f"{pair[0]:g}, {pair[1]:g}" in q.prompt
    # by hand: log(1 + e^-1.5) = 0.201413...
    assert question_by_id("q05").answer == pytest.approx(0.2014, abs=1e-4)


def test_numeric_mistake_options_stand_for_the_mistakes_they_name():
    q = question_by_id("q06")
    loss = bt_loss([1.0, 0.5, 3.0, 0.0], [0.0, 1.5, 1.0, 0.0])
    values = {o.key: o.value for o in q.options}
    assert values["correct"] == pytest.approx(loss)
    assert values["sum"] == pytest.approx(4 * loss)
    assert values["log10"] == pytest.approx(loss / math.log(10))
    assert values["swapped"] == pytest.approx(bt_loss([0.0, 1.5, 1.0, 0.0], [1.0, 0.5, 3.0, 0.0]))
    sig = 1 / (1 + np.exp(-np.array([1.0, -1.0, 2.0, 0.0])))
    assert values["probability"] == pytest.approx(sig.mean())


def test_group_numbers_in_the_text_are_recomputed():
    for raw in _raw()["questions"]:
        if "groups" not in raw:
            continue
        q = question_by_id(raw["id"])
        shown = q.prompt + " ".join(o.feedback + o.text for o in q.options) + q.explanation
        for name, group in raw["groups"].items():
            r_w, r_l = _pairs(group)
            loss = bt_loss(r_w, r_l, margin=group.get("margin", 0.0))
            if f"{{loss[{name}]:.3f}}" in json.dumps(raw, ensure_ascii=False):
                assert f"{loss:.3f}" in shown, (raw["id"], name)


def test_groups_have_the_properties_their_questions_claim():
    _, raw = _raw_question("q15")
    g = raw["groups"]
    assert np.allclose(np.array(g["shifted"]["pairs"]), np.array(g["original"]["pairs"]) + 5)
    assert bt_loss(*_pairs(g["shifted"])) == pytest.approx(bt_loss(*_pairs(g["original"])))

    _, raw = _raw_question("q16")
    g = raw["groups"]
    assert np.allclose(np.array(g["scaled"]["pairs"]), 3 * np.array(g["original"]["pairs"]))
    assert bt_loss(*_pairs(g["right_after"])) < bt_loss(*_pairs(g["right_before"]))
    assert bt_loss(*_pairs(g["wrong_after"])) > bt_loss(*_pairs(g["wrong_before"]))
    assert question_by_id("q16").answer == ("a", "b", "c")

    _, raw = _raw_question("q12")
    a, b = (_pairs(raw["groups"][k]) for k in "AB")
    assert np.mean(a[0] > a[1]) == np.mean(b[0] > b[1]) == 0.75
    assert bt_loss(*b) - bt_loss(*a) > 0.3

    _, raw = _raw_question("q13")
    before, after = (_pairs(raw["groups"][k]) for k in ("before", "after"))
    assert np.mean(before[0] > before[1]) == np.mean(after[0] > after[1])
    assert bt_loss(*after) < bt_loss(*before)

    _, raw = _raw_question("q11")
    losses = [bt_loss(*_pairs(raw["groups"][k])) for k in "ABC"]
    assert losses[0] < LN2 < losses[2] and losses[1] == pytest.approx(LN2)

    _, raw = _raw_question("q14")
    grads = [bt_loss_grad(*_pairs(raw["groups"][k]))[0][0] for k in ("minus", "zero", "plus")]
    assert -1 < grads[0] < grads[1] < grads[2] < 0 and grads[1] == pytest.approx(-0.5)

    _, raw = _raw_question("q18")
    g = raw["groups"]
    assert bt_loss(*_pairs(g["with_margin"]), margin=g["with_margin"]["margin"]) == pytest.approx(
        LN2
    )


def test_training_logs_show_what_their_diagnoses_say():
    def series(qid):
        _, raw = _raw_question(qid)
        out = {}
        for panel in raw["log"]["panels"]:
            out.update({k: np.array(v) for k, v in panel["series"].items()})
        return out

    dead = series("q07")
    assert np.all(np.abs(dead["train loss"] - LN2) < 2e-3)
    assert np.all(np.abs(dead["validation accuracy"] - 0.5) < 0.01)

    over = series("q08")
    assert np.all(np.diff(over["train loss"]) < 0)
    best = int(np.argmin(over["validation loss"]))
    assert 0 < best < len(over["validation loss"]) - 1
    assert over["validation loss"][-1] > LN2 > over["validation loss"][best]

    noise = series("q09")
    for name in ("train accuracy", "validation accuracy"):
        assert np.all(np.abs(noise[name][-4:] - 0.8) < 0.01)
    # the loss floor of 20% flipped labels is the labels' entropy, H(0.2) = 0.5004
    h = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert np.all(noise["train loss"] > h) and noise["train loss"][-1] - h < 0.01

    drift = series("q10")
    gap = drift["mean r(x, y_w)"] - drift["mean r(x, y_l)"]
    assert np.all(np.diff(drift["mean r(x, y_l)"]) > 0) and drift["mean r(x, y_l)"][-1] > 30
    assert np.ptp(gap[-4:]) < 0.05 and np.ptp(drift["train loss"][-4:]) < 0.02


# --- broken content is rejected with the question id ----------------------------------------


def _broken(qid, mutate):
    content, raw = _raw_question(qid)
    mutate(raw)
    return content


@pytest.mark.parametrize(
    ("qid", "mutate", "message"),
    [
        ("q03", lambda q: q.update(answer="z"), r"answer 'z' is not among"),
        ("q03", lambda q: q["options"][1].pop("feedback"), r"'feedback'"),
        ("q03", lambda q: q.update(scenario="vibes"), r"scenario.*'vibes'"),
        ("q06", lambda q: q.update(answer=0.6117), r"disagrees.*0\.611650"),
        ("q01", lambda q: q.update(answer="d"), r"not the option with the largest"),
        ("q01", lambda q: q["options"][3].update(rewards=[3.5, 0.5]), r"tie"),
        ("q11", lambda q: q.update(prompt="{loss[Z]:.3f}"), r"cannot fill"),
        ("q05", lambda q: q.update(tolerance=0.2), r"twice the tolerance"),
        ("q05", lambda q: q.update(answer="a"), r"answer"),
        ("q20", lambda q: q.update(answer=["a", "x"]), r"'x' is not among"),
    ],
)
def test_broken_content_fails_naming_the_question(qid, mutate, message):
    with pytest.raises(ValueError, match=message) as info:
        quiz.load_questions(_broken(qid, mutate))
    assert repr(qid) in str(info.value)


def test_duplicate_ids_are_rejected():
    content = _raw()
    content["questions"].append(copy.deepcopy(content["questions"][0]))
    with pytest.raises(ValueError, match=r"'q01' is used twice"):
        quiz.load_questions(content)


def test_content_that_is_not_a_mapping_is_a_type_error():
    with pytest.raises(TypeError, match="list"):
        quiz.load_questions([])


# --- checking answers -----------------------------------------------------------------------


def test_check_choice_right_and_wrong_with_feedback():
    right = quiz.check("q03", "a")
    wrong = quiz.check("q03", "d")
    assert right.correct and right.message.startswith("Correct.")
    assert not wrong.correct and "Equal scores give Δ = 0" in wrong.message


def test_check_multi_choice_counts_false_and_missed_statements():
    assert quiz.check("q20", ["b", "a"]).correct
    fb = quiz.check("q20", {"a", "c"})
    assert not fb.correct
    assert fb.message.splitlines()[0] == (
        "Not quite: 1 selected statement(s) are false, 1 true one(s) missed."
    )
    assert fb.message.splitlines()[2].startswith("(c) No: a loss stuck at ln 2")


def test_check_numeric_tolerance_distance_and_known_mistakes():
    loss = bt_loss([2.0], [0.5])
    assert quiz.check("q05", loss + 0.0019).correct
    assert quiz.check("q05", f"{loss:.3f}").correct
    far = quiz.check("q05", loss + 0.5)
    assert not far.correct and "is 0.5000 too high" in far.message
    log10 = quiz.check("q05", loss / math.log(10))
    assert not log10.correct and "log base 10" in log10.message
    summed = quiz.check("q06", 4 * bt_loss([1, 0.5, 3, 0], [0, 1.5, 1, 0]))
    assert not summed.correct and "summed" in summed.message


@pytest.mark.parametrize(
    ("qid", "answer", "error", "message"),
    [
        ("no-such-question", "a", ValueError, r"no quiz question with id 'no-such-question'"),
        ("q03", "q", ValueError, r"no option 'q'"),
        ("q03", ["a"], TypeError, r"one option key"),
        ("q20", "ab", TypeError, r"collection of option keys"),
        ("q05", "zero point two", ValueError, r"'zero point two' is not"),
        ("q05", float("nan"), ValueError, r"finite"),
        ("q05", True, TypeError, r"takes a number"),
    ],
)
def test_check_rejects_bad_answers(qid, answer, error, message):
    with pytest.raises(error, match=message):
        quiz.check(qid, answer)


# --- widgets, driven from Python ------------------------------------------------------------


def test_choice_widget_feedback_retry_and_score():
    view = quiz.show("least_loss", score=Score())
    qw = view.questions["q01"]
    assert view.score.text == "Score: 0 of 2 solved (0 attempts)"
    qw.input.value = "c"  # as a click on option (c)
    assert "✘" in qw.feedback.value and "largest of the four" in qw.feedback.value
    assert qw.retry.layout.display is None  # retry offered
    assert view.score.text == "Score: 0 of 2 solved (1 attempt)"
    qw.retry.click()
    assert qw.input.value is None and qw.feedback.value == ""
    qw.input.value = "a"
    assert "✔" in qw.feedback.value and "0.0486" in qw.feedback.value
    assert view.score.text == "Score: 1 of 2 solved (2 attempts)"
    label = view.score_label
    assert "1 of 2 solved" in label.value
    qw.input.value = "b"  # a later wrong answer does not unsolve it
    assert view.score.solved == 1


def test_multi_choice_and_numeric_widgets():
    view = quiz.show(None, score=Score())
    multi = view.questions["q16"]
    assert not view.answer("q16", ["a", "d"]).correct
    assert "not unchanged" not in multi.feedback.value and "(d) False" in multi.feedback.value
    assert view.answer("q16", ["a", "b", "c"]).correct
    assert [box.value for box in multi.input.children] == [True, True, True, False]

    numeric = view.questions["q06"]
    numeric.input.value = "0.5"  # as typed + Enter
    assert "0.5 is 0.1116 too low" in numeric.feedback.value
    numeric.input.value = "abc"
    assert "is not one" in numeric.feedback.value
    assert view.score.attempts == 3  # input that is not a number is no attempt
    numeric.input.value = "0.6116"
    assert numeric.last.correct and view.score.text.startswith("Score: 2 of 20 solved")


def test_widget_answers_with_unknown_keys_are_rejected():
    view = quiz.show("regularized_loss", score=Score())
    with pytest.raises(ValueError, match=r"no option 'z'"):
        view.answer("q18", "z")
    with pytest.raises(ValueError, match=r"no option 'x'"):
        view.answer("q20", ["a", "x"])
    with pytest.raises(ValueError, match=r"'q01' is not shown here"):
        view.answer("q01", "a")
    assert view.score.attempts == 0


def test_one_session_score_counts_across_show_calls():
    score = Score()
    first, second = quiz.show("least_loss", score=score), quiz.show("primary_effect", score=score)
    second.answer("q03", "a")
    for view in (first, second):
        assert "1 of 4 solved" in view.score_label.value


def test_a_view_without_a_given_score_holds_its_own():
    first, second = quiz.show("least_loss"), quiz.show("least_loss")
    first.answer("q01", "a")
    assert first.score is not second.score
    assert first.score.text == "Score: 1 of 2 solved (1 attempt)"
    assert second.score.text == "Score: 0 of 2 solved (0 attempts)"


def test_static_forms_hold_every_question_and_answer_behind_a_toggle():
    view = quiz.show(score=Score())
    static, live = view.mimebundles()
    assert "application/vnd.jupyter.widget-view+json" in live
    assert "application/vnd.jupyter.widget-view+json" not in static
    page, text = static["text/html"], static["text/plain"]
    assert page.startswith("<div class='rmcourse-static'>")
    lesson_05 = select_questions(None)
    assert page.count("<details>") == len(lesson_05) == 20
    for q in lesson_05:
        assert f"[{q.id}]" in page and f"[{q.id}]" in text
    assert "0.2014" not in text and "Answer:" not in text  # the text form keeps answers hidden
    assert text.count(HIDDEN_ANSWER) == len(lesson_05)
    assert page.count("data:image/png;base64,") == 4  # the four training logs
    assert "<b>Answer:</b> (a, b)" not in page and "<b>Answer:</b> (a), (b)" in page


def test_show_rejects_unknown_targets():
    with pytest.raises(ValueError, match=r"'nope' is neither a scenario"):
        select_questions("nope")
    with pytest.raises(TypeError, match="42"):
        select_questions(42)
    assert [q.id for q in select_questions("q06")] == ["q06"]


def test_explorer_tracks_the_sliders():
    ex = quiz.explorer(1.0, 0.0)
    before = ex.plot.value
    ex.chosen.value = -1.0
    ex.rejected.value = 2.0
    loss = bt_loss([-1.0], [2.0])
    g_c, g_r = bt_loss_grad([-1.0], [2.0])
    assert f"loss = {loss:.4f}" in ex.readout.value
    assert f"∂L/∂r(x, y_w) = {g_c[0]:.4f}" in ex.readout.value
    assert f"∂L/∂r(x, y_l) = {g_r[0]:.4f}" in ex.readout.value
    assert "σ(Δ) = 0.0474" in ex.readout.value  # 1 / (1 + e^3)
    assert ex.plot.value != before and ex.plot.value[:4] == b"\x89PNG"
    x, y = ex._figure.loss_point.get_data()  # the dot sits on the loss curve at Δ
    assert (x[0], y[0]) == pytest.approx((-3.0, loss))
    assert "<table>" in ex.mimebundles()[0]["text/html"]


def test_explorer_rejects_values_off_the_sliders():
    with pytest.raises(ValueError, match=r"r_chosen=7.5"):
        quiz.explorer(7.5, 0.0)
    with pytest.raises(TypeError, match=r"r_rejected must be a number, got '1'"):
        quiz.explorer(0.0, "1")


def test_the_right_option_is_not_given_away_by_its_length():
    """In at most a third of the choice questions is the right option the (strictly) longest."""
    questions = [
        q
        for q in quiz.load_questions()
        if q.kind == "choice" and all(o.rewards is None for o in q.options)
    ]
    longest = []
    for q in questions:
        lengths = {o.key: len(o.text) for o in q.options}
        top = max(lengths.values())
        if [k for k, n in lengths.items() if n == top] == [q.answer]:
            longest.append(q.id)
    assert len(questions) >= 12
    assert len(longest) <= len(questions) / 3, f"the right option is the longest in {longest}"


STRONG_WORDS = r"always|never|must|cannot|can't|impossible"
ABSOLUTE_WORDS = STRONG_WORDS + r"|only|none|nothing|every|all|no|exactly|whatever"


def _text_questions(kinds):
    return [
        q
        for q in quiz.load_questions()
        if q.kind in kinds and all(o.rewards is None for o in q.options)
    ]


def _key_is(question, pick) -> float:
    """1 if the key alone has the shortest (``pick=min``) or longest text, 1/k if k options share
    that length with it, else 0: over many questions this sums to what chance gives."""
    lengths = [len(o.text) for o in question.options]
    tied = [o.key for o in question.options if len(o.text) == pick(lengths)]
    return 1 / len(tied) if question.answer in tied else 0.0


@pytest.mark.parametrize("lesson_05_only", [False, True], ids=["all", "lesson-05"])
def test_the_length_of_the_keyed_option_carries_no_signal(lesson_05_only):
    """ "Prefer the shortest" or "the longest" does no better than chance + 1, nor much worse."""
    questions = [q for q in _text_questions({"choice"}) if q.lesson is None or not lesson_05_only]
    chance = sum(1 / len(q.options) for q in questions)  # expected count either way
    assert len(questions) >= 12
    for pick in (min, max):
        count = sum(_key_is(q, pick) for q in questions)
        assert math.floor(chance / 2) <= count <= chance + 1, (pick.__name__, count, chance)


@pytest.mark.parametrize("words", [STRONG_WORDS, ABSOLUTE_WORDS], ids=["strong", "absolute"])
def test_absolute_words_are_as_common_in_keys_as_in_distractors(words):
    """ "Drop the options that say always / never / only" does no better than chance."""
    pattern = re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
    keys, distractors = [], []
    for q in _text_questions({"choice", "multi_choice"}):
        answer = set(q.answer) if q.kind == "multi_choice" else {q.answer}
        for o in q.options:
            (keys if o.key in answer else distractors).append(bool(pattern.search(o.text)))
    key_rate, distractor_rate = np.mean(keys), np.mean(distractors)
    assert distractor_rate - 0.05 <= key_rate <= distractor_rate + 0.15, (key_rate, distractor_rate)


def test_the_right_option_is_not_always_in_the_same_place():
    answers = [q.answer for q in quiz.load_questions() if q.kind == "choice"]
    most_common = max(answers.count(key) for key in set(answers))
    assert most_common <= len(answers) / 2, answers


# --- structure -------------------------------------------------------------------------------


def test_static_forms_need_no_ipywidgets():
    code = (
        "import sys; from rmcourse.quiz import static, content; "
        "q = content.question_by_id('q05'); static.question_html(q); "
        "print('ipywidgets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scenario_titles_come_from_the_content():
    content = _raw()
    content["scenarios"]["calculate_loss"] = "Loss by hand"
    (q,) = [q for q in quiz.load_questions(content) if q.id == "q05"]
    assert q.title == "Loss by hand"
    assert question_text(q).splitlines()[0] == "[q05] Loss by hand"
    assert list(SCENARIOS) == list(_raw()["scenarios"])


def test_only_questions_answered_by_a_click_have_no_check_button():
    view = quiz.show(None, score=Score())
    for widget in view.questions.values():
        assert (widget.check_button is None) == (widget.question.kind == "choice")


def test_questions_of_a_later_lesson_stay_out_of_lesson_05s_quiz():
    every = quiz.load_questions()
    later = [q for q in every if q.lesson is not None]
    assert later and all(q.lesson > "05" for q in later)
    assert [q.id for q in select_questions(None)] == [q.id for q in every if q.lesson is None]
    assert {q.scenario for q in select_questions(None)}.isdisjoint({q.scenario for q in later})
    content = _raw()
    content["questions"][0]["lesson"] = "six"
    with pytest.raises(ValueError, match="lesson"):
        quiz.load_questions(content)
