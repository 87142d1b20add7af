"""Issue 22 items 0-2: fp32 kernels, ``--fast`` and its agreement with fp32, on this CPU.

    .venv/bin/python benchmarks/fast_path.py speed                 # interleaved frame times, demo + b256
    .venv/bin/python benchmarks/fast_path.py fidelity --clips DIR  # agreement of --fast with fp32 (demo model)
    .venv/bin/python benchmarks/fast_path.py sensitivity --clips DIR   # which encoder layers int8 may touch

``DIR``: ``python -m seqtrack.data.synthetic DIR --sequences 10 --frames 120 --size 240 320 --split val
--seed 4001``. Writes ``benchmarks/results/fast_path/<command>.json`` and ``.md``.

speed: every variant tracks the same generated video in ONE process, frame by frame in turn, so load on
a shared machine hits them alike; "today" is torch fp32 eager on MKL (``kernel="mkl"``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seqtrack.bench.fidelity import (
    RecordingPredictor,
    demo_clip,
    got10k_clips,
    measure_fidelity,
    open_loop_share,
    replay,
    track_clip,
)
from seqtrack.bench.machine import machine_info
from seqtrack.bench.video import SyntheticVideo

OUT = Path(__file__).resolve().parent / "results" / "fast_path"


def _write(name: str, data: dict, lines: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _header(title: str, threads: int) -> tuple[dict, list[str]]:
    from seqtrack.runtime.cpu import cpu_features

    machine = machine_info(threads)
    machine["features"] = cpu_features().summary
    lines = [
        f"# {title}",
        "",
        f"- CPU: {machine['cpu']} ({machine['cores']} logical cores; {machine['features']}; torch "
        f"{machine['torch']}, onnxruntime {machine.get('onnxruntime')}); threads {threads}",
        f"- load average at start: {', '.join(f'{v:.2f}' for v in machine['load_average'])}",
        "",
    ]
    return machine, lines


# ---------------------------------------------------------------------------------------------- speed
def _variants(preset: str, threads: int) -> dict:
    from seqtrack.config import model_preset
    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.runtime.fast import make_fast_predictor

    def weights():
        if preset == "demo":
            return load_model("demo")
        torch.manual_seed(0)  # random weights: speed does not depend on them
        return SeqTrack(model_preset(preset)).eval()

    return {
        "today: torch fp32 (MKL)": make_predictor(weights(), threads=threads, kernel="mkl"),
        "default fp32 (kernel chosen)": make_predictor(weights(), threads=threads),
        "fast": make_predictor(weights(), threads=threads, fast=True),
        "int8 encoder (forced, unverified)": make_fast_predictor(weights(), threads, "int8-dynamic", verify=False),
    }


def speed(args) -> None:
    from seqtrack.config import TrackerConfig
    from seqtrack.runtime.kernels import OneDnnLinear
    from seqtrack.tracking.tracker import Tracker

    machine, lines = _header("Fast path speed (interleaved, one process per preset)", args.threads)
    lines += ["| preset | variant | median ms | fps | x today | frames |", "|---|---|---:|---:|---:|---:|"]
    data = {"machine": machine, "rows": []}
    for preset in args.presets.split(","):
        variants = _variants(preset, args.threads)
        frames = args.frames if preset == "demo" else args.large_frames
        video = SyntheticVideo(640, 480, num_objects=1, seed=0)
        trackers = {name: Tracker(p, TrackerConfig()) for name, p in variants.items()}
        times = {name: [] for name in trackers}
        for index, frame in video.frames(frames + 3):
            for name, tracker in trackers.items():
                tick = time.perf_counter()
                tracker.init(frame, video.box(0, 0)) if index == 0 else tracker.track(frame)
                if index >= 3:  # two warm-up frames
                    times[name].append(1000 * (time.perf_counter() - tick))
        base = statistics.median(times["today: torch fp32 (MKL)"])
        for name, values in times.items():
            p = variants[name]
            detail = getattr(getattr(p, "plan", None), "name", None) or (
                "oneDNN" if any(isinstance(m, OneDnnLinear) for m in p.modules()) else "MKL"
            )
            ms = statistics.median(values)
            lines.append(
                f"| {preset} | {name} ({detail}) | {ms:.2f} | {1000 / ms:.1f} | {base / ms:.2f}x | {len(values)} |"
            )
            data["rows"].append(dict(preset=preset, variant=name, detail=detail, median_ms=ms, times_ms=values))
    lines += ["", f"- load average at end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    _write(args.name or f"speed_{args.threads}threads", data, lines)


# ---------------------------------------------------------------------------------------------- fidelity
def fidelity(args) -> None:
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.runtime.fast import make_fast_predictor
    from seqtrack.tracking.tracker import Tracker

    torch.set_num_threads(args.threads)
    machine, lines = _header("Agreement of the fast path with torch fp32 (trained demo model)", args.threads)
    reference = Tracker.from_pretrained("demo", threads=args.threads)
    candidates = {
        "fast": make_predictor("demo", threads=args.threads, fast=True),
        "fp32 oneDNN forced": make_predictor("demo", threads=args.threads, kernel="onednn"),
    }
    for plan in args.plans.split(","):
        model = load_model("demo")
        candidates[f"{plan} (forced, unverified)"] = make_fast_predictor(model, args.threads, plan, verify=False)
    generated = got10k_clips(args.clips, args.count)
    rows = measure_fidelity(reference.model, candidates, reference.config, generated, [demo_clip()])
    lines += [
        f"- clips: {len(generated)} generated ({args.clips}), plus the real demo clip bikes.mp4 from frame 76",
        "",
        "| variant | open-loop frames | within 1 bin | identical | AUC | AUC fp32 | diff [95% CI] | IoU to fp32 real "
        "| IoU to fp32 generated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.frames_open_loop} | {100 * r.open_loop_share:.2f}% | {100 * r.open_loop_exact:.1f}% | "
            f"{r.auc:.2f} | {r.auc_fp32:.2f} | {r.auc_difference:+.2f} [{r.auc_low:+.2f}, {r.auc_high:+.2f}] | "
            f"{r.iou_to_fp32_real:.3f} | {r.iou_to_fp32_generated:.3f} |"
            if not r.error
            else f"| {r.label} | failed: {r.error} ||||||||"
        )
    _write(args.out_name or "fidelity", {"machine": machine, "rows": [r.__dict__ for r in rows]}, lines)


# ---------------------------------------------------------------------------------------------- sensitivity
def _recorded_calls(args, model):
    """The fp32 tracker's network calls on the clips (and bikes.mp4), and their tokens."""
    from seqtrack.tracking.tracker import Tracker

    config = Tracker.from_pretrained("demo", threads=args.threads).config
    recorder = RecordingPredictor(model)
    for clip in got10k_clips(args.clips, args.count) + [demo_clip(args.real_frames)]:
        track_clip(recorder, config, clip)
    return recorder.calls, np.concatenate([c.tokens for c in recorder.calls])


def sensitivity_bf16(args) -> None:
    """Per-layer bf16 sensitivity: each encoder linear alone in bf16 (`Bf16Linear`, fp32 out), open loop."""
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.cpu import cpu_features
    from seqtrack.runtime.fast import FastPlan, FastPredictor, use_bf16_linears

    torch.set_num_threads(args.threads)
    machine, lines = _header("Per-layer bf16 sensitivity (trained demo model, open loop)", args.threads)
    model = load_model("demo")
    calls, reference = _recorded_calls(args, model)
    names = [n for n, m in model.encoder.named_modules() if type(m) is torch.nn.Linear]
    predictor = FastPredictor(model, FastPlan("study", ""))
    rows = []

    def fp32_kept(*suffixes: str) -> list[str]:
        return [n for n in names if n.endswith(suffixes)]

    variants = [("all encoder linears bf16", [])]
    variants += [(f"only {n} bf16", [x for x in names if x != n]) for n in names]
    variants += [  # by kind of layer (share of the encoder's linear FLOPs: qkv 25 %, proj 8 %, fc1 and fc2 33 % each)
        ("every proj, fc1, fc2 (qkv fp32)", fp32_kept("attn.qkv")),
        ("every proj and fc2 (qkv, fc1 fp32)", fp32_kept("attn.qkv", "mlp.fc1")),
        ("every fc2 (qkv, proj, fc1 fp32)", fp32_kept("attn.qkv", "attn.proj", "mlp.fc1")),
    ]
    for label, keep in variants:
        use_bf16_linears(model.encoder, keep)
        tokens = replay(predictor, calls)
        use_bf16_linears(model.encoder, restore=True)
        rows.append((label, open_loop_share(reference, tokens), open_loop_share(reference, tokens, tolerance=0)))
        print(*rows[-1], flush=True)
    lines += [
        f"- open-loop frames: {len(calls)} (fp32 tracker's crops on {args.count} generated clips + bikes.mp4); "
        f"bf16 {'native' if cpu_features().bf16 else 'emulated (no bf16 instructions on this CPU)'}",
        "",
        "| bf16 layers (encoder.*) | within 1 bin | identical |",
        "|---|---:|---:|",
    ]
    lines += [f"| {n} | {100 * a:.2f}% | {100 * b:.1f}% |" for n, a, b in rows]
    _write("sensitivity_bf16", {"machine": machine, "frames": len(calls), "rows": rows}, lines)


def sensitivity(args) -> None:
    from seqtrack.model.weights import load_model
    from seqtrack.runtime.encoder_onnx import OnnxEncoder, matmul_nodes, quantize_encoder, write_encoder_onnx
    from seqtrack.runtime.fast import FastPlan, FastPredictor

    torch.set_num_threads(args.threads)
    machine, lines = _header("Per-layer int8 sensitivity (trained demo model, open loop)", args.threads)
    model = load_model("demo")
    from seqtrack.tracking.tracker import Tracker

    config = Tracker.from_pretrained("demo", threads=args.threads).config
    recorder = RecordingPredictor(model)
    for clip in got10k_clips(args.clips, args.count) + [demo_clip(args.real_frames)]:
        track_clip(recorder, config, clip)
    calls, reference = recorder.calls, np.concatenate([c.tokens for c in recorder.calls])
    calibration = [(c.templates, c.search) for c in calls[:: max(len(calls) // 48, 1)]]
    plan = FastPlan("study", "")

    def score(path) -> tuple[float, float]:
        tokens = replay(FastPredictor(model, plan, OnnxEncoder(path, threads=args.threads)), calls)
        return open_loop_share(reference, tokens), open_loop_share(reference, tokens, tolerance=0)

    rows = []
    with tempfile.TemporaryDirectory() as work:
        source = write_encoder_onnx(model, Path(work) / "enc.onnx")
        modules = sorted(set(matmul_nodes(source).values()))
        rows.append(("fp32 (ONNX Runtime)", score(source), score(source)))
        for name, keep in [("all layers int8", [])] + [
            (f"only {m} int8", [x for x in modules if x != m]) for m in modules
        ]:
            dynamic = score(quantize_encoder(source, Path(work) / "d.onnx", keep))
            static = score(quantize_encoder(source, Path(work) / "s.onnx", keep, calibration))
            rows.append((name, dynamic, static))
            print(name, dynamic, static, flush=True)
    lines += [
        f"- open-loop frames: {len(calls)} (fp32 tracker's crops on {args.count} generated clips + bikes.mp4)",
        "",
        "| int8 layers | dynamic: within 1 bin | dynamic: identical | static: within 1 bin | static: identical |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {n} | {100 * d[0]:.2f}% | {100 * d[1]:.1f}% | {100 * s[0]:.2f}% | {100 * s[1]:.1f}% |" for n, d, s in rows
    ]
    _write("sensitivity", {"machine": machine, "frames": len(calls), "rows": rows}, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("speed", "fidelity", "sensitivity", "sensitivity-bf16"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--presets", default="demo,b256")
    parser.add_argument("--frames", type=int, default=60, help="timed frames for the demo model")
    parser.add_argument("--large-frames", type=int, default=8, help="timed frames for b256")
    parser.add_argument("--name", default=None, help="speed: result file name (default speed_<threads>threads)")
    parser.add_argument("--clips", default=None, help="generated clips (GOT-10k layout) for fidelity/sensitivity")
    parser.add_argument("--count", type=int, default=10, help="clips to use")
    parser.add_argument("--real-frames", type=int, default=None, help="frames of bikes.mp4 (sensitivity)")
    parser.add_argument(
        "--plans",
        default="int8-dynamic,int8-static",
        help="fidelity: lower-precision plans forced on this CPU (bf16-mixed runs emulated where the CPU lacks bf16)",
    )
    parser.add_argument("--out-name", default=None, help="fidelity: result file name (default fidelity)")
    args = parser.parse_args(argv)
    if args.command != "speed" and not args.clips:
        parser.error(f"{args.command} needs --clips DIR")
    commands = {"speed": speed, "fidelity": fidelity, "sensitivity": sensitivity, "sensitivity-bf16": sensitivity_bf16}
    commands[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
