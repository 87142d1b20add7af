"""Fixtures of the training tests: a tiny model config, generated data on disk, a fast in-memory
dataset, and a helper that runs ``seqtrack train`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from seqtrack.geometry.tokens import box_to_tokens, teacher_forcing_pair

REPO = Path(__file__).resolve().parents[2]

# The smallest network worth training: t128 with a 1-layer encoder, 64-px crops, 32 bins.
TINY = {
    "preset": "t128",
    "model": {"encoder": {"depth": 1}, "template_size": 64, "search_size": 64, "bins": 32},
    "train": {
        "datasets": ["SYNTHETIC"],
        "dataset_ratios": [1.0],
        "samples_per_epoch": 24,
        "batch_size": 2,
        "epochs": 2,
        "num_workers": 0,
        "lr": 5.0e-4,
        "encoder_lr_multiplier": 1.0,
        "save_every": 1,
    },
}


@pytest.fixture
def one_thread():
    """One intra-op thread for in-process training tests (on 2 shared cores a second thread spin-waits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def write_config(tmp_path):
    """``write_config(name, {overrides}) -> Path`` of a YAML based on `TINY`."""

    def write(name: str = "tiny.yaml", overrides: dict | None = None) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(_merge(TINY, overrides or {})))
        return path

    return write


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A data root holding ``synthetic/``: 4 generated GOT-10k-layout sequences of 30 frames."""
    from seqtrack.data.synthetic import write_dataset

    root = tmp_path_factory.mktemp("data")
    write_dataset(root / "synthetic", 4, 30, size=(96, 128), seed=0)
    return root


def _env() -> dict:
    env = dict(os.environ)
    # One thread each: the machine is shared, and identical thread counts keep float sums identical.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@pytest.fixture
def train_cmd():
    """``train_cmd(args, nproc=1) -> list[str]``: the command line of ``seqtrack train`` (under torchrun
    when ``nproc > 1``)."""

    def command(args: list[str], nproc: int = 1) -> list[str]:
        if nproc > 1:
            return [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--nproc-per-node={nproc}",
                "-m",
                "seqtrack",
                "train",
                *args,
            ]
        return [sys.executable, "-m", "seqtrack", "train", *args]

    return command


@pytest.fixture
def run_env() -> dict:
    return _env()


@pytest.fixture
def run_train(train_cmd, run_env):
    """``run_train(args, nproc=1) -> CompletedProcess`` (checked: a failure shows stdout and stderr)."""

    def run(args: list[str], nproc: int = 1, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            train_cmd(args, nproc), env=run_env, cwd=REPO, capture_output=True, text=True, timeout=300
        )
        if check and done.returncode != 0:
            pytest.fail(f"seqtrack train failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    return run


MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class SquaresDataset(torch.utils.data.Dataset):
    """In-memory training samples for fast learning tests: a red square of fixed size at a random place
    on a noisy grey search crop; the templates show it centred. Item ``i`` of epoch ``e`` is a pure
    function of ``(seed, e, i)`` and has the `PairDataset` keys: ``templates (T, 3, S, S)``, ``search
    (3, S, S)`` float32 (ImageNet-normalised), ``seq_input`` / ``seq_target (5,)`` int64."""

    def __init__(
        self,
        size: int = 64,
        bins: int = 32,
        num_templates: int = 2,
        samples_per_epoch: int = 1000,
        seed: int = 0,
        side: float = 0.3,
    ) -> None:
        self.size, self.bins, self.num_templates, self.side = size, bins, num_templates, side
        self.samples_per_epoch, self.seed, self.epoch = samples_per_epoch, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _image(self, rng: np.random.Generator, box: np.ndarray) -> torch.Tensor:
        s = self.size
        image = np.clip(0.5 + 0.1 * rng.standard_normal((s, s, 3)), 0, 1).astype(np.float32)
        x, y, w, h = np.round(box).astype(int)
        image[y : y + h, x : x + w] = (1.0, 0.1, 0.1)
        return torch.from_numpy(((image - MEAN) / STD).transpose(2, 0, 1).copy())

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        s, side = self.size, self.side * self.size
        top_left = rng.uniform(0, 1, 2) * (s - side)
        box = np.array([*top_left, side, side])
        centred = np.array([(s - side) / 2, (s - side) / 2, side, side])
        templates = torch.stack([self._image(rng, centred) for _ in range(self.num_templates)])
        search = self._image(rng, box)
        tokens = box_to_tokens(box[None] / (s - 1), bins=self.bins)
        seq_input, seq_target = teacher_forcing_pair(tokens, bins=self.bins)
        return {"templates": templates, "search": search, "seq_input": seq_input[0], "seq_target": seq_target[0]}


@pytest.fixture
def squares():
    """The `SquaresDataset` class."""
    return SquaresDataset
