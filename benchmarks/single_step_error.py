"""Single-step accuracy of a SeqTrack checkpoint: crop around the previous frame's *true* box, predict.

    .venv/bin/python benchmarks/single_step_error.py WEIGHTS DATA_ROOT [--sequences 10] [--stride 4] \
        [--scales 0.5 0.7 1 1.4 2] [--out DIR]

DATA_ROOT is a GOT-10k-layout folder (e.g. generated with ``python -m seqtrack.data.synthetic``).
Every ``stride``-th frame with a visible target: the tracker state is reset to the previous frame's
ground truth, one frame is tracked (official tracker settings), and the box is compared with this
frame's ground truth. Separates localisation error from drift.

``--scales``: the state's width and height are first multiplied by each factor (about the true
centre), as if the tracker's previous size were that far off; the search crop then shows the target
at 1/factor of its usual size. A network that reads sizes off the image returns the true size at
every factor (signed log-size bias 0); one that leans on the size it saw in training returns sizes
pulled back towards the wrong state (bias of the same sign as log(factor)).

Prints and, with ``--out``, writes ``single_step_error.json`` and ``single_step_error.md``: per factor
the mean IoU, the share of IoU > 0.5 / 0.75, the median centre error relative to the object size, the
median |log(size / true size)| and the median signed log(size / true size) (geometric mean of w, h).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.metrics import iou_clipped
from seqtrack.io.images import read_rgb
from seqtrack.model.weights import load_model
from seqtrack.tracking.tracker import Tracker


def scaled_box(box_xywh: np.ndarray, factor: float) -> list[float]:
    """``xywh`` box with width and height multiplied by ``factor`` about its centre."""
    x, y, w, h = (float(v) for v in box_xywh)
    return [x + w / 2 - factor * w / 2, y + h / 2 - factor * h / 2, factor * w, factor * h]


def measure(model, sequences, stride: int, factor: float) -> dict:
    """One factor over all sequences: the row of the table (see the module docstring)."""
    ious, errors = [], []  # errors: centre error / size, |log size ratio|, signed log size ratio
    for seq in sequences:
        truth, frames = seq.boxes, seq.frames
        tracker = Tracker(model)
        tracker.init(read_rgb(frames[0]), truth[0])
        for i in range(1, len(frames), stride):
            if not truth[i - 1][2] > 0 or not truth[i][2] > 0:  # absent (0 or NaN) target
                continue
            tracker.state.targets[0].box = scaled_box(truth[i - 1], factor)
            box = np.asarray(tracker.track(read_rgb(frames[i])).box)
            gt = np.asarray(truth[i], dtype=np.float64)
            ious.append(float(iou_clipped(box[None], gt[None])[0]))
            log_size = 0.5 * (np.log(box[2] / gt[2]) + np.log(box[3] / gt[3]))
            centre = np.hypot(
                (box[0] + box[2] / 2 - gt[0] - gt[2] / 2) / gt[2], (box[1] + box[3] / 2 - gt[1] - gt[3] / 2) / gt[3]
            )
            errors.append([centre, abs(log_size), log_size])
    iou, e = np.asarray(ious), np.asarray(errors)
    return {
        "factor": factor,
        "frames": len(iou),
        "mean_iou": float(iou.mean()),
        "op50": float((iou > 0.5).mean()),
        "op75": float((iou > 0.75).mean()),
        "median_centre_error": float(np.median(e[:, 0])),
        "median_abs_log_size": float(np.median(e[:, 1])),
        "median_log_size": float(np.median(e[:, 2])),
    }


def markdown(weights: str, root: Path, rows: list[dict]) -> str:
    lines = [
        f"Weights `{weights}`, data `{root}` ({rows[0]['frames']} frames per row)",
        "",
        "| state size x | mean IoU | IoU>0.5 | IoU>0.75 | centre err / size | abs log size err | signed log size err |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['factor']:g} | {r['mean_iou']:.3f} | {r['op50']:.2f} | {r['op75']:.2f} | "
            f"{r['median_centre_error']:.3f} | {r['median_abs_log_size']:.3f} | {r['median_log_size']:+.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights")
    parser.add_argument("root", type=Path)
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[1.0],
        help="factors applied to the previous box's size (default: 1, the true size)",
    )
    parser.add_argument("--out", type=Path, help="folder for single_step_error.json / .md")
    args = parser.parse_args(argv)
    if any(not s > 0 for s in args.scales):
        parser.error(f"--scales must be positive, got {args.scales}")
    torch.set_num_threads(1)
    model = load_model(args.weights)
    sequences = get_benchmark("got10k_val", args.root).sequences()[: args.sequences]
    rows = [measure(model, sequences, args.stride, s) for s in args.scales]
    table = markdown(args.weights, args.root, rows)
    print(table, end="")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "single_step_error.json").write_text(
            json.dumps(
                {"weights": str(args.weights), "data": str(args.root), "stride": args.stride, "rows": rows}, indent=1
            )
        )
        (args.out / "single_step_error.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
