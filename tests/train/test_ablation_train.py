"""Every ablation of the paper (Tab. 4, Tab. 5, Fig. 6) trains: a few steps of the tiny network on the
generated data through the library entry point of ``seqtrack train``, a checkpoint that records the
variant, and a trained model that tracks one crop; plus an exact mid-epoch resume with temporal tokens."""

from __future__ import annotations

import math

import pytest
import torch

from seqtrack.config import load_yaml
from seqtrack.geometry.tokens import history_tokens
from seqtrack.model.weights import load_model
from seqtrack.train.datasets import DataRoots, build_training_dataset
from seqtrack.train.metrics import read_metrics
from seqtrack.train.options import TrainOptions
from seqtrack.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

# One model block per new path (each on top of the tiny network of conftest.TINY).
VARIANTS = {
    "bidirectional": {"decoding": "bidirectional"},
    "separate_xz": {"encoding": "separate", "feature_type": "xz"},
    "separate_token": {"encoding": "separate", "feature_type": "token"},
    "temporal4": {"temporal_frames": 4},
    "temporal4_bidirectional": {"temporal_frames": 4, "decoding": "bidirectional"},
    "whxy": {"seq_format": "whxy"},
    "corner": {"seq_format": "corner"},
    "feature_xz": {"feature_type": "xz"},
    "feature_token": {"feature_type": "token"},
    "bins1000": {"bins": 1000},
}


def _options(out, data_root, **kwargs) -> TrainOptions:
    defaults = dict(log_every=1, progress=False, checkpoint_every_steps=0, tensorboard=False, print_fn=lambda *_: None)
    return TrainOptions(out=out, roots=DataRoots(root=data_root), **(defaults | kwargs))


def _steps(out) -> list[tuple[int, float, float]]:
    return [(r["step"], r["loss"], r["grad_norm"]) for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "step"]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_ablation_trains_saves_and_tracks(name, write_config, data_root, tmp_path):
    config = load_yaml(
        write_config(overrides={"model": VARIANTS[name], "train": {"samples_per_epoch": 4, "epochs": 1}})
    )
    out = tmp_path / name
    summary = train(config, _options(out, data_root))
    steps = _steps(out)
    assert [s[0] for s in steps] == [1, 2]
    assert all(math.isfinite(loss) and loss > 0 and math.isfinite(norm) for _, loss, norm in steps)

    model = load_model(summary.checkpoint)  # the file's own config: the variant is recorded
    for field, value in VARIANTS[name].items():
        assert getattr(model.config, field) == value, field

    batch = torch.utils.data.default_collate([build_training_dataset(config, DataRoots(root=data_root), 0)[0]])
    k = config.model.temporal_frames
    assert ("history" in batch) == (k > 0)
    history = batch.get("history")
    if k:
        assert history.shape == (1, 4 * k)
        assert torch.equal(history, history_tokens(batch["history_boxes"], config.model.bins, config.model.seq_format))
    with torch.no_grad():
        tokens, probs = model.generate(batch["templates"], batch["search"], history=history)
        logits = model(batch["templates"], batch["search"], batch["seq_input"], history=history)
    assert tokens.shape == probs.shape == (1, 4)
    assert int(tokens.min()) >= 0 and int(tokens.max()) < config.model.bins
    expected_positions = 4 if config.model.decoding == "bidirectional" else 5
    assert logits.shape == (1, expected_positions, config.model.bins + 2)


class _Interrupted(torch.utils.data.Dataset):
    """A dataset that fails on its ``fail_at``-th item read: an interrupted run (the resume point before
    it stays on disk)."""

    def __init__(self, dataset, fail_at: int) -> None:
        self.dataset, self.fail_at, self.reads = dataset, fail_at, 0

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        self.reads += 1
        if self.reads == self.fail_at:
            raise RuntimeError("interrupted")
        return self.dataset[index]


def test_temporal_run_resumes_mid_epoch_exactly(write_config, data_root, tmp_path):
    overrides = {"model": {"temporal_frames": 4}, "train": {"samples_per_epoch": 8, "epochs": 2}}
    config = load_yaml(write_config(overrides=overrides))
    reference = tmp_path / "reference"
    train(config, _options(reference, data_root))

    out = tmp_path / "interrupted"
    dataset = build_training_dataset(config, DataRoots(root=data_root), config.train.seed)
    # 4 steps an epoch, resume points after steps 3, 4 (epoch end) and 6 (mid epoch 2): stopped while
    # reading step 7's batch (items 13, 14), so the run goes on from the middle of epoch 2.
    with pytest.raises(RuntimeError, match="interrupted"):
        train(config, _options(out, data_root, checkpoint_every_steps=3), dataset=_Interrupted(dataset, 13))
    assert [s[0] for s in _steps(out)][-1] == 6
    summary = train(config, _options(out, data_root, checkpoint_every_steps=3))
    assert summary.resumed_from_step == 6
    ref_steps, got_steps = _steps(reference), _steps(out)
    assert [s[0] for s in got_steps] == [s[0] for s in ref_steps] == list(range(1, 9))
    for ref, got in zip(ref_steps, got_steps):
        assert got[1] == pytest.approx(ref[1], rel=0, abs=1e-6), f"loss differs at step {ref[0]}"
    a, b = load_model(reference / "checkpoint_ep0002.safetensors"), load_model(out / "checkpoint_ep0002.safetensors")
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
