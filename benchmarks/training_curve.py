"""Plot and tabulate a training curve from the ``metrics.jsonl`` of one run or of consecutive stages.

    .venv/bin/python benchmarks/training_curve.py runs/demo runs/demo_finetune assets/demo/training_curve.png

Per epoch: the mean loss (``epoch`` lines) and the mean status IoU of the logged training batches
(``step`` lines: arg-max tokens against the targets, teacher-forced). Stages are drawn one after the
other (epochs counted on; a dotted line where a stage starts); losses and IoUs of stages with different
jitter are not comparable across the line. Prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def epoch_curve(run: Path) -> list[tuple[int, float, float]]:
    """``[(epoch, loss, mean batch IoU), ...]`` of a run folder."""
    losses, ious = {}, defaultdict(list)
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["kind"] == "epoch":
            losses[row["epoch"]] = row["loss"]
        elif row["kind"] == "step":
            ious[row["epoch"]].append(row["iou"])
    return [(e, losses[e], sum(ious[e]) / len(ious[e])) for e in sorted(losses) if ious[e]]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve, starts, offset = [], [], 0
    for stage, run in enumerate(argv[:-1], start=1):
        rows = epoch_curve(Path(run))
        starts.append(offset)
        curve.extend((stage, offset + e, loss, iou) for e, loss, iou in rows)
        offset += rows[-1][0]
    _, epochs, losses, ious = zip(*curve)
    fig, left = plt.subplots(figsize=(6, 3.5))
    left.plot(epochs, losses, color="tab:blue")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss", color="tab:blue")
    right = left.twinx()
    right.plot(epochs, ious, color="tab:red")
    right.set_ylabel("mean batch IoU", color="tab:red")
    for start in starts[1:]:
        left.axvline(start + 0.5, color="gray", linestyle=":")
    fig.tight_layout()
    fig.savefig(argv[-1], dpi=120)
    print("| stage | epoch | loss | batch IoU |\n|---:|---:|---:|---:|")
    for stage, e, loss, iou in curve:
        print(f"| {stage} | {e} | {loss:.3f} | {iou:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
