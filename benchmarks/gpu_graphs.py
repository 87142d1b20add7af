"""Issue 22's GPU rows: the read-out replayed as CUDA graphs (`seqtrack.runtime.cuda_graphs`) against eager
mode, in fp32 / fp16 / bf16 weights, for one target and batched targets, plus ONNX Runtime's CUDA provider.

    python benchmarks/gpu_graphs.py --out benchmarks/results/gpu            # a CUDA machine: about 3 min on an H200
    python benchmarks/gpu_graphs.py --device cpu --presets t128 --targets 1 2 --frames 4 --out /tmp/g   # smoke test

Every frame is timed end to end (crop on the host, network, boxes back on the host: the device is
synchronised by the copy of the tokens). Agreement: closed loop, every mode tracks the same video and is
compared with eager fp32 (share of frames with equal tokens, mean IoU of the boxes); open loop, the crops
eager fp32 saw replayed through each mode (share of frames whose four tokens are within one bin, and equal).
Graphs in fp32 run the same kernels as eager fp32, so their tokens must be equal. Random weights for the
paper presets (speed does not depend on them), the trained demo model for agreement. ``--device cpu``
records with `RerunCapture` (no GPU): it checks this script, its numbers mean nothing. Writes
``gpu_graphs.json`` and ``gpu_graphs.md`` after every section, so a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from gpu_speed import (  # benchmarks/ on sys.path
    RecordingPredictor,
    agreement,
    random_model,
    set_tf32,
    synchronize,
    track_run,
)
from seqtrack.bench.agreement import golden_tiny_config
from seqtrack.bench.video import SyntheticVideo
from seqtrack.config import TrackerConfig
from seqtrack.geometry.boxes import box_iou
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.cuda_graphs import GraphedPredictor, RerunCapture
from seqtrack.tracking.loop import track_frames
from seqtrack.tracking.tracker import Tracker

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def predictor(model: SeqTrack, mode: str):
    """``eager fp32`` (the model itself) or ``graphs <dtype>`` (a converted copy for fp16/bf16)."""
    kind, dtype = mode.split()
    net = model if dtype == "fp32" else SeqTrack(model.config).to(model.device).eval()
    if net is not model:
        net.load_state_dict(model.state_dict())
        net = net.to(DTYPES[dtype])
    if kind == "eager":
        return net
    capture = RerunCapture() if model.device.type == "cpu" else None
    return GraphedPredictor(net, capture=capture)


def closed_loop(run: dict, reference: dict) -> dict:
    """`gpu_speed.agreement` plus the mean IoU of the boxes to the reference run's."""
    result = agreement(run, reference)
    n = min(len(run["boxes"]), len(reference["boxes"]))
    a = np.asarray(run["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    b = np.asarray(reference["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    result["mean_iou"] = float(box_iou(a, b).mean())
    return result


def open_loop(model: SeqTrack, video: SyntheticVideo, frames: int, modes: list[str]) -> list[dict]:
    """The crops eager fp32 tracked replayed through each mode: tokens within one bin / equal, per frame."""
    recorder = RecordingPredictor(model)
    for _ in track_frames(Tracker(recorder, TrackerConfig()), video.frames(frames + 1), video.box(0, 0)):
        pass
    rows = []
    for mode in modes:
        net = predictor(model, mode)
        dtype = net.dtype
        diffs = []
        with torch.inference_mode():
            for (templates, search, window), reference in zip(recorder.inputs, recorder.tokens, strict=True):
                tokens, _ = net.generate(templates.to(dtype), search.to(dtype), window=window)
                diffs.append((tokens.cpu() - reference).abs().amax(dim=1))
        diff = torch.cat(diffs)
        rows.append(
            {
                "mode": mode,
                "frames": int(diff.numel()),
                "within_one_bin": float((diff <= 1).double().mean()),
                "tokens_equal": float((diff == 0).double().mean()),
            }
        )
    return rows


def golden_rows(golden: Path, device: torch.device) -> dict:
    """The tiny official network, graphed fp32 on ``device``: generated tokens against the official ones."""
    from seqtrack.model.weights import load_model

    model = load_model(golden / "tiny_official_checkpoint.pth.tar", config=golden_tiny_config(), device=device)
    data = torch.load(golden / "tiny_model.pt", weights_only=True)
    templates = torch.stack([data["templates"][0:1], data["templates"][1:2]], dim=1).to(device)
    graphed = predictor(model, "graphs fp32")
    result = {}
    for window, suffix in ((True, "window"), (False, "plain")):
        tokens, probs = graphed.generate(templates, data["search"].to(device), window=window)
        result[f"tokens_equal_{suffix}"] = bool(torch.equal(tokens.cpu(), data[f"generated_tokens_{suffix}"]))
        result[f"confidence_max_abs_diff_{suffix}"] = float(
            (probs.cpu().double() - data[f"generated_confidence_{suffix}"].double()).abs().max()
        )
    return result


def single_rows(args, video: SyntheticVideo, device: torch.device) -> list[dict]:
    """One target per preset and mode; agreement with eager fp32 on the same video."""
    rows = []
    for preset in args.presets:
        model = random_model(preset, device)
        reference = None
        for mode in args.modes:
            run = track_run(predictor(model, mode), video, 1, args.frames, args.warmup, args.max_seconds)
            reference = reference or run
            run.update(preset=preset, mode=mode, agreement=closed_loop(run, reference))
            print(f"{preset} {mode}: {run['fps']:.1f} fps ({run['median_ms']:.2f} ms)", flush=True)
            rows.append(run)
        del model
    return rows


def batched_rows(args, video: SyntheticVideo, device: torch.device) -> list[dict]:
    """Targets batched in one forward, first preset: target-frames per second."""
    rows = []
    model = random_model(args.presets[0], device)
    for mode in [m for m in args.modes if m != "graphs bf16"]:
        for count in args.targets:
            run = track_run(predictor(model, mode), video, count, max(10, args.frames // 4), 3, args.max_seconds)
            run.update(preset=args.presets[0], mode=mode, targets=count, target_frames_per_s=count * run["fps"])
            print(f"{mode} x{count}: {run['target_frames_per_s']:.0f} target-frames/s", flush=True)
            rows.append(run)
    return rows


def demo_rows(args, video: SyntheticVideo, device: torch.device) -> dict:
    """The trained demo model: closed loop (300 frames) and open loop, every mode against eager fp32."""
    from seqtrack.model.weights import load_model

    model = load_model(args.demo_weights, device=device)
    closed, reference = [], None
    for mode in args.modes:
        run = track_run(predictor(model, mode), video, 1, args.demo_frames, 0, 1e9)
        reference = reference or run
        closed.append({"mode": mode, "fps": run["fps"], "agreement": closed_loop(run, reference)})
    return {"closed_loop": closed, "open_loop": open_loop(model, video, args.demo_frames, args.modes[1:])}


def onnx_cuda_row(args, video: SyntheticVideo, device: torch.device) -> dict:
    """ONNX Runtime's CUDA provider on the first preset (random weights), or why it could not run."""
    try:
        import onnxruntime
    except ImportError:
        return {"available": False, "reason": "onnxruntime is not installed"}
    providers = onnxruntime.get_available_providers()
    if device.type != "cuda" or "CUDAExecutionProvider" not in providers:
        return {"available": False, "reason": f"providers here: {', '.join(providers)}"}
    import tempfile

    from seqtrack.runtime.onnx_providers import execution_providers
    from seqtrack.runtime.onnxruntime import OnnxPredictor, float32_copy, write_onnx

    model = random_model(args.presets[0], torch.device("cpu"))
    with tempfile.TemporaryDirectory() as folder:
        path = write_onnx(float32_copy(model), Path(folder) / "readout.onnx")
        ort = OnnxPredictor(path, providers=execution_providers(str(device)))
        run = track_run(ort, video, 1, args.frames, args.warmup, args.max_seconds)
        reference = track_run(model, video, 1, min(args.frames, 30), args.warmup, args.max_seconds)
    return {
        "available": True,
        "preset": args.presets[0],
        "fps": run["fps"],
        "median_ms": run["median_ms"],
        "agreement_with_cpu_fp32": closed_loop(run, reference),
    }


def markdown(report: dict) -> str:
    """The tables of ``gpu_graphs.md``."""
    meta = report["meta"]
    lines = [
        "# CUDA graphs (issue 22)",
        "",
        f"{meta['gpu']}, torch {meta['torch']}, CUDA {meta['cuda']}, {meta['date']}.",
    ]
    lines += ["Command: `" + meta["command"] + "`", ""]
    if "golden" in report:
        lines += ["Golden tiny network, graphed fp32: " + json.dumps(report["golden"]), ""]
    if report.get("single"):
        lines += [
            "| preset | mode | fps | median ms | p90 ms | tokens = eager fp32 | mean IoU to eager fp32 |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in report["single"]:
            a = r["agreement"]
            lines.append(
                f"| {r['preset']} | {r['mode']} | {r['fps']:.1f} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} "
                f"| {a['tokens_equal']:.3f} | {a['mean_iou']:.3f} |"
            )
        lines.append("")
    if report.get("batched"):
        lines += ["| preset | mode | targets | ms / frame | target-frames/s |", "|---|---|---:|---:|---:|"]
        for r in report["batched"]:
            lines.append(
                f"| {r['preset']} | {r['mode']} | {r['targets']} | {r['median_ms']:.2f} "
                f"| {r['target_frames_per_s']:.0f} |"
            )
        lines.append("")
    if report.get("demo"):
        lines += [
            "Demo model, closed loop against eager fp32 (fps, tokens equal, mean IoU); open loop (within one "
            "bin, equal):",
            "",
        ]
        lines += [
            f"- {r['mode']}: {r['fps']:.1f} fps, {r['agreement']['tokens_equal']:.3f}, {r['agreement']['mean_iou']:.3f}"
            for r in report["demo"]["closed_loop"]
        ]
        lines += [
            f"- open loop {r['mode']}: {r['within_one_bin']:.4f}, {r['tokens_equal']:.4f} ({r['frames']} frames)"
            for r in report["demo"]["open_loop"]
        ]
        lines.append("")
    if "onnxruntime_cuda" in report:
        lines += ["ONNX Runtime CUDA provider: " + json.dumps(report["onnxruntime_cuda"]), ""]
    return "\n".join(lines)


def write(report: dict, out: Path) -> None:
    strip = {"tokens", "boxes"}
    saved = {
        k: [{a: b for a, b in r.items() if a not in strip} for r in v] if isinstance(v, list) else v
        for k, v in report.items()
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_graphs.json").write_text(json.dumps(saved, indent=2) + "\n")
    (out / "gpu_graphs.md").write_text(markdown(report) + "\n")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--presets", nargs="+", default=["b256"])
    parser.add_argument("--modes", nargs="+", default=["eager fp32", "graphs fp32", "graphs fp16", "graphs bf16"])
    parser.add_argument("--targets", nargs="+", type=int, default=[1, 8, 16, 32, 64])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--golden", type=Path, default=Path("tests/golden"))
    parser.add_argument("--demo-weights", type=Path, default=Path("src/seqtrack/assets/seqtrack_demo.safetensors"))
    parser.add_argument("--demo-frames", type=int, default=300)
    return parser.parse_args()


def main() -> None:
    import sys

    args = parse_args()
    if args.modes[0] != "eager fp32":
        raise SystemExit("gpu_graphs.py: the first --modes entry must be 'eager fp32' (the reference)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_graphs.py: no CUDA device visible (--device cpu runs a smoke test)")
    device = torch.device(args.device)
    set_tf32(False)  # fp32 means fp32, for matmuls and the patch-embedding convolution alike
    report: dict = {
        "meta": {
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (smoke test, RerunCapture)",
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python " + " ".join(sys.argv),
        }
    }
    video = SyntheticVideo(640, 480, num_objects=max(args.targets), seed=0)
    sections = [
        ("golden", lambda: golden_rows(args.golden, device)),
        ("single", lambda: single_rows(args, video, device)),
        ("batched", lambda: batched_rows(args, video, device)),
        ("demo", lambda: demo_rows(args, video, device)),
        ("onnxruntime_cuda", lambda: onnx_cuda_row(args, video, device)),
    ]
    for name, section in sections:
        report[name] = section()
        synchronize()
        write(report, args.out)
    print(markdown(report))


if __name__ == "__main__":
    main()
