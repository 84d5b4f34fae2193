"""The preference world, its labels, the tokenizer and JSONL I/O."""

import json

import numpy as np
import pytest

from rmcourse.data import (
    COLORS,
    PreferenceDataset,
    PreferenceWorld,
    Tokenizer,
    WorldConfig,
    load_jsonl,
    save_jsonl,
    split_words,
)
from rmcourse.metrics import bayes_accuracy, expected_accuracy


@pytest.fixture(scope="module")
def sample(world):
    return world.sample(8000, seed=11)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------- true reward


@pytest.mark.parametrize(
    ("prompt", "response", "expected"),
    [
        ("my car is red . what color is it ?", "it is red .", 2.5),
        ("my car is red . what color is it ?", "it is blue .", 0.0),
        # polite opener + closing (2 x 0.8), hedge -0.6, two fillers -0.8, right colour 2.5
        ("i have a green hat . its color ?",
         "thanks , maybe it is really very green . have fun !", 2.7),
        # rude -2.0, wrong colour, one filler -0.4
        ("cup : white . color ?", "ugh , it is quite black .", -2.4),
    ],
)  # fmt: skip
def test_true_reward_hand_cases(world, prompt, response, expected):
    assert world.true_reward(prompt, response) == pytest.approx(expected, abs=1e-12)


def test_true_reward_needs_a_stated_colour(world):
    with pytest.raises(ValueError, match="exactly one colour"):
        world.true_reward("what color is my dragon ?", "it is red .")


def test_sampled_rewards_match_parsed_rewards(world, sample):
    for i in range(0, len(sample), 7):
        assert world.true_reward(sample.prompts[i], sample.chosen[i]) == sample.true_chosen[i]
        assert world.true_reward(sample.prompts[i], sample.rejected[i]) == sample.true_rejected[i]


def test_a_colour_word_alone_says_nothing_about_correctness(world, sample):
    """Over all answers, each colour named is right as often as p_correct: only x can tell."""
    answers = [(x, y) for x, c, r in zip(sample.prompts, sample.chosen, sample.rejected,
                                         strict=True) for y in (c, r)]  # fmt: skip
    p = world.config.p_correct
    for color in COLORS:
        correct = [world.features(x, y).correct for x, y in answers if f" {color} ." in y]
        n = len(correct)
        assert n > 1000
        assert abs(np.mean(correct) - p) < 4 * np.sqrt(p * (1 - p) / n), (color, np.mean(correct))


# ----------------------------------------------------------------- labels


def test_labels_follow_bradley_terry(sample):
    """Per bucket of |Δ*|, the r*-better answer is chosen as often as σ(|Δ*|) predicts."""
    delta = sample.true_chosen - sample.true_rejected
    size = np.abs(delta)
    nonzero = size > 0
    edges = np.quantile(size[nonzero], np.linspace(0, 1, 6))
    edges[-1] += 1e-9
    checked = 0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = nonzero & (size >= lo) & (size < hi)
        n = int(inside.sum())
        if n < 200:
            continue
        observed = np.mean(delta[inside] > 0)
        predicted = np.mean(sigmoid(size[inside]))
        tolerance = 4.0 * np.sqrt(predicted * (1 - predicted) / n)
        assert abs(observed - predicted) < tolerance, (lo, hi, n, observed, predicted)
        checked += 1
    assert checked >= 3
    # and the overall rate: labels are noisy, neither always nor never in r*'s order
    assert 0.7 < np.mean(delta[nonzero] > 0) < 0.9


def test_bayes_accuracy_of_the_world_is_about_0_8(sample):
    assert 0.75 <= bayes_accuracy(sample.true_chosen - sample.true_rejected) <= 0.90


def test_prompt_dependent_feature_matters(world, sample):
    """The best reward that ignores the prompt stays well below the ceiling."""
    true_delta = sample.true_chosen - sample.true_rejected
    response_only = np.array(
        [world.response_only_reward(c) - world.response_only_reward(r)
         for c, r in zip(sample.chosen, sample.rejected, strict=True)]
    )  # fmt: skip
    bayes = bayes_accuracy(true_delta)
    assert expected_accuracy(true_delta, true_delta) == pytest.approx(bayes)
    assert expected_accuracy(true_delta, response_only) < bayes - 0.08


def test_sampling_is_deterministic_and_seeds_differ(world):
    a, b = world.sample(50, seed=3), world.sample(50, seed=3)
    assert (a.prompts, a.chosen, a.rejected) == (b.prompts, b.chosen, b.rejected)
    c = world.sample(50, seed=4)
    assert a.chosen != c.chosen
    assert PreferenceWorld(seed=1).sample(50, seed=3).chosen != a.chosen


def test_splits_come_from_different_streams(world):
    train, val, test = world.splits(40, 40, 40, seed=0)
    assert len(train) == len(val) == len(test) == 40
    assert train.chosen != val.chosen and val.chosen != test.chosen
    assert world.splits(40, 40, 40, seed=0)[1].chosen == val.chosen


def test_pairs_are_two_different_answers_to_one_prompt(sample):
    assert all(c != r for c, r in zip(sample.chosen, sample.rejected, strict=True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"p_correct": 1.5}, "p_correct"),
     ({"p_polite_opener": 0.7, "p_rude_opener": 0.5}, "at most 1"),
     ({"max_fillers": -1}, "max_fillers")],
)  # fmt: skip
def test_world_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WorldConfig(**kwargs)


def test_sample_rejects_bad_size(world):
    with pytest.raises(ValueError, match="n_pairs"):
        world.sample(0)


def test_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="lengths 2, 1, 2"):
        PreferenceDataset(["p", "q"], ["a"], ["b", "c"])


# ----------------------------------------------------------------- tokenizer


def test_tokenizer_round_trip_on_world_texts(world, sample):
    tok = world.tokenizer()
    texts = sample.prompts[:200] + sample.chosen[:200] + sample.rejected[:200]
    for text in texts:
        ids = tok.encode(text)
        assert tok.unk_id not in ids
        assert tok.decode(ids) == text


def test_tokenizer_special_ids_and_unknown_words():
    tok = Tokenizer(["a", "b"])
    assert (tok.pad_id, tok.unk_id, tok.sep_id, tok.eos_id) == (0, 1, 2, 3)
    assert tok.encode("a zebra B") == [4, 1, 5]
    assert split_words("It's red!") == ["it's", "red", "!"]


def test_encode_pairs_pads_and_keeps_the_response_whole():
    tok = Tokenizer(["q", "a", "b"])
    ids = tok.encode_pairs(["q q", "q"], ["a", "a b b"], max_len=6)
    assert ids.tolist() == [[4, 4, 2, 5, 3, 0], [4, 2, 5, 6, 6, 3]]
    cut = tok.encode_pairs(["q q q q"], ["a b"], max_len=6)  # prompt loses its first words
    assert cut.tolist() == [[4, 4, 2, 5, 6, 3]]
    with pytest.raises(ValueError, match="does not fit max_len=3"):
        tok.encode_pairs(["q"], ["a b"], max_len=3)


def test_tokenizer_json_round_trip(world):
    tok = world.tokenizer()
    again = Tokenizer.from_json(tok.to_json())
    assert again.words == tok.words


# ----------------------------------------------------------------- JSONL


def test_jsonl_round_trip(tmp_path, world):
    ds = world.sample(30, seed=2)
    path = tmp_path / "prefs.jsonl"
    save_jsonl(ds, path)
    back = load_jsonl(path)
    assert (back.prompts, back.chosen, back.rejected) == (ds.prompts, ds.chosen, ds.rejected)
    assert back.true_chosen is None and not back.has_true_rewards
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"prompt", "chosen", "rejected"}


def test_save_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "prefs.jsonl"
    path.write_text("old content that is not JSON\n" * 10)
    save_jsonl(PreferenceDataset(["p"], ["a"], ["b"]), path)
    assert path.read_text() == '{"prompt": "p", "chosen": "a", "rejected": "b"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["prefs.jsonl"]  # no temporary left behind


GOOD = '{"prompt": "p", "chosen": "a", "rejected": "b"}'


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"prompt": "p", "chosen": "a", ', "line 3: not valid JSON"),
        ('["p", "a", "b"]', "line 3: expected a JSON object, got list"),
        ('{"prompt": "p", "chosen": "a"}', "line 3: missing field 'rejected'"),
        ('{"prompt": "p", "chosen": 5, "rejected": "b"}',
         "line 3: field 'chosen' must be a string, got int"),
        ('{"prompt": "p", "chosen": "a", "rejected": "  "}', "line 3: field 'rejected' is empty"),
    ],
)  # fmt: skip
def test_malformed_jsonl_names_line_and_problem(tmp_path, bad_line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([GOOD, GOOD, bad_line, GOOD]) + "\n")
    with pytest.raises(ValueError, match=message):
        load_jsonl(path)


def test_empty_jsonl_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(ValueError, match="no preference pairs"):
        load_jsonl(path)
