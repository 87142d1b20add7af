"""Two steps of the official trainer on the tiny network (tests/golden/tiny_train_step.pt), reproduced by
the code ``seqtrack train`` runs: `sequence_targets` for the token targets and `TrainStep.from_recipe`
with the default `TrainConfig` (the official recipe) for the loss, gradients, clipping and AdamW.

Tolerances (tests/golden/README.md): targets exact, loss 1e-5 relative, gradients before clipping 1e-4,
weights after each step 1e-5 (absolute). The recipe comes from the library's defaults, not from this
test, so a change of truncation, special-token ids or weights, loss reduction, clip norm, parameter
groups, learning rates or weight decay fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqtrack.config import TrainConfig
from seqtrack.data.processing import sequence_targets
from seqtrack.model.weights import load_model
from seqtrack.train.step import TrainStep
from support import golden_file


@pytest.fixture(scope="module")
def golden():
    return torch.load(golden_file("tiny_train_step.pt"), weights_only=False)


@pytest.fixture
def trainable(tiny_config):
    torch.manual_seed(0)
    return load_model(golden_file("tiny_model.pt"), config=tiny_config).train()


def _targets(golden, bins: int, seq_format: str) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [sequence_targets(box.numpy(), bins, seq_format) for box in golden["search_anno"][0]]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])  # (4, 5) each


def test_recipe_defaults_are_the_golden_recipe(golden):
    recipe, train = golden["recipe"], TrainConfig()
    assert (
        train.lr,
        train.encoder_lr_multiplier,
        train.weight_decay,
        train.grad_clip_norm,
        train.special_token_weight,
        train.ce_weight,
    ) == (
        recipe["lr"],
        recipe["encoder_lr_multiplier"],
        recipe["weight_decay"],
        recipe["grad_clip_norm"],
        recipe["special_token_weight"],
        recipe["ce_weight"],
    )


def test_token_targets_exact(golden, tiny_config):
    seq_input, seq_target = _targets(golden, tiny_config.bins, tiny_config.seq_format)
    assert torch.equal(seq_input, golden["input_seqs"])
    for step in golden["steps"]:
        assert torch.equal(seq_target.reshape(-1), step["target_seqs"])


def test_two_official_training_steps(golden, trainable, tiny_config, one_thread):
    seq_input, seq_target = _targets(golden, tiny_config.bins, tiny_config.seq_format)
    batch = {
        "templates": golden["template_images"].permute(1, 0, 2, 3, 4),  # (B, T, 3, H, W)
        "search": golden["search_images"][0],
        "seq_input": seq_input,
        "seq_target": seq_target,
    }
    step = TrainStep.from_recipe(trainable, TrainConfig(), torch.device("cpu"), dropout=False)
    names = {param: name for name, param in trainable.named_parameters()}
    before_clip: dict[str, torch.Tensor] = {}
    for param, name in names.items():  # the gradient as backward leaves it, before clipping scales it
        param.register_post_accumulate_grad_hook(lambda p, n=name: before_clip.__setitem__(n, p.grad.clone()))

    for k, expected in enumerate(golden["steps"]):
        before_clip.clear()
        result = step(batch)
        assert trainable.training, "the step must restore train mode after an eval-mode forward"
        logits = result.logits.reshape(-1, result.logits.shape[-1])
        np.testing.assert_allclose(
            logits.numpy(), expected["logits"].numpy(), atol=1e-4, rtol=1e-4, err_msg=f"step {k}: logits"
        )
        assert float(result.loss) == pytest.approx(expected["loss"], rel=1e-5), f"step {k}: loss"
        assert float(result.grad_norm) == pytest.approx(expected["grad_norm_before_clip"], rel=1e-5)
        assert float(result.iou) == pytest.approx(expected["iou"], abs=1e-6), f"step {k}: status IoU"
        assert set(before_clip) == set(expected["grads"])
        for name, grad in expected["grads"].items():
            np.testing.assert_allclose(
                before_clip[name].numpy(), grad.numpy(), atol=1e-4, rtol=0, err_msg=f"step {k}: gradient of {name}"
            )
        weights = trainable.state_dict()
        assert list(weights) == list(expected["state_dict_after"])
        for name, value in expected["state_dict_after"].items():
            np.testing.assert_allclose(
                weights[name].numpy(), value.numpy(), atol=1e-5, rtol=0, err_msg=f"step {k}: weight {name} after AdamW"
            )


def test_optimizer_groups_are_the_official_ones(golden, trainable):
    """The weight-decay term (lr x decay x weight = 1e-8 of a weight) is below what float32 weights after
    two steps can show, so the groups the step's AdamW holds are checked directly against the recipe."""
    recipe = golden["recipe"]
    step = TrainStep.from_recipe(trainable, TrainConfig(), torch.device("cpu"), dropout=False)
    names = {id(param): name for name, param in trainable.named_parameters()}
    groups = {}
    for group in step.optimizer.param_groups:
        members = {names[id(p)] for p in group["params"]}
        is_encoder = {"encoder" in name for name in members}
        assert len(is_encoder) == 1, "a group mixes encoder and other parameters"
        groups["encoder" if is_encoder.pop() else "other"] = group
        assert group["weight_decay"] == recipe["weight_decay"]
        assert group["betas"] == (0.9, 0.999) and group["eps"] == 1e-8
    assert groups["other"]["lr"] == recipe["lr"]
    assert groups["encoder"]["lr"] == pytest.approx(recipe["lr"] * recipe["encoder_lr_multiplier"], rel=1e-12)
    assert sum(len(g["params"]) for g in groups.values()) == len(names) == len(golden["steps"][0]["grads"])
