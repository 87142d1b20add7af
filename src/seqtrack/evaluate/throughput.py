"""Tracking speed in `seqtrack report`: frames per second and what it means for each standard benchmark.

A tracker's rate is the frames of its time files over the sum of their per-frame times (the
``_time.txt`` files). Each time is the ``init`` / ``track`` call alone, measured in the process that
ran the sequence, so the rate is **per worker process**: result files do not record which worker ran a
sequence, and with W workers on separate cores (or GPUs) the wall time is about the projection / W.

The projection is ``frames of the benchmark / rate``. Frame counts used (`BENCHMARK_SIZES`):

* LaSOT test: 280 videos, about 690,000 frames (LaSOT paper, CVPR 2019).
* LaSOT_ext: 150 videos, about 350,000 frames: the journal version's 3.87 M frames over 1,550 videos
  less the conference version's 3.52 M over 1,400 (LaSOT paper, IJCV 2021).
* TrackingNet test: 511 videos, about 225,000 frames (TrackingNet paper, ECCV 2018).
* UAV123: 123 entries, 112,578 frames: exact, the sum of the frame ranges in
  `seqtrack.evaluate.benchmarks.uav`.
* NfS-30: 100 videos, about 47,900 frames: the 383,000 frames at 240 fps of the NfS paper, one in 8.
* OTB-100: 100 sequences, 59,040 frames.
* GOT-10k test (180 videos) and TNL2K test (700 videos): frame count not recorded here, so no
  projection; the report's own benchmark is projected from the frames it scored instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchmarkSize:
    """How much a benchmark asks of a tracker: ``videos`` sequences, ``frames`` frames (None if unknown),
    and where the count comes from."""

    title: str
    videos: int
    frames: int | None
    source: str


#: benchmark name -> its size (see the module docstring for the sources)
BENCHMARK_SIZES: dict[str, BenchmarkSize] = {
    "lasot": BenchmarkSize("LaSOT", 280, 690_000, "LaSOT paper (CVPR 2019), approximate"),
    "lasot_ext": BenchmarkSize("LaSOT_ext", 150, 350_000, "3.87M - 3.52M frames (LaSOT IJCV 2021), approximate"),
    "trackingnet": BenchmarkSize("TrackingNet", 511, 225_000, "TrackingNet paper (ECCV 2018), approximate"),
    "got10k_test": BenchmarkSize("GOT-10k test", 180, None, "frame count not recorded"),
    "tnl2k": BenchmarkSize("TNL2K", 700, None, "frame count not recorded"),
    "uav": BenchmarkSize("UAV123", 123, 112_578, "sum of the UAV123 frame ranges, exact"),
    "nfs": BenchmarkSize("NfS-30", 100, 47_900, "383,000 frames at 240 fps / 8 (NfS paper), approximate"),
    "otb": BenchmarkSize("OTB-100", 100, 59_040, "OTB-2015 paper"),
}


def format_duration(seconds: float | None) -> str:
    """``3 h 12 min``, ``4 min 05 s``, ``12 s``; ``–`` for an unknown or infinite time."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = round(seconds)
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def projected_seconds(fps: float, frames: int | None) -> float | None:
    """Seconds one worker needs for ``frames`` frames at ``fps``; None when either is unknown."""
    if frames is None or not math.isfinite(fps) or fps <= 0:
        return None
    return frames / fps


def throughput_rows(rates: Mapping[str, float], local: tuple[str, int, int] | None = None) -> list[dict[str, object]]:
    """One JSON-friendly row per tracker: its ``fps`` (None if no time files) and ``projected_seconds``
    for each benchmark of `BENCHMARK_SIZES` (None where the count or the rate is unknown).

    Args:
        rates: tracker name -> frames per second (NaN when unknown).
        local: ``(title, videos, frames)`` of the scored set, projected too under the key ``"scored"``.
    """
    rows = []
    for name, fps in rates.items():
        projected = {key: projected_seconds(fps, size.frames) for key, size in BENCHMARK_SIZES.items()}
        if local is not None:
            projected["scored"] = projected_seconds(fps, local[2])
        rows.append({"name": name, "fps": fps if math.isfinite(fps) else None, "projected_seconds": projected})
    return rows


def throughput_table(rates: Mapping[str, float], local: tuple[str, int, int] | None = None) -> str:
    """Markdown table: each tracker's fps and the projected single-worker wall time of every standard
    benchmark (and of the scored set, ``local``); empty string when no tracker has time files."""
    if not any(math.isfinite(fps) for fps in rates.values()):
        return ""
    columns = [(key, size.title, size.frames) for key, size in BENCHMARK_SIZES.items() if size.frames is not None]
    if local is not None:
        columns.insert(0, ("scored", f"{local[0]} (scored)", local[2]))
    header = "| Tracker | FPS | " + " | ".join(f"{title}" for _, title, _ in columns) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(columns)]
    for name, fps in rates.items():
        fps_text = f"{fps:.1f}" if math.isfinite(fps) else "–"
        times = [format_duration(projected_seconds(fps, frames)) for _, _, frames in columns]
        lines.append(f"| {name} | {fps_text} | " + " | ".join(times) + " |")
    counts = ", ".join(f"{title} {frames:,}" for _, title, frames in columns)
    unknown = ", ".join(s.title for s in BENCHMARK_SIZES.values() if s.frames is None)
    note = (
        f"Projected wall time of one worker process at the measured rate (frames / sum of per-frame times); "
        f"with W workers about 1/W of it. Frames: {counts}. Not projected (frame count unknown): {unknown}."
    )
    return "\n".join(lines) + f"\n\n{note}\n"
