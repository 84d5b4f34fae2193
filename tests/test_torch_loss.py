"""Tests of rmcourse.torch_loss: values, parity with NumPy, precision, autograd, bad input."""

import math

import numpy as np
import pytest
import torch

from rmcourse import np_loss
from rmcourse.torch_loss import accuracy, bt_loss, log_sigmoid, ranking_loss

LN2 = math.log(2.0)
F64 = torch.float64
LOW_PRECISION = [torch.float16, torch.bfloat16]
ALL_FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def random_pairs(n: int, dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=gen, dtype=F64) * 3).to(dtype), (
        torch.randn(n, generator=gen, dtype=F64) * 3
    ).to(dtype)


# --- values by hand


def test_equal_rewards_give_ln2():
    assert bt_loss(t64(0.0, 4.0), t64(0.0, 4.0)).item() == pytest.approx(LN2, rel=1e-15)


def test_delta_two_gives_log1p_exp_minus_two():
    assert bt_loss(t64(2.0), t64(0.0)).item() == pytest.approx(math.log1p(math.exp(-2)), 1e-15)


def test_three_pair_dataset_is_the_average_of_its_pair_losses():
    expected = (math.log1p(math.exp(-1)) + LN2 + math.log1p(math.exp(2))) / 3
    loss = bt_loss(t64(1.0, 0.5, -1.0), t64(0.0, 0.5, 1.0))
    assert loss.item() == pytest.approx(expected, rel=1e-15)


# --- parity with NumPy


@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float64, 1e-13), (torch.float32, 1e-5)])
def test_bt_loss_and_ranking_loss_match_numpy_on_random_inputs(dtype, rtol):
    r_c, r_r = random_pairs(50, dtype, seed=0)
    margin = torch.rand(50, generator=torch.Generator().manual_seed(1), dtype=F64).to(dtype)
    assert bt_loss(r_c, r_r).dtype == dtype
    assert bt_loss(r_c, r_r).item() == pytest.approx(np_loss.bt_loss(r_c, r_r), rel=rtol)
    assert bt_loss(r_c, r_r, margin=margin).item() == pytest.approx(
        np_loss.bt_loss(r_c, r_r, margin=margin), rel=rtol
    )
    rewards = torch.stack([r_c, r_r, margin], dim=1).reshape(10, 15)
    assert ranking_loss(rewards).item() == pytest.approx(np_loss.ranking_loss(rewards), rel=rtol)
    np.testing.assert_allclose(
        log_sigmoid(r_c).numpy(), np_loss.log_sigmoid(r_c.numpy()), rtol=rtol
    )


@pytest.mark.parametrize("with_weights", [False, True])
def test_numpy_analytic_gradient_equals_torch_autograd(with_weights):
    r_c, r_r = random_pairs(12, F64, seed=2)
    r_c.requires_grad_(True)
    r_r.requires_grad_(True)
    margin = torch.linspace(0, 1, 12, dtype=F64)
    weights = torch.linspace(0, 2, 12, dtype=F64) if with_weights else None
    if weights is None:
        loss = bt_loss(r_c, r_r, margin=margin)
    else:  # the weighted mean of the per-pair losses
        loss = (weights * bt_loss(r_c, r_r, margin=margin, reduction="none")).sum() / weights.sum()
    loss.backward()
    g_c, g_r = np_loss.bt_loss_grad(r_c.detach(), r_r.detach(), margin=margin, weights=weights)
    np.testing.assert_allclose(r_c.grad.numpy(), g_c, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r_r.grad.numpy(), g_r, rtol=1e-12, atol=1e-15)


# --- precision and stability


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_loss_and_gradient_are_exact_at_delta_plus_minus_1e4(dtype, device):
    """Pair 0 has delta = -1e4 (loss 1e4, gradient -1/2), pair 1 delta = +1e4 (loss 0, grad 0).

    bfloat16 cannot hold 1e4 exactly (it rounds to 9984), so the expected loss is the delta of
    the inputs as stored.
    """
    big = torch.tensor(1e4, dtype=dtype).item()
    r_c = torch.tensor([0.0, big], dtype=dtype, device=device, requires_grad=True)
    r_r = torch.tensor([big, 0.0], dtype=dtype, device=device, requires_grad=True)
    per_pair = bt_loss(r_c, r_r, reduction="none")
    assert per_pair.dtype == torch.promote_types(dtype, torch.float32)
    assert per_pair.tolist() == [big, 0.0]
    assert abs(big - 1e4) <= 16
    loss = bt_loss(r_c, r_r)
    loss.backward()
    assert loss.item() == big / 2
    assert r_c.grad.dtype == dtype
    assert r_c.grad.tolist() == [-0.5, 0.0] and r_r.grad.tolist() == [0.5, 0.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_low_precision_inputs_are_computed_and_returned_in_float32(dtype, device):
    """float16 holds 6e4 but not the difference 1.2e5: it must be taken in float32."""
    r_c = torch.tensor([6e4, -6e4], dtype=dtype, device=device)
    r_r = torch.tensor([-6e4, 6e4], dtype=dtype, device=device)
    stored = r_c[0].item()
    per_pair = bt_loss(r_c, r_r, reduction="none")
    assert per_pair.dtype == torch.float32
    assert per_pair.tolist() == [0.0, 2 * stored]
    assert ranking_loss(torch.stack([r_c, r_r], dim=1)).dtype == torch.float32
    assert log_sigmoid(r_r).dtype == torch.float32
    assert log_sigmoid(r_r).tolist() == [-stored, 0.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_ranking_loss_is_finite_and_exact_at_1e4(dtype, device):
    """Row (0, 1e4): one pair with delta -1e4; row (1e4, 0): delta +1e4; mean (1e4 + 0) / 2."""
    big = torch.tensor(1e4, dtype=dtype).item()
    rewards = torch.tensor([[0.0, big], [big, 0.0]], dtype=dtype, device=device)
    assert ranking_loss(rewards).item() == big / 2


# --- autograd


def test_gradcheck_bt_loss_with_margin_and_centering_in_every_reduction():
    r_c, r_r = random_pairs(6, F64, seed=3)
    r_c.requires_grad_(True)
    r_r.requires_grad_(True)
    margin = torch.linspace(0.0, 1.0, 6, dtype=F64, requires_grad=True)
    for reduction in ("mean", "sum", "none"):
        assert torch.autograd.gradcheck(
            lambda a, b, m, red=reduction: bt_loss(a, b, m, center_coef=0.1, reduction=red),
            (r_c, r_r, margin),
        )


def test_gradcheck_ranking_loss():
    gen = torch.Generator().manual_seed(4)
    rewards = torch.randn(3, 4, generator=gen, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(ranking_loss, (rewards,))


# --- margin, centering, reductions


def test_margin_equals_its_definition_and_zero_margin_equals_none():
    r_c, r_r = random_pairs(8, F64, seed=5)
    m = torch.rand(8, generator=torch.Generator().manual_seed(6), dtype=F64)
    expected = -torch.nn.functional.logsigmoid(r_c - r_r - m).mean()
    torch.testing.assert_close(bt_loss(r_c, r_r, margin=m), expected, rtol=1e-15, atol=0)
    torch.testing.assert_close(bt_loss(r_c, r_r, margin=0.5), bt_loss(r_c - 0.5, r_r))
    torch.testing.assert_close(
        bt_loss(r_c, r_r, margin=torch.tensor(0.5, dtype=F64)), bt_loss(r_c, r_r, margin=0.5)
    )
    assert bt_loss(r_c, r_r, margin=0.0).item() == bt_loss(r_c, r_r).item()
    assert bt_loss(r_c, r_r, margin=torch.zeros(8, dtype=F64)).item() == bt_loss(r_c, r_r).item()


def test_centering_adds_center_coef_times_mean_squared_reward_sum():
    r_c, r_r = random_pairs(8, F64, seed=7)
    expected = bt_loss(r_c, r_r) + 0.01 * ((r_c + r_r) ** 2).mean()
    torch.testing.assert_close(bt_loss(r_c, r_r, center_coef=0.01), expected, rtol=1e-15, atol=0)
    by_hand = bt_loss(t64(1.0), t64(-3.0), center_coef=0.5).item()  # softplus(-4) + 0.5 * 4
    assert by_hand == pytest.approx(math.log1p(math.exp(-4.0)) + 2.0, rel=1e-15)


def test_reductions_sum_is_n_times_mean_and_none_gives_per_pair_values():
    r_c, r_r = random_pairs(8, F64, seed=8)
    for coef in (0.0, 0.05):
        mean = bt_loss(r_c, r_r, center_coef=coef)
        total = bt_loss(r_c, r_r, center_coef=coef, reduction="sum")
        per_pair = bt_loss(r_c, r_r, center_coef=coef, reduction="none")
        torch.testing.assert_close(total, 8 * mean, rtol=1e-14, atol=0)
        assert per_pair.shape == (8,)
        expected = -torch.nn.functional.logsigmoid(r_c - r_r) + coef * (r_c + r_r) ** 2
        torch.testing.assert_close(per_pair, expected, rtol=1e-15, atol=0)
        torch.testing.assert_close(per_pair.mean(), mean, rtol=1e-14, atol=0)


def test_none_reduction_keeps_the_rewards_shape():
    assert bt_loss(torch.zeros(4, 1), torch.zeros(4, 1), reduction="none").shape == (4, 1)


def test_shift_invariance_holds_without_centering_and_fails_with_it():
    r_c, r_r = random_pairs(8, F64, seed=9)
    torch.testing.assert_close(bt_loss(r_c + 3.0, r_r + 3.0), bt_loss(r_c, r_r))
    centred = bt_loss(r_c, r_r, center_coef=0.01).item()
    assert bt_loss(r_c + 3.0, r_r + 3.0, center_coef=0.01).item() != pytest.approx(centred)


def test_ranking_loss_with_k_2_equals_bt_loss_and_is_shift_invariant():
    rewards = torch.randn(9, 2, generator=torch.Generator().manual_seed(10), dtype=F64)
    torch.testing.assert_close(ranking_loss(rewards), bt_loss(rewards[:, 0], rewards[:, 1]))
    rewards4 = torch.randn(5, 4, generator=torch.Generator().manual_seed(11), dtype=F64)
    torch.testing.assert_close(ranking_loss(rewards4 + 7.0), ranking_loss(rewards4))


def test_ranking_loss_by_hand_k_3():
    expected = sum(math.log1p(math.exp(-d)) for d in (2.0, 3.0, 1.0)) / 3
    assert ranking_loss(torch.tensor([[3.0, 1.0, 0.0]], dtype=F64)).item() == pytest.approx(
        expected, rel=1e-15
    )


# --- accuracy


@pytest.mark.parametrize("device", DEVICES)
def test_accuracy_by_hand_ties_count_as_wrong(device):
    r_c = torch.tensor([2.0, 1.0, 0.0, 5.0, 3.0], device=device)
    r_r = torch.tensor([1.0, 1.0, 3.0, 4.0, 3.0], device=device)  # right, tie, wrong, right, tie
    assert accuracy(r_c, r_r) == pytest.approx(2 / 5)
    assert accuracy(torch.zeros(3), torch.zeros(3)) == 0.0
    assert accuracy(torch.ones(3), torch.zeros(3)) == 1.0
    assert isinstance(accuracy(r_c, r_r), float)


# --- bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((torch.zeros(2), torch.zeros(3)), {}, r"same shape, got \(2,\) and \(3,\)"),
        ((torch.zeros(0), torch.zeros(0)), {}, "empty: need at least one pair"),
        ((torch.zeros(2), torch.zeros(2)), {"reduction": "avg"}, "reduction must be one of"),
        (
            (torch.zeros(2), torch.zeros(2)),
            {"margin": torch.zeros(3)},
            r"margin must be .* got shape \(3,\)",
        ),
        ((torch.zeros(2), torch.zeros(2)), {"margin": float("nan")}, "margin must be a finite"),
        ((torch.zeros(2), torch.zeros(2)), {"center_coef": -0.1}, "center_coef must be .*-0.1"),
        ((torch.zeros(2), torch.zeros(2)), {"center_coef": float("inf")}, "center_coef"),
    ],
)
def test_bt_loss_bad_input_raises_value_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bt_loss(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1.0], torch.zeros(1)), {}, "r_chosen must be a torch.Tensor, got list"),
        (
            (torch.zeros(1), torch.zeros(1, dtype=torch.int64)),
            {},
            "r_rejected must be a floating-point tensor, got dtype torch.int64",
        ),
        ((torch.zeros(1), torch.zeros(1)), {"margin": "1"}, "margin must be None, a number"),
        ((torch.zeros(1), torch.zeros(1)), {"center_coef": None}, "center_coef must be a number"),
    ],
)
def test_bt_loss_wrong_types_raise_type_error(args, kwargs, match):
    with pytest.raises(TypeError, match=match):
        bt_loss(*args, **kwargs)


@pytest.mark.parametrize(
    ("rewards", "match"),
    [
        (torch.zeros(3), r"2-D of shape \(B, K\), got shape \(3,\)"),
        (torch.zeros(3, 1), "K >= 2 responses per prompt to rank, got K = 1"),
        (torch.zeros(0, 2), "got B = 0 prompts"),
    ],
)
def test_ranking_loss_bad_shape_raises_value_error(rewards, match):
    with pytest.raises(ValueError, match=match):
        ranking_loss(rewards)


def test_accuracy_and_log_sigmoid_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        accuracy(torch.zeros(2), torch.zeros(1))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        log_sigmoid(torch.zeros(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="rewards must be a torch.Tensor"):
        ranking_loss([[1.0, 0.0]])
