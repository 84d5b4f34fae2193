"""Training loop, checkpoints, evaluation metrics and the ``rmcourse train`` command."""

import numpy as np
import pytest
import scipy.stats
import torch

from rmcourse import train as T
from rmcourse.data import PreferenceDataset, PreferenceWorld, save_jsonl

TINY = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1}


@pytest.fixture(scope="module")
def world():
    return PreferenceWorld(seed=0)


@pytest.fixture(scope="module")
def data(world):
    return world.splits(400, 100, 100, seed=0)


def tiny_run(world, data, **overrides):
    train_ds, val_ds, _ = data
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = T.new_model(tok, **TINY)
    config = dict(steps=6, batch_size=32, eval_every=3, device="cpu", progress=False)
    config.update(overrides)
    return T.train(model, tok, train_ds, val_ds, T.TrainConfig(**config))


# ----------------------------------------------------------------- the loop


def test_one_step_changes_every_parameter(world, data):
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = T.new_model(tok, **TINY)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    config = T.TrainConfig(steps=1, batch_size=32, device="cpu", progress=False, warmup_steps=1)
    result = T.train(model, tok, data[0], data[1], config)
    after = dict(result.model.named_parameters())
    unchanged = [n for n in before if torch.equal(before[n], after[n].detach())]
    assert unchanged == []


def test_same_seed_same_history_on_cpu(world, data):
    a, b = tiny_run(world, data), tiny_run(world, data)
    assert a.history == b.history
    assert a.val_history == b.val_history
    c = tiny_run(world, data, seed=1)
    assert c.history["loss"] != a.history["loss"]


def test_history_records_every_metric_each_step(world, data):
    result = tiny_run(world, data)
    assert result.history["step"] == [1, 2, 3, 4, 5, 6]
    assert set(result.history) == {"step", "lr", *T.METRICS}
    assert all(len(v) == 6 for v in result.history.values())
    assert result.val_history["step"] == [3, 6]
    assert all(0.0 <= a <= 1.0 for a in result.history["accuracy"])
    for c, r, m in zip(result.history["reward_chosen"], result.history["reward_rejected"],
                       result.history["margin"], strict=True):  # fmt: skip
        assert m == pytest.approx(c - r, abs=1e-5)
    # the first loss is that of an untrained model: close to ln 2
    assert result.history["loss"][0] == pytest.approx(np.log(2), abs=0.05)
    assert result.best_step in result.val_history["step"]
    assert result.best_val_loss == min(result.val_history["loss"])


def test_best_checkpoint_is_the_one_returned(world, data):
    result = tiny_run(world, data, steps=9, eval_every=3)
    again = T.pair_metrics(*map(torch.from_numpy, T.score_pairs(result.model, result.tokenizer,
                                                                data[1])))  # fmt: skip
    assert again["loss"] == pytest.approx(result.best_val_loss, abs=1e-6)


def test_margin_and_centering_change_training(world, data):
    plain = tiny_run(world, data)
    assert tiny_run(world, data, margin=1.0).history["loss"][1:] != plain.history["loss"][1:]
    centred = tiny_run(world, data, center_coef=10.0, steps=30, lr=1e-2)
    free = tiny_run(world, data, steps=30, lr=1e-2)
    assert abs(centred.history["reward_mean"][-1]) < abs(free.history["reward_mean"][-1])


def test_seconds_budget_stops(world, data):
    result = tiny_run(world, data, steps=None, seconds=0.5)
    assert 0.5 <= result.train_seconds < 5.0
    assert result.pairs_per_second > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "exactly one budget"), ({"steps": 5, "seconds": 1.0}, "exactly one budget"),
     ({"steps": 0}, "steps must be"), ({"steps": 5, "batch_size": 0}, "batch_size"),
     ({"steps": 5, "lr": -1.0}, "lr must be")],
)  # fmt: skip
def test_bad_train_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        T.TrainConfig(**kwargs)


def test_cuda_asked_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        T.resolve_device("cuda")
    assert T.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="'tpu'"):
        T.resolve_device("tpu")


# ----------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("kind", ["transformer", "bow"])
def test_save_load_gives_identical_rewards(tmp_path, world, data, kind):
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = T.new_model(tok, kind=kind, **TINY)
    config = T.TrainConfig(steps=3, batch_size=32, device="cpu", progress=False)
    result = T.train(model, tok, data[0], data[1], config)
    T.save(tmp_path / "ckpt", result.model, tok)
    loaded, loaded_tok = T.load(tmp_path / "ckpt")
    assert loaded_tok.words == tok.words
    assert type(loaded) is type(result.model) and loaded.config == result.model.config
    a = T.score_pairs(result.model, tok, data[2])
    b = T.score_pairs(loaded, loaded_tok, data[2])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_load_rejects_a_folder_that_is_no_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="model.pt is missing"):
        (tmp_path / "config.json").write_text("{}")
        (tmp_path / "tokenizer.json").write_text("{}")
        T.load(tmp_path)


# ----------------------------------------------------------------- metrics


def test_rank_and_spearman_match_scipy():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, size=200).astype(float)  # many ties
    b = a + rng.normal(size=200)
    np.testing.assert_allclose(T.rank_average(a), scipy.stats.rankdata(a))
    assert T.spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a, b).statistic, abs=1e-12)
    c = rng.normal(size=50)
    assert T.spearman(c, -(c**3)) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="constant"):
        T.spearman(np.ones(4), np.arange(4.0))


def test_expected_accuracy_hand_case():
    # Δ* = 2 ordered right: σ(2); Δ* = -1 ordered wrong: 1 - σ(1); a learned tie counts as wrong
    s2, s1 = 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-1.0))
    got = T.expected_accuracy(np.array([2.0, -1.0, 1.0]), np.array([0.5, 0.3, 0.0]))
    assert got == pytest.approx((s2 + (1 - s1) + (1 - s1)) / 3)
    true = np.array([0.5, -2.0, 3.0])
    bayes = np.mean(1 / (1 + np.exp(-abs(true))))
    assert T.expected_accuracy(true, 7 * true) == pytest.approx(bayes)


def test_accuracy_by_margin_hand_case():
    out = T.accuracy_by_margin(np.array([0.2, -0.4, 1.5, -3.0]), np.array([1.0, 1.0, 2.0, -1.0]),
                               np.array([0.0, 1.0, 10.0]))  # fmt: skip
    np.testing.assert_array_equal(out["count"], [2, 2])
    np.testing.assert_allclose(out["agreement"], [0.5, 1.0])
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    np.testing.assert_allclose(out["bayes"], [(sig(0.2) + sig(0.4)) / 2, (sig(1.5) + sig(3.0)) / 2])
    np.testing.assert_allclose(out["expected"], [(sig(0.2) + 1 - sig(0.4)) / 2, out["bayes"][1]])


def test_calibration_curve_hand_case():
    out = T.calibration_curve(np.array([np.log(3.0), 0.0]), n_bins=4)
    np.testing.assert_allclose(out["predicted"], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(out["observed"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(out["count"], [1, 2, 1])


def test_pair_metrics_hand_case():
    m = T.pair_metrics(torch.tensor([2.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 3.0]))
    assert m["accuracy"] == pytest.approx(1 / 3)  # the tie counts as wrong
    assert m["margin"] == pytest.approx(0.0)
    expected_loss = np.mean([np.log1p(np.exp(-2.0)), np.log(2.0), np.log1p(np.exp(2.0))])
    assert m["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert m["reward_std"] == pytest.approx(np.std([2, 0, 1, 0, 0, 3]), rel=1e-6)


def test_evaluate_agrees_with_its_parts(world, data):
    result = tiny_run(world, data)
    ev = T.evaluate(result.model, result.tokenizer, data[2])
    r_c, r_r = T.score_pairs(result.model, result.tokenizer, data[2])
    assert ev.accuracy == pytest.approx(np.mean(r_c > r_r))
    true_delta = data[2].true_chosen - data[2].true_rejected
    assert ev.expected_accuracy == pytest.approx(T.expected_accuracy(true_delta, r_c - r_r))
    assert ev.bayes_accuracy == pytest.approx(world.bayes_accuracy(data[2]))
    assert ev.ratio == pytest.approx(ev.expected_accuracy / ev.bayes_accuracy)


# ----------------------------------------------------------------- the command


def read_table(text):
    rows = {}
    for line in text.splitlines()[2:]:
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    return rows


def test_train_command_on_a_jsonl_file(tmp_path, capsys, world):
    pairs = world.sample(60, seed=9)
    path = tmp_path / "prefs.jsonl"
    save_jsonl(pairs, path)
    status = T.train_command(data=str(path), device="cpu", steps=4, out=str(tmp_path / "ckpt"))
    assert status == 0
    table = read_table(capsys.readouterr().out)
    assert table["pairs (train / val / held-out)"] == "54 / 6 / 6"
    assert table["steps"] == "4"
    accuracy = float(table["held-out accuracy"])
    assert 0.0 <= accuracy <= 1.0
    assert "Bayes accuracy (ceiling)" not in table  # no true rewards in a user's file
    # the printed numbers are those of the saved model on the held-out pairs
    model, tok = T.load(tmp_path / "ckpt")
    _, val_ds = T.split_pairs(PreferenceDataset(pairs.prompts, pairs.chosen, pairs.rejected))
    ev = T.evaluate(model, tok, val_ds)
    assert accuracy == pytest.approx(ev.accuracy, abs=5e-5)
    assert float(table["held-out loss"]) == pytest.approx(ev.loss, abs=5e-5)


def test_train_command_reports_bad_data(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": 1}\n')
    assert T.train_command(data=str(path), device="cpu", steps=1) == 2
    assert "line 2" in capsys.readouterr().err
