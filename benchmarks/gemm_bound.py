"""How close a preset's frame runs to the CPU's matrix-product speed: the one-thread GFLOP/s of a ViT-B sized
linear layer against those of a whole ``generate`` call, and where the frame's time goes (``torch.profiler``).

    .venv/bin/python benchmarks/gemm_bound.py                    # b256, one thread: about a minute
    .venv/bin/python benchmarks/gemm_bound.py --preset t128 --threads 2

When the frame's GFLOP/s equal the linear layer's, no fp32 kernel work can make the frame much faster on
that CPU: only fewer or cheaper operations (lower precision) can. Random weights (speed does not depend on
them). Writes ``benchmarks/results/gemm_bound/<preset>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from seqtrack.bench.flops import frame_flops
from seqtrack.bench.machine import cpu_model
from seqtrack.config import model_preset
from seqtrack.model.seqtrack import SeqTrack

OUT_DIR = Path(__file__).resolve().parent / "results" / "gemm_bound"


def median_seconds(function, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        function()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="b256")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = model_preset(args.preset)
    model = SeqTrack(config).eval()
    tokens = config.num_search_tokens + config.num_templates * config.num_template_tokens
    width = config.encoder.embed_dim
    x, layer = torch.randn(tokens, width), torch.nn.Linear(width, 4 * width)
    templates = torch.randn(1, config.num_templates, 3, config.template_size, config.template_size)
    search = torch.randn(1, 3, config.search_size, config.search_size)
    with torch.inference_mode():
        linear_s = median_seconds(lambda: layer(x), 5 * args.repeats)
        frame_s = median_seconds(lambda: model.generate(templates, search), args.repeats)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
            model.generate(templates, search)
    events = profile.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    shares = sorted(((e.key, e.self_cpu_time_total / total) for e in events), key=lambda kv: -kv[1])[:6]
    gflop = frame_flops(config) / 1e9
    result = {
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "preset": args.preset,
        "threads": args.threads,
        "linear": f"Linear({width}, {4 * width}) on {tokens} tokens",
        "linear_gflops": 2 * tokens * width * 4 * width / linear_s / 1e9,
        "frame_gflop": gflop,
        "frame_s": frame_s,
        "frame_gflops": gflop / frame_s,
        "profile_self_share": dict(shares),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.preset}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# {args.preset}: frame against matrix-product speed",
        "",
        f"CPU: {result['cpu']}; torch {result['torch']}; {args.threads} thread(s); random weights.",
        f"Command: `python benchmarks/gemm_bound.py --preset {args.preset} --threads {args.threads}`",
        "",
        "| what | GFLOP/s |",
        "|---|---:|",
        f"| {result['linear']} | {result['linear_gflops']:.1f} |",
        f"| whole frame ({gflop:.1f} GFLOP in {frame_s:.3f} s, median of {args.repeats}) "
        f"| {result['frame_gflops']:.1f} |",
        "",
        "Self CPU time of one frame (`torch.profiler`): "
        + ", ".join(f"{name} {100 * share:.0f} %" for name, share in shares),
    ]
    (args.out_dir / f"{args.preset}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
