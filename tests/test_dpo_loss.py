"""Tests of rmcourse.torch_loss.dpo_loss and dpo_rewards: closed form, TRL's sigmoid loss,
precision at log-ratio differences of 1e4, autograd, the per-prompt constant, bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from rmcourse.torch_loss import accuracy, bt_loss, dpo_loss, dpo_rewards, ipo_loss

F64 = torch.float64
ALL_FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_logps(n: int, seed: int, dtype: torch.dtype = F64) -> list[torch.Tensor]:
    """Four (n,) tensors of negative sequence log-probs: policy c, policy r, ref c, ref r."""
    gen = torch.Generator().manual_seed(seed)
    return [(-20 * torch.rand(n, generator=gen, dtype=F64)).to(dtype) for _ in range(4)]


def trl_sigmoid_loss(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    """TRL's DPOTrainer loss, loss_type="sigmoid" (trl/trainer/dpo_trainer.py, reverse-KL scores):
    delta_score = (chosen_logps - ref_chosen_logps) - (rejected_logps - ref_rejected_logps),
    per_sequence_loss = -F.logsigmoid(beta * delta_score), then the mean over the batch."""
    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps
    delta_score = chosen_logratios - rejected_logratios
    return (-F.logsigmoid(beta * delta_score)).mean()


def trl_label_smoothing_loss(chosen, rejected, ref_chosen, ref_rejected, beta, label_smoothing):
    """The older form of the same TRL loss (conservative DPO), written with pi/ref log-ratios."""
    logits = (chosen - rejected) - (ref_chosen - ref_rejected)
    losses = (-F.logsigmoid(beta * logits) * (1 - label_smoothing)
              - F.logsigmoid(-beta * logits) * label_smoothing)  # fmt: skip
    return losses.mean()


# --- values


def test_equals_the_closed_form_of_rafailov_et_al_eq_7():
    """-log σ(β log π(y_w)/π_ref(y_w) − β log π(y_l)/π_ref(y_l)) = log(1 + e^−z), per pair."""
    pol_c, pol_r, ref_c, ref_r = random_logps(32, seed=0)
    for beta in (0.05, 0.1, 0.5, 2.0):
        closed = []
        for pc, pr, rc, rr in zip(*(t.tolist() for t in (pol_c, pol_r, ref_c, ref_r)), strict=True):
            z = beta * math.log(math.exp(pc) / math.exp(rc)) - beta * math.log(
                math.exp(pr) / math.exp(rr)
            )
            closed.append(math.log1p(math.exp(-z)))
        got = dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=beta, reduction="none")
        assert got.tolist() == pytest.approx(closed, rel=1e-10, abs=0)
        assert dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=beta).item() == pytest.approx(
            sum(closed) / len(closed), rel=1e-10, abs=0
        )


def test_by_hand_values():
    args = [torch.tensor(v, dtype=F64) for v in ([-3.0, -5.0], [-6.0, -4.0], [-4.0, -5.0],
                                                  [-5.0, -5.0])]  # fmt: skip
    per_pair = dpo_loss(*args, beta=0.5, reduction="none").tolist()
    assert per_pair == pytest.approx(
        [math.log1p(math.exp(-1.0)), math.log1p(math.exp(0.5))], rel=1e-15
    )
    total = dpo_loss(*args, beta=0.5, reduction="sum").item()
    assert total == pytest.approx(sum(per_pair), rel=1e-15)


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0])
def test_equals_trls_sigmoid_dpo_loss_with_label_smoothing_zero(beta):
    logps = random_logps(64, seed=1)
    ours = dpo_loss(*logps, beta=beta)
    torch.testing.assert_close(ours, trl_sigmoid_loss(*logps, beta=beta), rtol=1e-12, atol=0)
    torch.testing.assert_close(
        ours, trl_label_smoothing_loss(*logps, beta, 0.0), rtol=1e-12, atol=0
    )
    # and the label-smoothing form differs once its smoothing is on: the test can tell them apart
    assert trl_label_smoothing_loss(*logps, beta, 0.1).item() != pytest.approx(ours.item())


def test_is_bt_loss_of_the_implicit_rewards_and_those_are_beta_log_ratios():
    pol_c, pol_r, ref_c, ref_r = random_logps(16, seed=2)
    r_c, r_r = dpo_rewards(pol_c, pol_r, ref_c, ref_r, beta=0.3)
    torch.testing.assert_close(r_c, 0.3 * (pol_c - ref_c), rtol=1e-15, atol=0)
    torch.testing.assert_close(r_r, 0.3 * (pol_r - ref_r), rtol=1e-15, atol=0)
    for reduction in ("mean", "sum", "none"):
        assert torch.equal(
            dpo_loss(pol_c, pol_r, ref_c, ref_r, 0.3, reduction),
            bt_loss(r_c, r_r, reduction=reduction),
        )
    expected_accuracy = ((pol_c - ref_c) > (pol_r - ref_r)).double().mean().item()
    assert accuracy(r_c, r_r) == expected_accuracy


def test_policy_equal_to_reference_gives_ln2_whatever_the_log_probs():
    pol_c, pol_r, _, _ = random_logps(8, seed=3)
    assert dpo_loss(pol_c, pol_r, pol_c, pol_r, beta=0.7).item() == pytest.approx(
        math.log(2), rel=1e-15
    )


def test_a_per_prompt_constant_added_to_the_policy_log_probs_changes_nothing():
    """beta * log Z(x): shifting both responses of a prompt by c(x) leaves the loss unchanged."""
    pol_c, pol_r, ref_c, ref_r = random_logps(8, seed=4)
    shift = torch.linspace(-30.0, 30.0, 8, dtype=F64)  # one constant per prompt
    torch.testing.assert_close(
        dpo_loss(pol_c + shift, pol_r + shift, ref_c, ref_r),
        dpo_loss(pol_c, pol_r, ref_c, ref_r),
        rtol=1e-13,
        atol=0,
    )
    shifted_c, _ = dpo_rewards(pol_c + shift, pol_r + shift, ref_c, ref_r, beta=0.1)
    torch.testing.assert_close(shifted_c - dpo_rewards(pol_c, pol_r, ref_c, ref_r)[0], 0.1 * shift)


def test_larger_beta_punishes_the_same_log_ratio_margin_more_when_it_is_wrong():
    """A pair with the rejected response favoured by 2 nats: loss softplus(2 * beta) grows."""
    zero = torch.zeros(1, dtype=F64)
    losses = [dpo_loss(zero, zero + 2.0, zero, zero, beta=b).item() for b in (0.1, 0.5, 1.0)]
    assert losses == pytest.approx(
        [math.log1p(math.exp(2 * b)) for b in (0.1, 0.5, 1.0)], rel=1e-14
    )
    assert losses[0] < losses[1] < losses[2]


# --- gradients


def test_gradient_is_the_one_in_rafailov_et_al_section_4():
    """d loss / d log pi(y_w) = -beta * sigma(r_l - r_w) / B, and the opposite for y_l."""
    pol_c, pol_r, ref_c, ref_r = random_logps(10, seed=5)
    pol_c.requires_grad_(True)
    pol_r.requires_grad_(True)
    dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=0.2).backward()
    with torch.no_grad():
        r_c, r_r = dpo_rewards(pol_c, pol_r, ref_c, ref_r, beta=0.2)
        weight = 0.2 * torch.sigmoid(r_r - r_c) / 10
    torch.testing.assert_close(pol_c.grad, -weight, rtol=1e-12, atol=0)
    torch.testing.assert_close(pol_r.grad, weight, rtol=1e-12, atol=0)


def test_gradcheck_in_every_reduction_through_all_four_inputs():
    logps = [t.requires_grad_(True) for t in random_logps(5, seed=6)]
    for reduction in ("mean", "sum", "none"):
        assert torch.autograd.gradcheck(
            lambda a, b, c, d, red=reduction: dpo_loss(a, b, c, d, beta=0.3, reduction=red),
            tuple(logps),
        )
        assert torch.autograd.gradcheck(
            lambda a, b, c, d: dpo_rewards(a, b, c, d, beta=0.3), tuple(logps)
        )


# --- precision


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_finite_and_exact_at_log_ratio_differences_of_1e4(dtype, device):
    """Pair 0: the rejected response is favoured by 1e4 nats (loss 1e4), pair 1 the chosen one
    (loss 0). beta = 1 keeps every number exact; bfloat16 stores 1e4 as 9984."""
    big = torch.tensor(1e4, dtype=dtype).item()
    zeros = torch.zeros(2, dtype=dtype, device=device)
    pol_c = torch.tensor([-big, 0.0], dtype=dtype, device=device, requires_grad=True)
    pol_r = torch.tensor([0.0, -big], dtype=dtype, device=device, requires_grad=True)
    per_pair = dpo_loss(pol_c, pol_r, zeros, zeros, beta=1.0, reduction="none")
    assert per_pair.dtype == torch.promote_types(dtype, torch.float32)
    assert per_pair.tolist() == [big, 0.0]
    loss = dpo_loss(pol_c, pol_r, zeros, zeros, beta=1.0)
    loss.backward()
    assert loss.item() == big / 2
    assert pol_c.grad.dtype == dtype
    assert pol_c.grad.tolist() == [-0.5, 0.0] and pol_r.grad.tolist() == [0.5, 0.0]
    # beta = 0.1, as trainers use it: the float64 value of the stored inputs, to float32 rounding
    tenth = dpo_loss(pol_c, pol_r, zeros, zeros, beta=0.1, reduction="none")
    assert torch.isfinite(tenth).all()
    assert tenth.tolist() == pytest.approx(
        [0.1 * big, math.log1p(math.exp(-0.1 * big))], rel=1e-6, abs=1e-30
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_16_bit_log_probs_are_subtracted_in_float32(dtype):
    """float16 holds -6e4 but not the log-ratio -6e4 - 6e4 = -1.2e5 (its largest value is 65504)."""
    stored = torch.tensor(6e4, dtype=dtype).item()
    pol_c = torch.tensor([-stored], dtype=dtype)
    ref_c = torch.tensor([stored], dtype=dtype)
    zero = torch.zeros(1, dtype=dtype)
    r_c, r_r = dpo_rewards(pol_c, zero, ref_c, zero, beta=1.0)
    assert r_c.dtype == r_r.dtype == torch.float32
    assert r_c.tolist() == [-2 * stored]
    assert dpo_loss(pol_c, zero, ref_c, zero, beta=1.0).tolist() == 2 * stored


def test_mixed_dtypes_are_promoted():
    a = torch.zeros(2, dtype=torch.float16)
    b = torch.zeros(2, dtype=F64)
    assert dpo_loss(a, a, b, b).dtype == F64
    assert dpo_loss(a, a, a.bfloat16(), a.bfloat16()).dtype == torch.float32


# --- bad input


@pytest.mark.parametrize(("position", "shape"), [(0, (3,)), (1, (2, 1)), (2, (1,)), (3, (4,))])
def test_mismatched_shapes_raise_value_error_naming_the_shapes(position, shape):
    args = [torch.zeros(2) for _ in range(4)]
    args[position] = torch.zeros(shape)
    with pytest.raises(ValueError, match="one shape"):
        dpo_loss(*args)
    with pytest.raises(ValueError, match="one shape"):
        dpo_rewards(*args)


@pytest.mark.parametrize("beta", [0.0, -0.1, math.inf, math.nan])
def test_beta_not_positive_and_finite_raises_value_error(beta):
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        dpo_loss(*[torch.zeros(2) for _ in range(4)], beta=beta)


def test_unknown_reduction_and_empty_input_raise_value_error():
    args = [torch.zeros(2) for _ in range(4)]
    with pytest.raises(ValueError, match="reduction must be one of"):
        dpo_loss(*args, reduction="max")
    with pytest.raises(ValueError, match="empty"):
        dpo_loss(*[torch.zeros(0) for _ in range(4)])


def test_wrong_types_raise_type_error():
    args = [torch.zeros(2) for _ in range(4)]
    with pytest.raises(TypeError, match="beta must be a number"):
        dpo_loss(*args, beta="0.1")
    with pytest.raises(TypeError, match="beta must be a number"):
        dpo_loss(*args, beta=True)
    with pytest.raises(TypeError, match="ref_rejected_logps must be a floating-point tensor"):
        dpo_loss(*args[:3], torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="policy_chosen_logps must be a torch.Tensor"):
        dpo_loss([0.0, 0.0], *args[1:])


def trl_ipo_loss(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    """TRL's DPOTrainer loss, loss_type="ipo" (trl/trainer/dpo_trainer.py), on given log-probs:
    logits = (chosen - ref_chosen) - (rejected - ref_rejected); (logits - 1/(2 beta))**2, mean."""
    logits = (chosen_logps - ref_chosen_logps) - (rejected_logps - ref_rejected_logps)
    return ((logits - 1 / (2 * beta)) ** 2).mean()


@pytest.mark.parametrize("beta", [0.05, 0.5, 2.0])
def test_ipo_loss_equals_its_closed_form_and_trls_on_the_same_log_probs(beta):
    logps = random_logps(64, seed=3)
    pol_c, pol_r, ref_c, ref_r = logps
    h = (pol_c - ref_c) - (pol_r - ref_r)
    per_pair = ipo_loss(*logps, beta=beta, reduction="none")
    torch.testing.assert_close(per_pair, (h - 1 / (2 * beta)) ** 2)
    torch.testing.assert_close(ipo_loss(*logps, beta=beta), trl_ipo_loss(*logps, beta))
    torch.testing.assert_close(ipo_loss(*logps, beta=beta, reduction="sum"), per_pair.sum())


def test_ipo_loss_is_smallest_at_a_finite_margin_where_dpo_keeps_falling():
    zero = torch.zeros(5, dtype=F64)
    h = torch.tensor([0.0, 0.5, 1.0, 4.0, 40.0], dtype=F64)  # chosen log-ratio; rejected 0
    ipo = ipo_loss(h, zero, zero, zero, beta=0.5, reduction="none")
    dpo = dpo_loss(h, zero, zero, zero, beta=0.5, reduction="none")
    assert int(ipo.argmin()) == 2 and ipo[2].item() == 0.0  # h = 1 / (2 beta) = 1
    assert (dpo.diff() < 0).all()  # DPO: every larger margin is a smaller loss
    h.requires_grad_(True)
    ipo_loss(h[2:3], zero[:1], zero[:1], zero[:1], beta=0.5).backward()
    assert h.grad[2].item() == 0.0  # no pull at the target


def test_ipo_loss_refuses_bad_input():
    logps = random_logps(4, seed=1)
    with pytest.raises(ValueError, match="beta"):
        ipo_loss(*logps, beta=0.0)
    with pytest.raises(ValueError, match="reduction"):
        ipo_loss(*logps, reduction="max")
    with pytest.raises(ValueError):
        ipo_loss(logps[0], logps[1][:2], logps[2], logps[3])
