"""Checkpoints: what load reads back scores as the saved model did; bad input is refused."""

import json

import numpy as np
import pytest
import torch

from rmcourse.checkpoint import load, save
from rmcourse.model import new_model
from rmcourse.scoring import score_pairs
from rmcourse.train import TrainConfig, train

TINY = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1}


@pytest.fixture(scope="module")
def data(world):
    return world.splits(400, 100, 100, seed=0)


@pytest.mark.parametrize("kind", ["transformer", "bow"])
def test_save_load_gives_identical_rewards(tmp_path, world, data, kind):
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, kind=kind, **TINY)
    config = TrainConfig(steps=3, batch_size=32, device="cpu", progress=False)
    result = train(model, tok, data[0], data[1], config)
    save(tmp_path / "ckpt", result.model, tok)
    loaded, loaded_tok = load(tmp_path / "ckpt")
    assert loaded_tok.words == tok.words
    assert type(loaded) is type(result.model) and loaded.config == result.model.config
    a = score_pairs(result.model, tok, data[2])
    b = score_pairs(loaded, loaded_tok, data[2])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_checkpoint_saved_before_the_stack_became_a_submodule_still_loads(tmp_path, world, data):
    """Checkpoints written before the weights were renamed (``tok_emb.weight``, now
    ``transformer.tok_emb.weight``) load with the same rewards."""
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, **TINY).eval()
    save(tmp_path / "ckpt", model, tok)
    state = torch.load(tmp_path / "ckpt" / "model.pt", weights_only=True)
    old = {k.removeprefix("transformer."): v for k, v in state.items()}
    assert "tok_emb.weight" in old and "blocks.0.attn.qkv.weight" in old
    torch.save(old, tmp_path / "ckpt" / "model.pt")
    loaded, _ = load(tmp_path / "ckpt")
    a, b = score_pairs(model, tok, data[2]), score_pairs(loaded, tok, data[2])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_checkpoint_saved_before_the_shape_options_loads_as_the_model_it_was(
    tmp_path, world, data
):
    """A config.json written before ``positions``, ``mlp`` and ``head_std`` existed is the model
    of that time (learned positions, GELU MLP), not today's default shape."""
    tok = world.tokenizer()
    torch.manual_seed(0)
    model = new_model(tok, positions="learned", mlp="gelu", **TINY).eval()
    save(tmp_path / "ckpt", model, tok)
    path = tmp_path / "ckpt" / "config.json"
    config = json.loads(path.read_text())
    for key in ("positions", "mlp", "head_std"):
        del config["model"][key]
    path.write_text(json.dumps(config))
    loaded, _ = load(tmp_path / "ckpt")
    assert (loaded.config.positions, loaded.config.mlp) == ("learned", "gelu")
    a, b = score_pairs(model, tok, data[2]), score_pairs(loaded, tok, data[2])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_save_refuses_a_model_it_could_not_load(tmp_path, world):
    with pytest.raises(TypeError, match="save needs a reward model"):
        save(tmp_path / "ckpt", torch.nn.Linear(2, 1), world.tokenizer())
    assert not (tmp_path / "ckpt").exists()


def test_load_rejects_a_folder_that_is_no_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="model.pt is missing"):
        (tmp_path / "config.json").write_text("{}")
        (tmp_path / "tokenizer.json").write_text("{}")
        load(tmp_path)
