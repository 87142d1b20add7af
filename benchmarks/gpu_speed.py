"""GPU figures: tracker frames/s end to end (crop -> network -> box) for the four paper variants in each
precision, cost per target, agreement with fp32, the golden tiny network on the GPU, and training
samples/s of one optimisation step. Needs a CUDA device; writes ``gpu_speed.json`` and ``gpu_speed.md``.

    python benchmarks/gpu_speed.py --out benchmarks/results/gpu --golden tests/golden \
        --demo-weights src/seqtrack/assets/seqtrack_demo.safetensors

Precisions: ``fp32`` (TF32 off for matmul and cuDNN: true fp32), ``tf32`` (TF32 on),
``fp16-autocast`` / ``bf16-autocast`` (fp32 weights under ``torch.autocast``), ``bf16`` (converted
weights), and ``fp16-autocast compiled`` (the encoder through ``torch.compile``). Every tracked frame
ends with the boxes on the host, so a frame's time includes the device synchronisation. Random weights
for the paper variants (speed does not depend on them); agreement is measured against the fp32 run
of the same weights on the same video. Each section writes the files again, so a run stopped early
keeps what it measured.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from gpu_report import markdown  # benchmarks/gpu_report.py: run as a script, this folder is on sys.path
from seqtrack.bench.agreement import golden_tiny_config
from seqtrack.bench.flops import frame_flops
from seqtrack.bench.video import SyntheticVideo
from seqtrack.config import TrackerConfig, model_preset
from seqtrack.geometry.boxes import box_iou
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.torch_predictor import TorchPredictor
from seqtrack.tracking.loop import track_frames
from seqtrack.tracking.tracker import Tracker

MODES = ("fp32", "tf32", "fp16-autocast", "bf16-autocast", "bf16")


def set_tf32(enabled: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_mib() -> float:
    """Peak GPU memory allocated since `reset_peak` (0 without CUDA: the ``--device cpu`` smoke run)."""
    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0


def predictor_for(model: SeqTrack, mode: str, compile: bool = False):
    """A predictor running ``model`` (fp32, on the GPU) in ``mode``; a bf16 copy for ``bf16``."""
    set_tf32(mode == "tf32")
    if mode == "bf16":
        return _copy_bf16(model)
    autocast = {"fp16-autocast": torch.float16, "bf16-autocast": torch.bfloat16}.get(mode)
    if autocast is None and not compile:
        return model
    return TorchPredictor(model, autocast_dtype=autocast, compile=compile)


def _copy_bf16(model: SeqTrack) -> SeqTrack:
    """A bf16 copy; the fp32 model stays as it is for the other precisions."""
    return copy.deepcopy(model).to(torch.bfloat16).eval()


def track_run(predictor, video: SyntheticVideo, targets: int, frames: int, warmup: int, max_seconds: float) -> dict:
    """Track ``targets`` objects for ``warmup + frames`` frames; per-frame latency of the timed ones."""
    tracker = Tracker(predictor, TrackerConfig())
    latencies, tokens, boxes = [], [], []
    first = began = None
    for step in track_frames(tracker, video.frames(warmup + frames + 1), video.boxes(0, targets), many=True):
        if step.first:
            # The budget and the peak memory count tracking only, not building the templates.
            synchronize()
            reset_peak()
            began = time.perf_counter()
            continue
        first = step.seconds if first is None else first
        tokens.append(step.result.tokens.tolist())
        boxes.append(step.result.boxes.tolist())
        if step.index > warmup:
            latencies.append(1000.0 * step.seconds)
        if time.perf_counter() - began > max_seconds and len(latencies) >= 20:
            break
    median = statistics.median(latencies)
    return {
        "median_ms": median,
        "p90_ms": float(np.percentile(latencies, 90)),
        "fps": 1000.0 / median,
        "frames_timed": len(latencies),
        "first_frame_s": first,
        "peak_gpu_mib": peak_mib(),
        "tokens": tokens,
        "boxes": boxes,
    }


def agreement(run: dict, reference: dict) -> dict:
    """Share of frames (x targets) whose tokens equal the reference's / whose box IoU >= 0.99."""
    n = min(len(run["boxes"]), len(reference["boxes"]))
    a = np.asarray(run["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    b = np.asarray(reference["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    same_tokens = [x == y for fx, fy in zip(run["tokens"][:n], reference["tokens"][:n]) for x, y in zip(fx, fy)]
    return {
        "compared": int(a.shape[0]),
        "iou_ge_099": float(np.mean(box_iou(a, b) >= 0.99)),
        "tokens_equal": float(np.mean(same_tokens)),
    }


class RecordingPredictor:
    """Runs ``model`` (fp32) and keeps every input it is given, to replay the same crops in other precisions."""

    def __init__(self, model: SeqTrack) -> None:
        self.model, self.config = model, model.config
        self.device, self.dtype = model.pos_embed.device, model.pos_embed.dtype
        self.inputs: list[tuple[torch.Tensor, torch.Tensor, bool | float]] = []
        self.tokens: list[torch.Tensor] = []

    def generate(self, templates, search, window=True):
        self.inputs.append((templates.clone(), search.clone(), window))
        tokens, probs = self.model.generate(templates, search, window=window)
        self.tokens.append(tokens.cpu())
        return tokens, probs


def open_loop(model: SeqTrack, video: SyntheticVideo, frames: int, modes: list[str]) -> list[dict]:
    """Per-frame agreement on identical inputs: the fp32 tracker's crops replayed through each precision.

    A tracked video compounds differences (a one-bin change moves the next crop, and the runs drift
    apart); this isolates one forward pass. Returns per mode: share of frames with all four tokens
    equal, and the largest / mean absolute token difference in bins.
    """
    recorder = RecordingPredictor(model)
    for _ in track_frames(Tracker(recorder, TrackerConfig()), video.frames(frames + 1), video.box(0, 0)):
        pass  # the recorder keeps what each frame gave the network
    rows = []
    for mode in modes:
        predictor = predictor_for(model, mode)
        dtype = getattr(predictor, "dtype", torch.float32)
        diffs = []
        with torch.inference_mode():
            for (templates, search, window), reference in zip(recorder.inputs, recorder.tokens):
                tokens, _ = predictor.generate(templates.to(dtype), search.to(dtype), window=window)
                diffs.append((tokens.cpu() - reference).abs())
        diff = torch.cat(diffs).double()
        rows.append(
            {
                "mode": mode,
                "frames": len(diffs),
                "tokens_equal": float((diff.amax(1) == 0).double().mean()),
                "max_abs_token_diff": float(diff.max()),
                "mean_abs_token_diff": float(diff.mean()),
            }
        )
    set_tf32(False)
    return rows


def random_model(preset: str, device: torch.device) -> SeqTrack:
    torch.manual_seed(0)
    return SeqTrack(model_preset(preset)).to(device).eval()


def golden_on_device(golden: Path, device: torch.device) -> dict:
    """The tiny official network on ``device``: differences from the official CPU outputs."""
    from seqtrack.model.weights import load_model

    set_tf32(False)
    config = golden_tiny_config()
    model = load_model(golden / "tiny_official_checkpoint.pth.tar", config=config, device=device)
    data = torch.load(golden / "tiny_model.pt", weights_only=True)
    templates = [data["templates"][0:1].to(device), data["templates"][1:2].to(device)]
    search = data["search"].to(device)
    with torch.inference_mode():
        encoder = model.forward_encoder(templates, search).cpu()
        logits = model(templates, search, data["teacher_forced_sequence"].to(device)).cpu()
        result = {
            "encoder_max_abs_diff": float((encoder - data["encoder_out"]).abs().max()),
            "logits_max_abs_diff": float((logits - data["teacher_forced_logits"]).abs().max()),
        }
        for window, suffix in ((True, "window"), (False, "plain")):
            tokens, probs = model.generate(templates, search, window=window)
            result[f"tokens_equal_{suffix}"] = bool(torch.equal(tokens.cpu(), data[f"generated_tokens_{suffix}"]))
            result[f"confidence_max_abs_diff_{suffix}"] = float(
                (probs.cpu().double() - data[f"generated_confidence_{suffix}"].double()).abs().max()
            )
    track = dict(np.load(golden / "tiny_tracker.npz"))
    tracker = Tracker(
        model,
        TrackerConfig(
            template_factor=float(track["template_factor"]),
            search_factor=float(track["search_factor"]),
            window=bool(track["window"]),
            update_interval=int(track["update_interval"]),
            update_threshold=float(track["update_threshold"]),
        ),
    )
    frames = len(track["frames"])
    same_tokens = same_updates = 0
    box_diff = score_rel = 0.0
    for step in track_frames(tracker, enumerate(track["frames"]), track["init_box"]):
        if step.first:
            continue  # frame 0 gives the box: nothing to compare
        i, r = step.index, step.result
        same_tokens += r.tokens.tolist() == track["tokens"][i].tolist()
        same_updates += r.template_updated == bool(track["updated"][i])
        box_diff = max(box_diff, float(np.abs(r.box - track["boxes"][i]).max()))
        score_rel = max(score_rel, float(abs(r.score - track["scores"][i]) / abs(track["scores"][i])))
    result.update(
        {
            "tracker_frames": frames - 1,
            "tracker_tokens_equal": same_tokens,
            "tracker_updates_equal": same_updates,
            "tracker_box_max_abs_diff_px": box_diff,
            "tracker_score_max_rel_diff": score_rel,
        }
    )
    return result


def train_rows(presets: list[tuple[str, int]], device: torch.device, steps: int) -> list[dict]:
    """Samples/s of `TrainStep` (what `seqtrack train` runs) for (preset, batch) in fp32, TF32 and bf16 autocast."""
    from train_speed import Setting, measure  # benchmarks/ is on sys.path when this file is run

    rows = []
    for preset, batch in presets:
        for label, amp, tf32 in (("fp32", "off", False), ("tf32", "off", True), ("bf16 autocast", "bf16", False)):
            set_tf32(tf32)
            reset_peak()
            row = measure(Setting(preset, batch, amp, steps, warmup=3), device)
            synchronize()
            row.update(precision=label, peak_gpu_mib=peak_mib())
            print(f"train {preset} batch {batch} {label}: {row['samples_per_s']:.1f} samples/s", flush=True)
            rows.append(row)
    return rows


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("tokens", "boxes")} for r in rows]


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    saved = {k: _strip(v) if isinstance(v, list) else v for k, v in report.items()}
    (out / "gpu_speed.json").write_text(json.dumps(saved, indent=2) + "\n")
    (out / "gpu_speed.md").write_text(markdown(report))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu"))
    parser.add_argument(
        "--presets", nargs="*", default=["b256", "b384", "l256", "l384"], help="none: skip tracking speed"
    )
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--compile-presets", nargs="*", default=["b256"], help="also time fp16-autocast compiled")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=8.0, help="per case, after warm-up")
    parser.add_argument("--golden", type=Path, help="folder with the golden files (checks the tiny network on the GPU)")
    parser.add_argument("--demo-weights", type=Path, help="trained demo weights: agreement over 300 frames")
    parser.add_argument("--targets", nargs="*", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--train", nargs="*", default=["t128:64", "b256:32", "l256:16"], help="PRESET:BATCH")
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu only for a smoke test of this script")
    return parser.parse_args()


def tracking_rows(args: argparse.Namespace, video: SyntheticVideo, device: torch.device, report: dict) -> None:
    """One target per preset and precision (plus compiled fp16 where asked), agreement with fp32."""
    report["tracking"] = []
    for preset in args.presets:
        model = random_model(preset, device)
        reference = None
        cases = [(m, False) for m in args.modes] + ([("fp16-autocast", True)] if preset in args.compile_presets else [])
        for mode, compiled in cases:
            run = track_run(predictor_for(model, mode, compiled), video, 1, args.frames, args.warmup, args.max_seconds)
            run.update(
                preset=preset, mode=mode + (" compiled" if compiled else ""), gflop=frame_flops(model.config) / 1e9
            )
            if mode == "fp32" and not compiled:
                reference = run
            run["agreement"] = agreement(run, reference) if reference is not None and run is not reference else None
            print(f"track {preset} {run['mode']}: {run['fps']:.1f} fps ({run['median_ms']:.2f} ms)", flush=True)
            report["tracking"].append(run)
            write(report, args.out)
        del model


def demo_rows(args: argparse.Namespace, video: SyntheticVideo, device: torch.device, report: dict) -> None:
    """The trained demo model over 300 frames in each precision, on the GPU and the CPU, closed and open loop."""
    from seqtrack.model.weights import load_model

    model = load_model(args.demo_weights, device=device)
    report["demo"] = []
    reference = None
    for mode in args.modes[:4]:
        run = track_run(predictor_for(model, mode), video, 1, 300, 0, 1e9)
        reference = reference or run
        run.update(mode=mode, agreement=agreement(run, reference))
        report["demo"].append(run)
    cpu = track_run(load_model(args.demo_weights, device="cpu"), video, 1, 300, 0, 1e9)
    report["demo"].append(
        {"mode": "CPU fp32 (same 300 frames)", "fps": cpu["fps"], "agreement": agreement(cpu, report["demo"][0])}
    )
    report["demo_open_loop"] = open_loop(model, video, 300, args.modes[1:4])
    write(report, args.out)


def target_rows(args: argparse.Namespace, video: SyntheticVideo, device: torch.device, report: dict) -> None:
    """Cost of 1..N targets batched in one forward, fp32 and fp16 autocast, with the first preset."""
    report["targets"] = []
    model = random_model(args.presets[0], device) if args.presets and args.targets else None
    for mode in [m for m in ("fp32", "fp16-autocast") if m in args.modes and model is not None]:
        for count in args.targets:
            run = track_run(predictor_for(model, mode), video, count, 40, 5, args.max_seconds)
            run.update(mode=mode, targets=count)
            report["targets"].append(run)
            print(f"targets {args.presets[0]} {mode} x{count}: {run['median_ms']:.2f} ms", flush=True)
        write(report, args.out)


def main() -> None:
    args = parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_speed.py: no CUDA device visible (--device cpu runs a smoke test)")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (smoke test)"
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report: dict = {
        "meta": {
            "gpu": name,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "date": date,
            "warmup": args.warmup,
        }
    }
    if args.golden:
        report["golden"] = golden_on_device(args.golden, device)
        print("golden:", report["golden"], flush=True)
        write(report, args.out)
    video = SyntheticVideo(640, 480, num_objects=max(args.targets + [1]), seed=0)
    tracking_rows(args, video, device, report)
    if args.demo_weights:
        demo_rows(args, video, device, report)
    target_rows(args, video, device, report)
    rows = [(p.split(":")[0], int(p.split(":")[1])) for p in args.train]
    if rows:
        report["train"] = train_rows(rows, device, args.train_steps)
    write(report, args.out)
    print(markdown(report))


if __name__ == "__main__":
    main()
