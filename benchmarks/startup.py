"""Start-up of ``seqtrack track``: wall time from starting the process to its first tracked frame.

.venv/bin/python benchmarks/startup.py [--runs 9] [--baseline-src DIR] [--out-dir benchmarks/results/startup]

Each run starts ``seqtrack track bikes.mp4 --weights demo --box 376,52,144,218 --start-frame 76 --max-frames 2``
(the demo model on the demo clip, default threads) as a new process and reads the clock just before it
does. Two measures, both from that moment:

* the boxes file, polled every millisecond: when its first line (the init box) and its second line (the
  first *tracked* frame: one network pass done, its box written and flushed) appear. This works for any
  version of seqtrack, so ``--baseline-src`` (a copy of an older ``src`` folder, e.g. from ``git archive
  HEAD src``) runs the same command with that code, interleaved run by run with the current one;
* the stages the command stamps into ``$SEQTRACK_STARTUP_LOG`` (`seqtrack.cli.track.StartupLog`): the
  breakdown (interpreter and CLI, source opened, network built, init frame, first tracked frame).

Between them it times ``python -c pass`` (the interpreter) and ``python -c "import torch"`` (the floor
that torch's own import sets), and the same command with ``--fast`` twice: with a cold graph cache (a new,
empty ``$SEQTRACK_CACHE_DIR`` every round: the read-out graph is exported, torch is loaded) and with a warm
one (the folder the warm-up round filled: on an AVX2-only CPU the ``onnx-fp32`` plan then starts without
torch, `seqtrack.runtime.fast_start`). Medians over the runs, variants interleaved round by round; the first
round is a discarded warm-up (page cache). Writes ``startup.json`` and ``startup.md`` to ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqtrack.bench.machine import cpu_model

HERE = Path(__file__).resolve().parent
BOX, START_FRAME = "376,52,144,218", 76
STAGES = ("command", "source", "tracker", "init", "first_track")
VARIANTS = ("baseline", "current", "fast_cold", "fast_warm")
LABELS = {
    "baseline": "baseline",
    "current": "current",
    "fast_cold": "current --fast, cold graph cache",
    "fast_warm": "current --fast, warm graph cache",
}


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used, from ``/proc`` (10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_lines(process: subprocess.Popen, out: Path, started: float, lines: int = 2) -> tuple[list[float], float]:
    """Seconds from ``started`` until the boxes file holds 1, 2, ... ``lines`` complete lines (polled), and
    the process's CPU seconds when the last of them appeared."""
    seen: list[float] = []
    cpu = float("nan")
    while len(seen) < lines:
        try:
            count = out.read_bytes().count(b"\n")
        except FileNotFoundError:
            count = 0
        now = time.monotonic() - started
        if count >= lines:
            cpu = _cpu_seconds(process.pid)
        while len(seen) < min(count, lines):
            seen.append(now)
        if len(seen) < lines and process.poll() is not None:
            raise RuntimeError(f"seqtrack track ended (status {process.returncode}) before writing {lines} lines")
        time.sleep(0.001)
    return seen, cpu


def _read_stages(log: Path, started: float) -> dict[str, list[float]]:
    """Stage -> [seconds from ``started``, the process's CPU seconds then] from the command's stamps."""
    if not log.exists():
        return {}
    stamps = {stage: (float(wall), float(cpu)) for stage, wall, cpu in map(str.split, log.read_text().splitlines())}
    return {stage: [stamps[stage][0] - started, stamps[stage][1]] for stage in STAGES if stage in stamps}


def track_run(video: Path, src: Path | None, work: Path, cache: Path | None = None) -> dict:
    """One ``seqtrack track`` process: line times, stage times and exit time, in seconds from its start;
    with ``cache``, ``--fast`` with that graph-cache folder."""
    out, log = work / "boxes.txt", work / "stages.txt"
    for path in (out, log):
        path.unlink(missing_ok=True)
    env = dict(os.environ, SEQTRACK_STARTUP_LOG=str(log))
    if src is not None:
        env["PYTHONPATH"] = str(src)
    command = [str(Path(sys.executable).parent / "seqtrack"), "track", str(video), "--weights", "demo"]
    command += ["--box", BOX, "--start-frame", str(START_FRAME), "--max-frames", "2", "--out", str(out), "-q"]
    if cache is not None:
        env["SEQTRACK_CACHE_DIR"] = str(cache)
        command.append("--fast")
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines, cpu = _wait_lines(process, out, started)
    _, err = process.communicate()
    ended = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"seqtrack track failed ({process.returncode}): {err.decode(errors='replace')[-500:]}")
    return {
        "init_line": lines[0],
        "first_track_line": lines[1],
        "first_track_cpu": cpu,
        "exit": ended,
        "stages": _read_stages(log, started),
    }


def python_run(code: str) -> dict:
    """``python -c code``: seconds from starting it to the end of ``code`` (not the interpreter's exit,
    which after torch takes long), and its CPU seconds by then."""
    stamp = "\nimport time; print(time.monotonic(), time.process_time())"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code + stamp], check=True, capture_output=True, text=True)
    wall, cpu = map(float, done.stdout.split()[-2:])
    return {"wall": wall - started, "cpu": cpu}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float]) -> dict:
    return {"median": _median(values), "min": min(values), "max": max(values)}


def summarise(runs: dict[str, list]) -> dict:
    """Medians (and ranges) of every measure over the runs."""
    summary: dict = {}
    for name in ("python", "import_torch"):
        summary[name] = {key: _spread([run[key] for run in runs[name]]) for key in ("wall", "cpu")}
    for variant in VARIANTS:
        if not runs.get(variant):
            continue
        entry = {key: _spread([run[key] for run in runs[variant]]) for key in ("init_line", "first_track_line")}
        entry["first_track_cpu"] = _spread([run["first_track_cpu"] for run in runs[variant]])
        entry["exit"] = _spread([run["exit"] for run in runs[variant]])
        stamped = [run["stages"] for run in runs[variant] if len(run["stages"]) == len(STAGES)]
        if stamped:  # the baseline has no stamps
            entry["stages"] = {
                s: [_median([r[s][0] for r in stamped]), _median([r[s][1] for r in stamped])] for s in STAGES
            }
        summary[variant] = entry
    return summary


def markdown(result: dict) -> str:
    """The tables of ``startup.md``."""
    s, meta = result["summary"], result["machine"]
    lines = [
        "# Start-up of `seqtrack track` (demo model, bikes.mp4 from frame 76)",
        "",
        f"CPU: {meta['cpu']}, {meta['cores']} cores; load average (1, 5, 15 min) before / after: "
        f"{meta['load_before']} / {meta['load_after']}; {result['runs']} rounds, variants interleaved; medians "
        f"(min-max). Command: `{result['command']}` (`--fast` rows: plus `--fast`; plan here: "
        f"{result.get('fast_plan', '?')}). Wall: seconds from starting the process; CPU: its CPU "
        "seconds by then (all threads; less inflated than wall time when the machine is busy).",
        "",
        "| measure | wall (s) | CPU (s) |",
        "|---|---|---|",
    ]

    def cell(v: dict) -> str:
        return f"{v['median']:.3f} ({v['min']:.3f}-{v['max']:.3f})"

    lines.append(f"| `python -c pass` | {cell(s['python']['wall'])} | {cell(s['python']['cpu'])} |")
    torch_row = s["import_torch"]
    lines.append(f"| `python -c 'import torch'` (the floor) | {cell(torch_row['wall'])} | {cell(torch_row['cpu'])} |")
    for variant in VARIANTS:
        if variant in s:
            v, label = s[variant], LABELS[variant]
            lines.append(f"| {label}: init box written (line 1) | {cell(v['init_line'])} | |")
            lines.append(
                f"| **{label}: first tracked frame written (line 2)** | {cell(v['first_track_line'])} | "
                f"{cell(v['first_track_cpu'])} |"
            )
            lines.append(f"| {label}: process exit | {cell(v['exit'])} | |")
    for variant in ("current", "fast_warm"):
        lines += _breakdown(s, variant, torch_row)
    return "\n".join(lines) + "\n"


def _fast_plan() -> str:
    """The ``--fast`` plan this CPU gets for the demo model (`seqtrack.runtime.fast_plan`), by its flags."""
    from seqtrack.model.header import read_header
    from seqtrack.model.registry import resolve_weights
    from seqtrack.runtime.cpu import cpu_features_without_torch
    from seqtrack.runtime.fast_plan import choose_fast_plan

    features = cpu_features_without_torch()
    if features is None:
        return "unknown (no /proc/cpuinfo)"
    config = read_header(resolve_weights("demo")).model_config()
    return f"{choose_fast_plan(config, features).name} ({features.summary})"


def _breakdown(s: dict, variant: str, torch_row: dict) -> list[str]:
    """The stage table of one variant (from its stamps), and what is left beyond torch's own import."""
    stages = s.get(variant, {}).get("stages")
    if not stages:
        return []
    lines = ["", f"Breakdown of {LABELS[variant]} (median stamps; a stage = from the previous stamp):", ""]
    lines += ["| stage | at, wall (s) | stage, wall (s) | at, CPU (s) | stage, CPU (s) |", "|---|---|---|---|---|"]
    previous = [0.0, 0.0]
    for stage, (wall, cpu) in stages.items():
        lines.append(f"| {stage} | {wall:.3f} | {wall - previous[0]:.3f} | {cpu:.3f} | {cpu - previous[1]:.3f} |")
        previous = [wall, cpu]
    if variant == "current":
        left = s[variant]["first_track_line"]["median"] - torch_row["wall"]["median"]
        left_cpu = stages["first_track"][1] - torch_row["cpu"]["median"]
        lines += ["", f"First tracked frame beyond torch's own import: {left:.3f} s wall, {left_cpu:.3f} s CPU."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="measured rounds (after one warm-up round)")
    parser.add_argument("--baseline-src", type=Path, help="an older 'src' folder to compare with, run by run")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results" / "startup")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from seqtrack.cli.demo import bikes_clip

    video = bikes_clip()
    runs: dict[str, list] = {"python": [], "import_torch": [], **{variant: [] for variant in VARIANTS}}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="seqtrack-startup-") as work:
        warm = Path(work) / "warm-cache"  # filled by the warm-up round's cold run, then kept
        for round_ in range(args.runs + 1):
            cold = Path(tempfile.mkdtemp(prefix="cold-cache-", dir=work))  # a new, empty cache every round
            measured = {
                "python": python_run("pass"),
                "import_torch": python_run("import torch"),
                "current": track_run(video, None, Path(work)),
                "fast_cold": track_run(video, None, Path(work), cache=warm if round_ == 0 else cold),
                "fast_warm": track_run(video, None, Path(work), cache=warm),
            }
            if args.baseline_src is not None:
                measured["baseline"] = track_run(video, args.baseline_src.resolve(), Path(work))
            if round_ == 0:
                continue  # warm-up: page cache, bytecode caches
            for key, value in measured.items():
                runs[key].append(value)
            print(
                f"round {round_}: first tracked frame "
                + ", ".join(f"{k} {measured[k]['first_track_line']:.3f} s" for k in VARIANTS if k in measured),
                file=sys.stderr,
            )
    result = {
        "command": f"seqtrack track bikes.mp4 --weights demo --box {BOX} --start-frame {START_FRAME} --max-frames 2",
        "fast_plan": _fast_plan(),
        "runs": args.runs,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": " ".join(f"{x:.2f}" for x in load_before),
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "baseline_src": str(args.baseline_src) if args.baseline_src else None,
        },
        "summary": summarise(runs),
        "raw": runs,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "startup.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out_dir / "startup.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
