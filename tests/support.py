"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("SEQTRACK_GOLDEN", REPO / "tests" / "golden"))


def golden_file(name: str) -> Path:
    """Path of a golden file; a missing file FAILS the test (never skips)."""
    path = GOLDEN / name
    if not path.is_file():
        pytest.fail(f"golden file missing: {path} (set SEQTRACK_GOLDEN to the folder holding it)")
    return path


def announce_frames(path: Path, count: int) -> None:
    """Make an AVI's header announce ``count`` frames: ``dwTotalFrames`` in ``avih`` and ``dwLength``
    in the video ``strh`` (FFmpeg's frame count comes from the latter), as a camera's file might."""
    data = bytearray(path.read_bytes())
    avih, strh = data.find(b"avih"), data.find(b"strh")
    assert avih > 0 and strh > 0 and data[strh + 8 : strh + 12] == b"vids"
    struct.pack_into("<I", data, avih + 8 + 16, count)  # chunk header, then the 5th DWORD
    struct.pack_into("<I", data, strh + 8 + 32, count)  # chunk header, fourccs, flags, ..., dwStart
    path.write_bytes(bytes(data))


class FillingFile:
    """A raw file on a disk with ``space["left"]`` bytes free: a write that does not fit writes what fits
    (as the OS does), the next one fails with ENOSPC."""

    def __init__(self, raw, space: dict) -> None:
        self._raw, self._space = raw, space

    def write(self, data) -> int:
        if self._space["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = self._raw.write(bytes(data[: self._space["left"]]))
        self._space["left"] -= count
        return count

    def __getattr__(self, name):
        return getattr(self._raw, name)


def tiny_variant_config(decoder_layers: int = 2, **fields):
    """A `ModelConfig` small enough for every ablation variant to build, run and export in a test: a 1-block
    32-wide encoder, 32 px templates, 64 px search, 64 bins; ``fields`` set the variant (``decoding``,
    ``encoding``, ``temporal_frames``, ``feature_type`` ...)."""
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig

    return ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
        decoder=DecoderConfig(hidden_dim=16, num_heads=2, num_layers=decoder_layers, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=64,
        name="tiny",
        **fields,
    )


def bench_machine(**fields) -> dict:
    """A `seqtrack.bench.machine.machine_info` record for report tests (no measurement), with ``fields`` set."""
    machine = dict(cpu="test cpu", cores=2, cpu_flags=[], torch_cpu_capability="AVX2", torch="2", numpy="2")
    return {**machine, "python": "3", "load_average": [0.0, 0.0, 0.0], **fields}
