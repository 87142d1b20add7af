"""GPU figures: tracker frames/s end to end (crop -> network -> box) for the four paper variants in each
precision, cost per target, agreement with fp32, the golden tiny network on the GPU, and training
samples/s of one optimisation step. Needs a CUDA device; writes ``gpu_speed.json`` and ``gpu_speed.md``.

    python benchmarks/gpu_speed.py --out benchmarks/results/gpu --golden ../shared/golden \
        --demo-weights assets/demo/seqtrack_demo.safetensors

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

from seqtrack.config import TrackerConfig, model_preset
from seqtrack.export.backends import TorchPredictor
from seqtrack.export.bench import SyntheticVideo, box_iou, frame_flops, golden_tiny_config
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.tracking.tracker import Tracker

PAPER_FPS = {"b256": 40, "b384": 15, "l256": 15, "l384": 5}  # paper Tab. 1, one RTX 2080 Ti
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
    tracker.init(video.frame(0), [video.box(0, k) for k in range(targets)])
    synchronize()
    reset_peak()
    latencies, tokens, boxes = [], [], []
    first = None
    began = time.perf_counter()
    for index in range(1, warmup + frames + 1):
        image = video.frame(index)
        tick = time.perf_counter()
        out = tracker.track(image)
        elapsed = time.perf_counter() - tick
        out = out if isinstance(out, list) else [out]
        first = elapsed if first is None else first
        tokens.append([r.tokens.tolist() for r in out])
        boxes.append([r.box.tolist() for r in out])
        if index > warmup:
            latencies.append(1000.0 * elapsed)
        if time.perf_counter() - began > max_seconds and len(latencies) >= 20:
            break
    median = statistics.median(latencies)
    return {"median_ms": median, "p90_ms": float(np.percentile(latencies, 90)), "fps": 1000.0 / median,
            "frames_timed": len(latencies), "first_frame_s": first,
            "peak_gpu_mib": peak_mib(), "tokens": tokens, "boxes": boxes}


def agreement(run: dict, reference: dict) -> dict:
    """Share of frames (x targets) whose tokens equal the reference's / whose box IoU >= 0.99."""
    n = min(len(run["boxes"]), len(reference["boxes"]))
    a = np.asarray(run["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    b = np.asarray(reference["boxes"][:n], dtype=np.float64).reshape(-1, 4)
    same_tokens = [x == y for fx, fy in zip(run["tokens"][:n], reference["tokens"][:n]) for x, y in zip(fx, fy)]
    return {"compared": int(a.shape[0]), "iou_ge_099": float(np.mean(box_iou(a, b) >= 0.99)),
            "tokens_equal": float(np.mean(same_tokens))}


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
    tracker = Tracker(recorder, TrackerConfig())
    tracker.init(video.frame(0), video.box(0, 0))
    for index in range(1, frames + 1):
        tracker.track(video.frame(index))
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
        rows.append({"mode": mode, "frames": len(diffs), "tokens_equal": float((diff.amax(1) == 0).double().mean()),
                     "max_abs_token_diff": float(diff.max()), "mean_abs_token_diff": float(diff.mean())})
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
        result = {"encoder_max_abs_diff": float((encoder - data["encoder_out"]).abs().max()),
                  "logits_max_abs_diff": float((logits - data["teacher_forced_logits"]).abs().max())}
        for window, suffix in ((True, "window"), (False, "plain")):
            tokens, probs = model.generate(templates, search, window=window)
            result[f"tokens_equal_{suffix}"] = bool(torch.equal(tokens.cpu(), data[f"generated_tokens_{suffix}"]))
            result[f"confidence_max_abs_diff_{suffix}"] = float(
                (probs.cpu().double() - data[f"generated_confidence_{suffix}"].double()).abs().max())
    track = dict(np.load(golden / "tiny_tracker.npz"))
    tracker = Tracker(model, TrackerConfig(template_factor=float(track["template_factor"]),
                                           search_factor=float(track["search_factor"]), window=bool(track["window"]),
                                           update_interval=int(track["update_interval"]),
                                           update_threshold=float(track["update_threshold"])))
    tracker.init(track["frames"][0], track["init_box"])
    frames = len(track["frames"])
    same_tokens = same_updates = 0
    box_diff = score_rel = 0.0
    for i in range(1, frames):
        r = tracker.track(track["frames"][i])
        same_tokens += r.tokens.tolist() == track["tokens"][i].tolist()
        same_updates += r.template_updated == bool(track["updated"][i])
        box_diff = max(box_diff, float(np.abs(r.box - track["boxes"][i]).max()))
        score_rel = max(score_rel, float(abs(r.score - track["scores"][i]) / abs(track["scores"][i])))
    result.update({"tracker_frames": frames - 1, "tracker_tokens_equal": same_tokens, "tracker_updates_equal": same_updates,
                   "tracker_box_max_abs_diff_px": box_diff, "tracker_score_max_rel_diff": score_rel})
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


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [f"# GPU speed: {meta['gpu']}", "",
             f"torch {meta['torch']} (CUDA {meta['cuda']}), {meta['date']}; frames 640x480, synthetic video "
             f"(`seqtrack.export.bench.SyntheticVideo`); median of the timed frames after {meta['warmup']} warm-up "
             "frames; a frame = crop, normalise, network, four greedy steps, box back on the host. "
             "Produced by `python benchmarks/gpu_speed.py`.", ""]
    if report.get("golden"):
        g = report["golden"]
        lines += ["## Golden tiny network on the GPU (fp32, TF32 off)", "",
                  "| check | tolerance (golden README) | measured |", "|---|---|---|",
                  f"| encoder_out | 1e-4 | max abs diff {g['encoder_max_abs_diff']:.2g} |",
                  f"| teacher-forced logits | 1e-4 | max abs diff {g['logits_max_abs_diff']:.2g} |",
                  f"| generated tokens window / plain | exact | {g['tokens_equal_window']} / {g['tokens_equal_plain']} |",
                  f"| confidences window / plain | 1e-5 | {g['confidence_max_abs_diff_window']:.2g} / "
                  f"{g['confidence_max_abs_diff_plain']:.2g} |",
                  f"| tracker tokens / updates ({g['tracker_frames']} frames) | exact | {g['tracker_tokens_equal']} / "
                  f"{g['tracker_updates_equal']} equal |",
                  f"| tracker boxes | 0.01 px | max {g['tracker_box_max_abs_diff_px']:.2g} px |",
                  f"| tracker scores | 1e-4 rel | max {g['tracker_score_max_rel_diff']:.2g} rel |", ""]
    if report.get("tracking"):
        lines += ["## Tracking, one target", "",
                  "| network | precision | GFLOP/frame | median ms | p90 ms | fps | paper fps (2080 Ti) | peak GPU MiB "
                  "| tokens = fp32 | IoU>=0.99 vs fp32 | first frame s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["tracking"]:
            agree = r.get("agreement") or {}
            lines.append(f"| {r['preset']} | {r['mode']} | {r['gflop']:.0f} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | "
                         f"{r['fps']:.1f} | {PAPER_FPS.get(r['preset'], '')} | {r['peak_gpu_mib']:.0f} | "
                         f"{_pct(agree.get('tokens_equal'))} | {_pct(agree.get('iou_ge_099'))} | {r['first_frame_s']:.2f} |")
        lines += ["", "The agreement columns here come from random weights, whose answers barely depend on the image: "
                  "they catch gross errors only. The trained demo model below is the real test.", ""]
    if report.get("demo"):
        when = f" (measured in a second run, {meta['demo_date']})" if meta.get("demo_date") else ""
        lines += [f"## Trained demo model (t128), 300 frames: agreement{when}", "",
                  "| precision | fps | IoU>=0.99 vs GPU fp32 | tokens = GPU fp32 |", "|---|---:|---:|---:|"]
        for r in report["demo"]:
            lines.append(f"| {r['mode']} | {r['fps']:.1f} | {_pct(r['agreement']['iou_ge_099'])} | "
                         f"{_pct(r['agreement']['tokens_equal'])} |")
        lines += ["", "Tracked (closed loop): a difference on one frame moves the next crop, so runs drift apart. "
                  "Open loop below: the fp32 run's crops replayed through each precision (one forward each).", ""]
    if report.get("demo_open_loop"):
        lines += ["| precision | frames | all 4 tokens = fp32 | max abs token diff (bins) | mean abs token diff |",
                  "|---|---:|---:|---:|---:|"]
        for r in report["demo_open_loop"]:
            lines.append(f"| {r['mode']} | {r['frames']} | {_pct(r['tokens_equal'])} | {r['max_abs_token_diff']:.0f} | "
                         f"{r['mean_abs_token_diff']:.3f} |")
        lines.append("")
    if report.get("targets"):
        lines += _section("## Cost per target (first network above, one batch per frame)",
                          "| precision | targets | median ms/frame | ms per target | target-frames/s |", "|---|---:|---:|---:|---:|",
                          [f"| {r['mode']} | {r['targets']} | {r['median_ms']:.2f} | {r['median_ms'] / r['targets']:.2f} | "
                           f"{1000.0 * r['targets'] / r['median_ms']:.0f} |" for r in report["targets"]])
    if report.get("train"):
        lines += _section("## Training step (forward, loss, backward, clip, AdamW; random inputs)",
                          "| network | batch | precision | median step s | samples/s | peak GPU MiB |", "|---|---:|---|---:|---:|---:|",
                          [f"| {r['preset']} | {r['batch']} | {r['precision']} | {r['median_step_s']:.4f} | "
                           f"{r['samples_per_s']:.1f} | {r['peak_gpu_mib']:.0f} |" for r in report["train"]])
    return "\n".join(lines)


def _section(title: str, header: str, rule: str, rows: list[str]) -> list[str]:
    """A Markdown section: title, blank line, table header and rule, the rows, a blank line."""
    return [title, "", header, rule, *rows, ""]


def _pct(value) -> str:
    return "" if value is None else f"{100.0 * value:.1f}%"


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("tokens", "boxes")} for r in rows]


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    saved = {k: _strip(v) if isinstance(v, list) else v for k, v in report.items()}
    (out / "gpu_speed.json").write_text(json.dumps(saved, indent=2) + "\n")
    (out / "gpu_speed.md").write_text(markdown(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu"))
    parser.add_argument("--presets", nargs="*", default=["b256", "b384", "l256", "l384"], help="none: skip tracking speed")
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
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_speed.py: no CUDA device visible (--device cpu runs a smoke test)")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (smoke test)"
    report: dict = {"meta": {"gpu": name, "torch": torch.__version__, "cuda": torch.version.cuda,
                             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "warmup": args.warmup}}
    if args.golden:
        report["golden"] = golden_on_device(args.golden, device)
        print("golden:", report["golden"], flush=True)
        write(report, args.out)
    video = SyntheticVideo(640, 480, num_objects=max(args.targets + [1]), seed=0)
    report["tracking"] = []
    for preset in args.presets:
        model = random_model(preset, device)
        reference = None
        cases = [(m, False) for m in args.modes] + ([("fp16-autocast", True)] if preset in args.compile_presets else [])
        for mode, compiled in cases:
            run = track_run(predictor_for(model, mode, compiled), video, 1, args.frames, args.warmup, args.max_seconds)
            run.update(preset=preset, mode=mode + (" compiled" if compiled else ""),
                       gflop=frame_flops(model.config) / 1e9)
            if mode == "fp32" and not compiled:
                reference = run
            run["agreement"] = agreement(run, reference) if reference is not None and run is not reference else None
            print(f"track {preset} {run['mode']}: {run['fps']:.1f} fps ({run['median_ms']:.2f} ms)", flush=True)
            report["tracking"].append(run)
            write(report, args.out)
        del model
    if args.demo_weights:
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
        report["demo"].append({"mode": "CPU fp32 (same 300 frames)", "fps": cpu["fps"],
                               "agreement": agreement(cpu, report["demo"][0])})
        report["demo_open_loop"] = open_loop(model, video, 300, args.modes[1:4])
        write(report, args.out)
    report["targets"] = []
    model = random_model(args.presets[0], device) if args.presets and args.targets else None
    for mode in [m for m in ("fp32", "fp16-autocast") if m in args.modes and model is not None]:
        for count in args.targets:
            run = track_run(predictor_for(model, mode), video, count, 40, 5, args.max_seconds)
            run.update(mode=mode, targets=count)
            report["targets"].append(run)
            print(f"targets {args.presets[0]} {mode} x{count}: {run['median_ms']:.2f} ms", flush=True)
        write(report, args.out)
    del model
    rows = [(p.split(":")[0], int(p.split(":")[1])) for p in args.train]
    if rows:
        report["train"] = train_rows(rows, device, args.train_steps)
    write(report, args.out)
    print(markdown(report))


if __name__ == "__main__":
    main()
