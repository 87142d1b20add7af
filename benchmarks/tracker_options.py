"""Compare tracker settings (`TrackerConfig` fields) for one network on a GOT-10k-layout set.

    python benchmarks/tracker_options.py WEIGHTS DATA_DIR OUT_DIR 'official={}' \
        'wp4={"window_power": 4}' 'wp4_ss07={"window_power": 4, "size_smoothing": 0.7}'

Each ``NAME=JSON`` runs the tracker over every sequence of ``DATA_DIR`` (one thread) and scores it:
AUC = success rate averaged over the 21 IoU thresholds 0, 0.05, ..., 1 (frames after the first; the
per-sequence values averaged), and the mean IoU. Writes ``OUT_DIR/tracker_options.json`` (per-sequence
IoUs too) and ``OUT_DIR/tracker_options.md``. Settings already in the JSON are not run again, so the
command can be extended and re-run. Meant for the validation split, never the held-out test set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seqtrack.evaluate.benchmarks import get_benchmark
from seqtrack.evaluate.metrics import iou_clipped
from seqtrack.evaluate.runner import track_sequence
from seqtrack.tracking.tracker import Tracker

THRESHOLDS = np.linspace(0.0, 1.0, 21)


def track_set(weights: Path, root: Path, options: dict) -> dict[str, list[float]]:
    """Per-sequence IoU lists ``{sequence: [iou of frame 0, 1, ...]}`` of one setting."""
    tracker = Tracker.from_pretrained(weights, **options)
    out = {}
    for seq in get_benchmark("got10k_val", root).sequences():
        boxes = track_sequence(tracker, seq).boxes
        out[seq.name] = np.asarray(iou_clipped(boxes, seq.boxes)).tolist()
    return out


def score(per_sequence: dict[str, list[float]]) -> tuple[float, float]:
    """``(AUC in %, mean IoU)`` over sequences, first frames left out."""
    aucs, means = [], []
    for ious in per_sequence.values():
        iou = np.asarray(ious[1:])
        aucs.append(np.mean([(iou > t).mean() for t in THRESHOLDS]))
        means.append(iou.mean())
    return 100.0 * float(np.mean(aucs)), float(np.mean(means))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", type=Path)
    parser.add_argument("data", type=Path, help="GOT-10k-layout folder (e.g. a generated val split)")
    parser.add_argument("out", type=Path)
    parser.add_argument("settings", nargs="+", metavar="NAME=JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = {}
    for item in args.settings:
        name, sep, text = item.partition("=")
        if not sep:
            parser.error(f"{item!r}: expected NAME=JSON, e.g. 'wp4={{\"window_power\": 4}}'")
        try:
            settings[name] = json.loads(text)
        except json.JSONDecodeError as error:
            parser.error(f"{item!r}: the options are not JSON ({error})")
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "tracker_options.json"
    results = json.loads(store.read_text()) if store.is_file() else {}
    for name, options in settings.items():
        if name in results and results[name]["options"] == options:
            continue
        start = time.perf_counter()
        per_sequence = track_set(args.weights, args.data, options)
        auc, mean_iou = score(per_sequence)
        results[name] = {
            "options": options,
            "auc": auc,
            "mean_iou": mean_iou,
            "seconds": time.perf_counter() - start,
            "sequences": per_sequence,
        }
        store.write_text(json.dumps(results))
        print(f"{name}: AUC {auc:.1f}, mean IoU {mean_iou:.3f}  {options}", flush=True)
    lines = [
        f"Weights `{args.weights}`, data `{args.data}` ({len(next(iter(results.values()))['sequences'])} sequences)",
        "",
        "| setting | options | AUC | mean IoU |",
        "|---|---|---:|---:|",
    ]
    for name, entry in results.items():
        lines.append(f"| {name} | `{json.dumps(entry['options'])}` | {entry['auc']:.1f} | {entry['mean_iou']:.3f} |")
    (args.out / "tracker_options.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
