"""Tracking speed alone and beside a CPU-bound process, for thread/wait policies (issue 22 item 3).

    .venv/bin/python benchmarks/busy_machine.py                       # demo + random-weights b256, 2 rounds
    .venv/bin/python benchmarks/busy_machine.py --models demo --rounds 1 --frames 40   # quick look

Each measurement is a fresh worker process (the OpenMP runtime reads its variables at start-up) tracking the
demo clip (bikes.mp4 from frame 76, box 376,52,144,218): ``--warmup`` frames, then the timed frames. Loads:

* ``idle``: nothing else started by the benchmark;
* ``busy``: a second process (one thread, a torch matmul loop) runs from before the worker starts;
* ``busy-late``: that process starts only after the worker's start-up (its thread choice cannot see it).

Policies: ``old`` reproduces the previous default (libgomp's own waiting, one thread per core); ``passive``
adds ``OMP_WAIT_POLICY=PASSIVE``; ``auto`` only the thread count from the free cores; ``new`` is the
default of the command line and `Tracker.from_pretrained` (`apply_wait_policy` before torch is imported,
then ``threads=None``). Variants take turns within every round, so that the machine's own load affects
them alike. Writes ``benchmarks/results/busy_machine/busy_machine.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from seqtrack.bench.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "benchmarks" / "results" / "busy_machine"
POLICIES = ("old", "passive", "auto", "new")
LOADS = ("idle", "busy", "busy-late")
START_FRAME, BOX = 76, (376.0, 52.0, 144.0, 218.0)
# The loop ends when the benchmark that started it is gone (its parent changes): a killed benchmark must not
# leave a core busy behind it, which would load every later measurement on the machine.
BUSY_LOOP = (
    "import os\n"
    "import torch\n"
    "torch.set_num_threads(1)\n"
    "a = torch.randn(384, 384)\n"
    "parent = os.getppid()\n"
    "print('ready', flush=True)\n"
    "while os.getppid() == parent:\n"
    "    for _ in range(20):\n"
    "        b = a @ a\n"
)
# Variables that would let the parent's environment decide for the worker: every variant starts clean.
CLEAN = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------------------- worker
def worker(spec: dict) -> None:
    """One measurement in this process; prints ``ready``, waits for a line on stdin, prints a JSON line."""
    if spec["policy"] == "new":
        from seqtrack.runtime.threads import apply_wait_policy

        apply_wait_policy()  # what the command-line entry does, before torch is imported
    import cv2
    import torch

    from seqtrack.cli.demo import bikes_clip
    from seqtrack.config import TrackerConfig, model_preset
    from seqtrack.model.seqtrack import SeqTrack
    from seqtrack.runtime.factory import make_predictor
    from seqtrack.tracking.tracker import Tracker

    capture = cv2.VideoCapture(str(bikes_clip()))
    capture.set(cv2.CAP_PROP_POS_FRAMES, START_FRAME)
    frames = []
    while len(frames) < spec["warmup"] + spec["frames"] + 1:
        ok, bgr = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, START_FRAME)
            continue
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    threads = spec["threads"]
    start = time.perf_counter()
    if spec["model"] == "demo":
        tracker = Tracker.from_pretrained("demo", threads=threads)
    else:
        torch.manual_seed(0)
        tracker = Tracker(make_predictor(SeqTrack(model_preset(spec["model"])), threads=threads), TrackerConfig())
    setup_s = time.perf_counter() - start
    tracker.init(frames[0], BOX)
    for frame in frames[1 : spec["warmup"] + 1]:
        tracker.track(frame)
    print("ready", flush=True)
    sys.stdin.readline()
    times = []
    for frame in frames[spec["warmup"] + 1 :]:
        tick = time.perf_counter()
        tracker.track(frame)
        times.append(time.perf_counter() - tick)
    result = {
        "threads": torch.get_num_threads(),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "setup_s": setup_s,
        "times": times,
    }
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------- parent
def start_busy(env: dict) -> subprocess.Popen:
    """The CPU-bound neighbour: one thread multiplying matrices until killed; returns once it runs."""
    busy_env = {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", BUSY_LOOP], stdout=subprocess.PIPE, text=True, env=busy_env, cwd=ROOT
    )
    proc.stdout.readline()
    time.sleep(0.3)  # past its first iterations: the worker's load window sees a steady neighbour
    return proc


def measure(model: str, policy: str, load: str, frames: int, warmup: int, cores: int) -> dict:
    """One worker run of ``model`` under ``policy`` and ``load``; the row of the JSON."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif policy.startswith("spin"):  # spinN: libgomp spins N rounds before sleeping, threads from the free cores
        env["GOMP_SPINCOUNT"] = policy[4:]
    threads = cores if policy in ("old", "passive") else None
    spec = {"model": model, "policy": policy, "threads": threads, "frames": frames, "warmup": warmup}
    busy = start_busy(env) if load == "busy" else None
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker {spec} did not start")
        if load == "busy-late":
            busy = start_busy(env)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        proc.wait(timeout=60)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        if proc.poll() is None:
            proc.kill()
    median = statistics.median(result["times"])
    return {"model": model, "policy": policy, "load": load, **result, "median_s": median, "fps": 1.0 / median}


def summarize(rows: list[dict]) -> list[dict]:
    """Per model and policy: median fps per load (over rounds) and each busy load's ratio to idle."""
    table = []
    for model in dict.fromkeys(r["model"] for r in rows):
        for policy in dict.fromkeys(r["policy"] for r in rows):
            mine = [r for r in rows if r["model"] == model and r["policy"] == policy]
            if not mine:
                continue
            fps = {
                load: statistics.median(r["fps"] for r in mine if r["load"] == load)
                for load in LOADS
                if any(r["load"] == load for r in mine)
            }
            threads = {load: sorted({r["threads"] for r in mine if r["load"] == load}) for load in fps}
            ratios = {load: fps[load] / fps["idle"] for load in fps if load != "idle" and "idle" in fps}
            table.append({"model": model, "policy": policy, "fps": fps, "threads": threads, "ratio": ratios})
    return table


def markdown(table: list[dict], meta: dict) -> str:
    """The Markdown report: one row per model and policy."""
    lines = [
        "# Tracking beside a CPU-bound process",
        "",
        f"CPU: {meta['cpu']}, {meta['cores']} cores; load before the run {meta['load_before']}, "
        f"after {meta['load_after']}; {meta['rounds']} rounds, variants interleaved; median fps of the timed "
        f"frames (demo {meta['frames']['demo']}, b256 {meta['frames']['b256']} frames), median over rounds.",
        f"Command: `{meta['command']}`",
        "",
        "| model | policy | threads idle/busy/late | idle fps | busy fps | busy-late fps | busy/idle | late/idle |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        fps, ratio = row["fps"], row["ratio"]
        threads = "/".join(",".join(str(t) for t in row["threads"].get(load, [])) or "-" for load in LOADS)
        cells = [f"{fps[load]:.2f}" if load in fps else "-" for load in LOADS]
        ratios = [f"{ratio[load]:.2f}" if load in ratio else "-" for load in ("busy", "busy-late")]
        lines.append(f"| {row['model']} | {row['policy']} | {threads} | " + " | ".join(cells + ratios) + " |")
    lines += [
        "",
        "old: libgomp's default waiting, one thread per core (the previous default); passive: "
        "OMP_WAIT_POLICY=PASSIVE, one thread per core; auto: threads from the free cores only; new: both (the "
        "default now). busy: a one-thread matmul loop started before the tracker; busy-late: started after its "
        "start-up.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Parse the flags; run the rounds (or, with ``--worker``, one measurement) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--models", default="demo,b256", help="demo and/or a preset with random weights (b256)")
    parser.add_argument("--policies", default=",".join(POLICIES), help="old, passive, auto, new, spinN")
    parser.add_argument("--loads", default=",".join(LOADS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--frames", type=int, default=100, help="timed frames of the demo model")
    parser.add_argument("--b256-frames", type=int, default=8, help="timed frames of a random-weights preset")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    from seqtrack.runtime.threads import usable_cores

    cores = usable_cores()
    models, policies, loads = (v.split(",") for v in (args.models, args.policies, args.loads))
    meta = {
        "cpu": cpu_model(),
        "cores": cores,
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "rounds": args.rounds,
        "frames": {"demo": args.frames, "b256": args.b256_frames},
        "command": "python benchmarks/busy_machine.py " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    rows = []
    for round_index in range(args.rounds):
        for model in models:
            frames, warmup = (args.frames, 5) if model == "demo" else (args.b256_frames, 1)
            for load in loads:
                for policy in policies:
                    row = measure(model, policy, load, frames, warmup, cores)
                    row["round"] = round_index
                    rows.append(row)
                    print(
                        f"round {round_index} {model:>5} {load:>9} {policy:>7}: {row['fps']:7.2f} fps "
                        f"threads {row['threads']} setup {row['setup_s']:.2f} s",
                        flush=True,
                    )
    meta["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    table = summarize(rows)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "busy_machine.json").write_text(json.dumps({"meta": meta, "summary": table, "rows": rows}))
    (args.out_dir / "busy_machine.md").write_text(markdown(table, meta))
    print(markdown(table, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
