"""The training loop, its seeds and divergence, scoring and evaluation."""

import numpy as np
import pytest
import torch

from rmcourse import loop, metrics
from rmcourse import train as T
from rmcourse.model import new_model
from rmcourse.scoring import METRICS, pair_metrics, score_pairs

TINY = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1}


@pytest.fixture(scope="module")
def data(world):
    return world.splits(400, 100, 100, seed=0)


def tiny_run(world, data, **overrides):
    train_ds, val_ds, _ = data
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, **TINY)
    config = dict(steps=6, batch_size=32, eval_every=3, device="cpu", progress=False)
    config.update(overrides)
    return T.train(model, tok, train_ds, val_ds, T.TrainConfig(**config))


# ----------------------------------------------------------------- the loop


def test_one_step_changes_every_parameter(world, data):
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, **TINY)
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
    assert set(result.history) == {"step", "lr", *METRICS}
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
    again = pair_metrics(*map(torch.from_numpy, score_pairs(result.model, result.tokenizer,
                                                                data[1])))  # fmt: skip
    assert again["loss"] == pytest.approx(result.best_val_loss, abs=1e-6)


def test_margin_and_centering_change_training(world, data):
    plain = tiny_run(world, data)
    assert tiny_run(world, data, margin=1.0).history["loss"][1:] != plain.history["loss"][1:]
    centred = tiny_run(world, data, center_coef=10.0, steps=30, lr=1e-2)
    free = tiny_run(world, data, steps=30, lr=1e-2)
    assert abs(centred.history["reward_mean"][-1]) < abs(free.history["reward_mean"][-1])


def test_rewards_reach_the_loss_in_float32_under_bf16_autocast(world, data, monkeypatch):
    """On a GPU the loop runs under bf16 autocast; here CPU bf16 autocast stands in for it."""
    seen = []

    def bt_loss(r_chosen, r_rejected, **kwargs):
        seen.append(r_chosen.detach().clone())
        return real_bt_loss(r_chosen, r_rejected, **kwargs)

    real_bt_loss = T.torch_loss.bt_loss
    monkeypatch.setattr(T.torch_loss, "bt_loss", bt_loss)
    monkeypatch.setattr(loop, "autocast",
                        lambda device: torch.autocast("cpu", dtype=torch.bfloat16))  # fmt: skip
    tiny_run(world, data, steps=2)
    assert len(seen) >= 2  # the training steps (and validation) went through the stand-in
    for rewards in seen:
        assert rewards.dtype == torch.float32
        assert not torch.equal(rewards, rewards.bfloat16().float()), "rewards rounded to bf16"


def test_seconds_budget_stops_once_spent(world, data):
    result = tiny_run(world, data, steps=None, seconds=0.2)
    assert result.train_seconds >= 0.2
    assert result.val_history["step"][-1] == result.history["step"][-1]  # the final pass
    n_steps = result.history["step"][-1]
    assert result.pairs_per_second == pytest.approx(n_steps * 32 / result.train_seconds)


def test_reinit_sets_the_starting_weights_from_the_config_seed_alone(world, data):
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        runs.append(tiny_run(world, data, seed=5, steps=3, reinit=True).model.state_dict())
    assert all(torch.equal(runs[0][name], runs[1][name]) for name in runs[0])


def test_the_model_keeps_the_weights_it_is_handed(world, data):
    """By default training starts from the model's own weights: a model built under another
    global seed trains to other weights; lr 1e-9 leaves them all but where they were."""
    finals = []
    for global_seed in (1, 2):
        tok = world.tokenizer()
        torch.manual_seed(global_seed)
        model = new_model(tok, **TINY)
        handed = {n: p.detach().clone() for n, p in model.named_parameters()}
        config = T.TrainConfig(steps=1, batch_size=32, lr=1e-9, warmup_steps=1, device="cpu",
                               progress=False)  # fmt: skip
        result = T.train(model, tok, data[0], data[1], config)
        after = dict(result.model.named_parameters())
        assert max(float((after[n].detach() - p).abs().max()) for n, p in handed.items()) < 1e-7
        finals.append(handed)
    assert not torch.equal(finals[0]["head.weight"], finals[1]["head.weight"])


def test_reinit_false_goes_on_from_the_models_weights(world, data):
    first = tiny_run(world, data, steps=3)
    before = {n: p.detach().clone() for n, p in first.model.named_parameters()}
    config = T.TrainConfig(steps=1, batch_size=32, device="cpu", progress=False, reinit=False)
    again = T.train(first.model, first.tokenizer, data[0], data[1], config)
    # one more small step from the trained weights, not a fresh start
    after = dict(again.model.named_parameters())
    drift = max(float((after[n].detach() - p).abs().max()) for n, p in before.items())
    assert 0.0 < drift < 0.05


def test_a_diverging_run_stops_with_an_error_naming_the_step(world, data):
    tok = world.tokenizer()
    model = new_model(tok, kind="bow")
    with torch.no_grad():
        model.weights.weight.fill_(float("nan"))
    config = T.TrainConfig(steps=5, batch_size=32, device="cpu", progress=False, reinit=False)
    with pytest.raises(FloatingPointError, match="loss is nan at step 1"):
        T.train(model, tok, data[0], data[1], config)


def test_a_non_finite_validation_loss_is_an_error_not_a_crash(world, data):
    train_ds, val_ds, _ = data
    tok = world.tokenizer()
    model = new_model(tok, kind="bow")
    config = T.TrainConfig(steps=2, eval_every=2, batch_size=32, device="cpu", progress=False)
    original_forward = type(model).forward

    def forward_nan_on_validation(self, input_ids):
        rewards = original_forward(self, input_ids)
        return rewards if self.training else rewards * float("nan")

    model.forward = forward_nan_on_validation.__get__(model)
    with pytest.raises(FloatingPointError, match="validation loss is nan at step 2"):
        T.train(model, tok, train_ds, val_ds, config)


def test_fewer_pairs_than_a_batch_train_on_all_of_them_each_step(world, data):
    small = data[0].subset(range(10))
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, **TINY)
    untrained = pair_metrics(*map(torch.from_numpy, score_pairs(model, tok, small)))
    config = T.TrainConfig(steps=2, batch_size=32, device="cpu", progress=False)
    result = T.train(model, tok, small, data[1], config)
    assert result.history["step"] == [1, 2]
    # the first step's batch is the 10 pairs: its loss is the untrained model's on all of them
    assert result.history["loss"][0] == pytest.approx(untrained["loss"], abs=1e-6)
    assert result.pairs_per_second == pytest.approx(2 * 10 / result.train_seconds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "exactly one budget"), ({"steps": 5, "seconds": 1.0}, "exactly one budget"),
     ({"steps": 0}, "steps must be"), ({"steps": 5, "batch_size": 0}, "batch_size"),
     ({"steps": 5, "lr": -1.0}, "lr must be"), ({"steps": 5, "grad_clip": 0.0}, "grad_clip")],
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


@pytest.mark.parametrize(
    "cpus, environment, threads",
    [
        (8, {}, 2),  # two at most: measured to pay off on two cores
        (1, {}, 1),  # a process allowed one CPU
        (8, {"OMP_NUM_THREADS": "1"}, 1),  # make test's workers and kernels
        (8, {"MKL_NUM_THREADS": "1"}, 1),
        (8, {"OMP_NUM_THREADS": ""}, 2),  # set but empty: no choice
        (8, {"OMP_NUM_THREADS": "4"}, 2),
    ],
)
def test_cpu_threads_takes_two_or_fewer_as_the_environment_allows(
    monkeypatch, cpus, environment, threads
):
    from rmcourse import device

    monkeypatch.setattr(device.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert device.cpu_threads() == threads
    torch.set_num_threads(1)
    assert device.cpu_threads() == threads  # the environment's answer, not torch's setting


# ----------------------------------------------------------------- scoring and evaluation


def test_pair_metrics_hand_case():
    m = pair_metrics(torch.tensor([2.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 3.0]))
    assert m["accuracy"] == pytest.approx(1 / 3)  # the tie counts as wrong
    assert m["margin"] == pytest.approx(0.0)
    expected_loss = np.mean([np.log1p(np.exp(-2.0)), np.log(2.0), np.log1p(np.exp(2.0))])
    assert m["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert m["reward_std"] == pytest.approx(np.std([2, 0, 1, 0, 0, 3]), rel=1e-6)


def test_evaluate_agrees_with_its_parts(world, data):
    result = tiny_run(world, data)
    ev = T.evaluate(result.model, result.tokenizer, data[2])
    r_c, r_r = score_pairs(result.model, result.tokenizer, data[2])
    assert ev.accuracy == pytest.approx(np.mean(r_c > r_r))
    true_delta = data[2].true_chosen - data[2].true_rejected
    assert ev.expected_accuracy == pytest.approx(metrics.expected_accuracy(true_delta, r_c - r_r))
    assert ev.bayes_accuracy == pytest.approx(metrics.bayes_accuracy(true_delta))
    assert ev.ratio == pytest.approx(ev.expected_accuracy / ev.bayes_accuracy)
