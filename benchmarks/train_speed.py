"""Training throughput on this machine: samples/s of one optimisation step (forward, weighted CE,
backward, grad clip, AdamW) for the t128 and B256 networks, fp32 and bf16 autocast.

The step is `seqtrack.train.step.TrainStep`, exactly what ``seqtrack train`` runs; inputs are random
tensors of the right shapes (data loading is excluded: it runs in worker processes during training).
Each setting: warm-up steps, then the median of several timed steps; samples/s = batch / median.

    python benchmarks/train_speed.py                       # writes benchmarks/results/train_speed.{json,md}
    python benchmarks/train_speed.py --presets t128 --steps 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from seqtrack.bench.machine import cpu_model
from seqtrack.config import TrainConfig, model_preset
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.train.step import TrainStep

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Setting:
    """One measurement: preset, batch size, AMP mode (``off`` = fp32, ``bf16``), timed steps."""

    preset: str
    batch: int
    amp: str
    steps: int
    warmup: int = 2


def native_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX); otherwise torch emulates bf16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def random_batch(config, batch: int, generator: torch.Generator) -> dict:
    """Random inputs of the training shapes: ``templates (B, T, 3, S, S)``, ``search (B, 3, S, S)``,
    sequences ``(B, 5)``."""
    s, t = config.search_size, config.template_size
    tokens = torch.randint(0, config.bins, (batch, 4), generator=generator)
    start = torch.full((batch, 1), config.bins + 1)
    end = torch.full((batch, 1), config.bins)
    return {
        "templates": torch.randn(batch, config.num_templates, 3, t, t, generator=generator),
        "search": torch.randn(batch, 3, s, s, generator=generator),
        "seq_input": torch.cat([start, tokens], 1),
        "seq_target": torch.cat([tokens, end], 1),
    }


def measure(setting: Setting, device: torch.device) -> dict:
    """Median step time and samples/s of one setting."""
    torch.manual_seed(0)
    config = model_preset(setting.preset)
    model = SeqTrack(config).to(device).train()
    train = TrainConfig()
    step = TrainStep.from_recipe(model, dataclasses.replace(train, amp=setting.amp), device)
    batch = random_batch(config, setting.batch, torch.Generator().manual_seed(0))
    times = []
    for i in range(setting.warmup + setting.steps):
        start = time.perf_counter()
        result = step(batch)
        float(result.loss)  # wait for the step to finish
        if i >= setting.warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "preset": setting.preset,
        "batch": setting.batch,
        "precision": "fp32" if setting.amp == "off" else "bf16 autocast",
        "steps_timed": setting.steps,
        "warmup": setting.warmup,
        "median_step_s": median,
        "min_step_s": min(times),
        "max_step_s": max(times),
        "samples_per_s": setting.batch / median,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def markdown(results: list[dict], meta: dict) -> str:
    lines = [
        "# Training speed (forward + backward + AdamW step)",
        "",
        f"Machine: {meta['cpu']}, {meta['threads']} torch thread(s) ({meta['cores']} cores visible); "
        f"torch {meta['torch']}; {meta['date']}.",
        "",
        "| network | params | batch | precision | timed steps (warm-up) | median step (s) | samples/s |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['preset']} | {r['parameters'] / 1e6:.1f} M | {r['batch']} | {r['precision']} | "
            f"{r['steps_timed']} ({r.get('warmup', '?')}) | "
            f"{r['median_step_s']:.3f} | {r['samples_per_s']:.3g} |"
        )
    lines += [
        "",
        "Notes:",
        f"- CPU shared with other engineers' jobs while measuring (load average {meta['load_before']} before, "
        f"{meta['load_after']} after): numbers are indicative, lower than on an idle machine.",
        "- Median of the timed steps after warm-up; random inputs of the training shapes (data loading excluded).",
        "- The step is `seqtrack.train.step.TrainStep` (weighted CE, grad clip 0.1, AdamW with the encoder group).",
        f"- This CPU {'has' if meta['native_bf16'] else 'has no'} native bf16 matrix instructions (AVX512-BF16 / AMX)"
        + (
            ""
            if meta["native_bf16"]
            else ": torch emulates bf16, so bf16 autocast is far slower than fp32 here; "
            "use fp32 (`--amp off`) for CPU training."
        ),
        "- One torch thread by default: with other jobs on the 2 cores, 2 threads measured slower (thread "
        "synchronisation under contention).",
        "- Produced by `python benchmarks/train_speed.py`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["t128", "b256"])
    parser.add_argument(
        "--batch", type=int, nargs="+", default=None, help="batch per preset (default t128: 8, others: 2)"
    )
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default t128: 10, others: 4)")
    parser.add_argument("--precisions", nargs="+", default=["off", "bf16"], choices=["off", "bf16"])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a CPU shared with other jobs, 2 threads measured slower)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--render-only", action="store_true", help="rewrite the Markdown table from the JSON")
    args = parser.parse_args()
    if args.render_only:
        saved = json.loads((args.out / "train_speed.json").read_text())
        (args.out / "train_speed.md").write_text(markdown(saved["results"], saved["meta"]))
        return
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    meta = {
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "native_bf16": native_bf16(),
        "load_before": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    results = []
    for i, preset in enumerate(args.presets):
        small = preset.startswith(("t", "s"))
        batch = args.batch[i] if args.batch else (8 if small else 2)
        steps = args.steps or (10 if small else 4)
        for amp in args.precisions:
            setting = Setting(preset, batch, amp, steps, warmup=2 if small else 1)
            if amp == "bf16" and not small and not native_bf16() and not args.steps:
                # Emulated bf16 is ~15x slower than fp32 here: a big network gets 2 steps, no warm-up.
                setting = Setting(preset, batch, amp, steps=2, warmup=0)
            result = measure(setting, device)
            print(
                f"{preset} batch {batch} {result['precision']}: {result['samples_per_s']:.2f} samples/s "
                f"(median step {result['median_step_s']:.3f} s)",
                flush=True,
            )
            results.append(result)
    meta["load_after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_speed.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    (args.out / "train_speed.md").write_text(markdown(results, meta))
    print(f"wrote {args.out / 'train_speed.json'} and {args.out / 'train_speed.md'}")


if __name__ == "__main__":
    main()
