"""How far each backend's answers are from the reference ones.

* `fill_agreement`: each run against the ``torch fp32`` eager run of the same preset, targets, threads
  and video. The tracker feeds its own boxes back, so one early disagreement can move every later crop:
  this is a closed-loop (end-to-end) agreement, stricter than comparing single forwards.
* `golden_agreement`: each backend on the golden 40-frame video with the golden tiny (trained) network,
  against the official outputs (random weights give nearly flat token distributions, so their agreement
  figures overstate how often trained weights flip a token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtrack.bench.cases import BACKEND_CASES, CaseResult
from seqtrack.geometry.boxes import box_iou

IOU_THRESHOLD = 0.99  # a box "agrees" when its IoU with the reference box is at least this


def fill_agreement(results: list[CaseResult]) -> None:
    """Compare every run with the ``torch fp32`` eager run of the same preset/targets/threads/video.

    Sets ``agreement_frames`` (frames x targets compared), ``iou_share`` and ``token_share`` of each
    result that has a reference, over the frames both runs tracked (warm-up included).
    """
    references = {r.case.key(): r for r in results if r.case.is_reference and not r.error}
    for r in results:
        ref = references.get(r.case.key())
        if ref is None or r.error:
            continue
        n = min(len(ref.boxes), len(r.boxes))
        if n == 0:
            continue
        iou = box_iou(np.array(r.boxes[:n]), np.array(ref.boxes[:n]))  # (frames, targets)
        same = (np.array(r.tokens[:n]) == np.array(ref.tokens[:n])).all(axis=-1)
        r.agreement_frames = n * r.case.targets
        r.iou_share = float((iou >= IOU_THRESHOLD).mean())
        r.token_share = float(same.mean())


@dataclass
class GoldenAgreement:
    """One backend on the golden tracker video with the golden (trained) tiny network."""

    label: str
    frames: int
    tokens_equal: float  # share of tracked frames with the official tokens
    iou_share: float  # share with IoU >= 0.99 against the official boxes
    max_box_error_px: float
    updates_equal: float
    error: str | None = None


def golden_tiny_config():
    """The tiny network of the golden files (``tests/golden/README.md``)."""
    from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig

    return ModelConfig(
        encoder=EncoderConfig(embed_dim=64, depth=2, num_heads=4),
        decoder=DecoderConfig(hidden_dim=32, num_heads=4, num_layers=2, dim_feedforward=64),
        template_size=128,
        search_size=128,
        name="tiny",
    )


def golden_options(backend: str) -> dict:
    """`seqtrack.runtime.factory.make_predictor` options of a ``--backends`` name (``onnxruntime-int8`` ...)."""
    spec = BACKEND_CASES[backend]
    return {
        "backend": spec["backend"],
        "dtype": spec.get("dtype", "fp32"),
        "compile": spec.get("compile", False),
        "quantize": spec.get("quantize"),
        "fast": spec.get("fast", False),
        "kernel": spec.get("kernel", "auto"),
        "cuda_graphs": spec.get("cuda_graphs", False),
    }


def golden_agreement(
    golden_dir: Path, option_sets: list[dict], threads: int, device: str = "cpu"
) -> list[GoldenAgreement]:
    """Track the golden 40-frame video with each option set and compare with the official outputs.

    Args:
        golden_dir: the folder of ``tiny_tracker.npz`` and ``tiny_official_checkpoint.pth.tar``
            (the repository's ``tests/golden``).
        option_sets: `make_predictor` options, one row each (see `golden_options`).
        device: where every option set runs (``cpu`` or ``cuda:N``).
    """
    import torch

    from seqtrack.config import TrackerConfig

    torch.set_num_threads(threads)
    data = dict(np.load(golden_dir / "tiny_tracker.npz"))
    config = TrackerConfig(
        template_factor=float(data["template_factor"]),
        search_factor=float(data["search_factor"]),
        window=bool(data["window"]),
        update_interval=int(data["update_interval"]),
        update_threshold=float(data["update_threshold"]),
    )
    rows = []
    for options in option_sets:
        label = _options_label(options)
        try:
            rows.append(_golden_row(label, golden_dir, data, config, {**options, "device": device}, threads))
        except Exception as error:
            rows.append(
                GoldenAgreement(
                    label, 0, math.nan, math.nan, math.nan, math.nan, error=f"{type(error).__name__}: {error}"[:300]
                )
            )
    return rows


def _golden_row(label: str, golden_dir: Path, data: dict, config, options: dict, threads: int) -> GoldenAgreement:
    """Track the golden video (``data``, from ``tiny_tracker.npz``) with one option set."""
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.tracking.loop import track_frames
    from seqtrack.tracking.tracker import Tracker

    model = load_model(golden_dir / "tiny_official_checkpoint.pth.tar", config=golden_tiny_config())
    tracker = Tracker(make_predictor(model, threads=threads, **options), config)
    steps = [
        step.result for step in track_frames(tracker, enumerate(data["frames"]), data["init_box"]) if not step.first
    ]  # the official outputs of frame 0 are the given box, nothing to compare
    tokens = np.array([r.tokens for r in steps])
    boxes = np.array([r.box for r in steps])
    updates = np.array([r.template_updated for r in steps])
    return GoldenAgreement(
        label=label,
        frames=len(tokens),
        tokens_equal=float((tokens == data["tokens"][1:]).all(axis=1).mean()),
        iou_share=float((box_iou(boxes, data["boxes"][1:]) >= IOU_THRESHOLD).mean()),
        max_box_error_px=float(np.abs(boxes - data["boxes"][1:]).max()),
        updates_equal=float((updates == data["updated"][1:]).mean()),
    )


def _options_label(options: dict) -> str:
    from seqtrack.runtime.options import PredictorOptions

    label = PredictorOptions(**{k: v for k, v in options.items() if k != "kernel"}).label
    return label + (" (mkl)" if options.get("kernel") == "mkl" else "")


__all__ = [
    "fill_agreement",
    "golden_agreement",
    "golden_options",
    "golden_tiny_config",
    "GoldenAgreement",
    "IOU_THRESHOLD",
]
