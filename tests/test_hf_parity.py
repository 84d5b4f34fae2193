"""TRL computes the course's losses: RewardTrainer's loss is rmcourse.torch_loss.bt_loss and
DPOTrainer's sigmoid loss is rmcourse.torch_loss.dpo_loss, on one batch, to float32 precision.

Each batch holds every pair of a small dataset (batch size = number of pairs), so the mean loss
does not depend on the order TRL shuffles the pairs into; our side scores the same pairs from
their text with the course's own code, independently of TRL's tokenization and collation.
"""

import numpy as np
import pytest

pytest.importorskip("trl", reason="the [hf] extra (Python >= 3.11) is not installed")

import torch  # noqa: E402

from rmcourse.data import PreferenceWorld  # noqa: E402
from rmcourse.hf.model import policy_model, read_positions, reward_model  # noqa: E402
from rmcourse.hf.tokenizer import course_tokenizer  # noqa: E402
from rmcourse.hf.trainers import (  # noqa: E402
    HFTrainConfig,
    dpo_trainer,
    response_logps,
    reward_scores,
    reward_trainer,
)
from rmcourse.torch_loss import bt_loss, dpo_loss  # noqa: E402

N_PAIRS = 24


@pytest.fixture(scope="module")
def pairs():
    return PreferenceWorld(seed=0).sample(N_PAIRS, seed=11)


@pytest.fixture(scope="module")
def tokenizer():
    return course_tokenizer()


def _one_batch(trainer):
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 2 * N_PAIRS, "the batch must hold every pair"
    return dict(batch)


def _trl_loss(trainer, batch) -> float:
    trainer.model.eval()
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, dict(batch)).item()


@pytest.mark.parametrize(
    ("center_coef", "with_margin"), [(None, False), (None, True), (0.05, False), (0.05, True)]
)
def test_reward_trainer_loss_is_bt_loss(pairs, tokenizer, center_coef, with_margin):
    model = reward_model(tokenizer, seed=3)
    margins = np.random.default_rng(0).uniform(0.0, 2.0, N_PAIRS) if with_margin else None
    config = HFTrainConfig(steps=1, batch_size=N_PAIRS, center_coef=center_coef)
    trainer = reward_trainer(model, tokenizer, pairs, config, margins=margins)
    batch = _one_batch(trainer)
    assert ("margin" in batch) == with_margin
    trl = _trl_loss(trainer, batch)

    r_c, r_r = (torch.from_numpy(r).float() for r in reward_scores(model, tokenizer, pairs))
    ours = bt_loss(
        r_c, r_r,
        margin=None if margins is None else torch.from_numpy(margins).float(),
        center_coef=center_coef or 0.0,
    ).item()  # fmt: skip
    assert ours == pytest.approx(trl, rel=1e-5, abs=1e-6)
    # the options change the loss, so the comparison above could fail
    plain = bt_loss(r_c, r_r).item()
    assert (abs(ours - plain) > 1e-3) == (with_margin or center_coef is not None)
    assert abs(plain - np.log(2)) > 1e-3, "rewards all equal: the check would be too weak"


def test_dpo_trainer_sigmoid_loss_is_dpo_loss(pairs, tokenizer):
    policy, reference = policy_model(tokenizer, seed=1), policy_model(tokenizer, seed=2)
    beta = 0.5
    config = HFTrainConfig(steps=1, batch_size=N_PAIRS, beta=beta)
    trainer = dpo_trainer(policy, reference, tokenizer, pairs, config)
    trl = _trl_loss(trainer, _one_batch(trainer))

    logps = [
        response_logps(model, tokenizer, pairs.prompts, responses)
        for model in (policy, reference)
        for responses in (pairs.chosen, pairs.rejected)
    ]  # policy chosen, policy rejected, reference chosen, reference rejected; each (N,)
    ours = dpo_loss(*logps, beta=beta).item()
    assert ours == pytest.approx(trl, rel=1e-5, abs=1e-6)
    assert abs(ours - np.log(2)) > 1e-3, "policy equals reference: the check would be too weak"


def test_the_reward_is_read_at_eos_with_a_separate_pad_token(tokenizer):
    rows = tokenizer(["my car is red . what color is it ? it is red .<eos>"], return_tensors="pt")
    ids = torch.nn.functional.pad(rows["input_ids"], (0, 3), value=tokenizer.pad_token_id)
    model = reward_model(tokenizer)
    eos_at = int((ids[0] == tokenizer.eos_token_id).nonzero()[-1])
    assert int(read_positions(model, ids)[0]) == eos_at


def test_with_pad_equal_to_eos_the_reward_is_read_before_the_eos():
    # transformers reads the rightmost token that is not padding: when padding is <eos>, the
    # final <eos> counts as padding and the reward comes from the token before it.
    tokenizer = course_tokenizer(pad_token="<eos>")
    model = reward_model(tokenizer)
    ids = tokenizer(["it is red .<eos><eos><eos>"], return_tensors="pt")["input_ids"]
    assert ids[0].tolist()[-4:] == [6, 3, 3, 3]
    assert int(read_positions(model, ids)[0]) == 3  # the "." before the first <eos>
