"""Single-step accuracy of a SeqTrack checkpoint: crop around the previous frame's *true* box, predict.

    .venv/bin/python benchmarks/single_step_error.py WEIGHTS DATA_ROOT [--sequences 10] [--stride 4]

DATA_ROOT is a GOT-10k-layout folder (e.g. generated with ``python -m seqtrack.data.synthetic``).
Every ``stride``-th frame with a visible target: the tracker state is reset to the previous frame's
ground truth, one frame is tracked, and the box is compared with this frame's ground truth. Separates
localisation error from drift. Prints the mean IoU and median centre / size errors relative to the
object size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from seqtrack.data.images import read_rgb
from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.metrics import iou_clipped
from seqtrack.model.weights import load_model
from seqtrack.tracking.tracker import Tracker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights")
    parser.add_argument("root", type=Path)
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--stride", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.weights)
    sequences = get_benchmark("got10k_val", args.root).sequences()[: args.sequences]
    ious, errors = [], []  # errors: |dx|/w, |dy|/h, |log w ratio|, |log h ratio|
    for seq in sequences:
        truth, frames = seq.boxes, seq.frames
        tracker = Tracker(model)
        tracker.init(read_rgb(frames[0]), truth[0])
        for i in range(1, len(frames), args.stride):
            if not truth[i - 1][2] > 0 or not truth[i][2] > 0:  # absent (0 or NaN) target
                continue
            tracker.state.targets[0].box = list(truth[i - 1])
            box = np.asarray(tracker.track(read_rgb(frames[i])).box)
            gt = truth[i]
            ious.append(float(iou_clipped(box[None], gt[None])[0]))
            errors.append([abs(box[0] + box[2] / 2 - gt[0] - gt[2] / 2) / gt[2],
                           abs(box[1] + box[3] / 2 - gt[1] - gt[3] / 2) / gt[3],
                           abs(np.log(box[2] / gt[2])), abs(np.log(box[3] / gt[3]))])
    e = np.median(np.asarray(errors), axis=0)
    print(f"{len(ious)} frames of {len(sequences)} sequences: mean IoU {np.mean(ious):.3f}, "
          f"IoU > 0.5 {np.mean(np.asarray(ious) > 0.5):.2f}, IoU > 0.75 {np.mean(np.asarray(ious) > 0.75):.2f}")
    print(f"median |dx|/w {e[0]:.3f}, |dy|/h {e[1]:.3f}, |log(w/w_true)| {e[2]:.3f}, |log(h/h_true)| {e[3]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
