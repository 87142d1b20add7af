"""CPU threads and OpenMP waiting, chosen so that tracking degrades gracefully on a machine shared with
other CPU-bound processes.

Two levers, both defaults of ``seqtrack track``/``eval``/``bench`` and `Tracker.from_pretrained`:

* **Passive waiting** (`apply_wait_policy`): torch's OpenMP runtime (the pip wheel ships GNU ``libgomp``;
  MKL runs on it too) lets a thread that waits at a barrier spin for a while before it sleeps. Beside
  another busy process, the spinning thread takes the core from the very thread it waits for.
  ``OMP_WAIT_POLICY=PASSIVE`` makes it sleep at once. libgomp (and Intel's libiomp) read the variable
  once, when the library is loaded, so it must be in the environment *before torch is imported*: the
  command-line entry calls `apply_wait_policy` first thing; a program that imports torch itself sets
  the variable itself. A value the user set (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``, ``KMP_BLOCKTIME``)
  is kept.
* **Threads from the free cores** (`auto_threads`, used when no thread count is given): the usable cores
  (CPU affinity, cgroup quota, one per physical core) less those other processes kept busy during a short
  window at start-up (``/proc/stat``, this process's own CPU time subtracted, so the window may overlap
  loading the model). ``--threads N`` (``threads=N``) wins, and so do ``OMP_NUM_THREADS`` /
  ``MKL_NUM_THREADS``: with either set, the library's own choice is left alone.

Everything here is torch-free, so that the command-line entry can use it before torch is loaded.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

# Any of these set by the user means the user chose how OpenMP threads wait: leave waiting alone.
WAIT_POLICY_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
PASSIVE_WAIT = {"OMP_WAIT_POLICY": "PASSIVE"}
# Either of these set means the user chose the thread count: the libraries read them, we do not override.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_WINDOW_S = 0.1  # 10 ticks of a 100 Hz kernel clock: a core's busy share to about 0.1


# ---------------------------------------------------------------------------------------------- waiting
def wait_policy_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables `apply_wait_policy` would add to ``environ``: ``{"OMP_WAIT_POLICY": "PASSIVE"}``, or
    ``{}`` when the user already set any of `WAIT_POLICY_VARIABLES` (to any value, even empty)."""
    if any(name in environ for name in WAIT_POLICY_VARIABLES):
        return {}
    return dict(PASSIVE_WAIT)


def apply_wait_policy(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Make idle OpenMP threads sleep instead of spinning, unless the user chose otherwise.

    Call before ``import torch``: the OpenMP runtime reads the variable when it is loaded. Called later it
    still sets the variable, which then reaches only child processes (evaluation and benchmark workers).

    Args:
        environ: the environment to change (default `os.environ`).
    Returns:
        The variables set (``{}`` when the user's own setting was kept).
    """
    environ = os.environ if environ is None else environ
    added = wait_policy_defaults(environ)
    environ.update(added)
    return added


# ---------------------------------------------------------------------------------------------- cores
@dataclass(frozen=True)
class CpuTimes:
    """A snapshot of CPU use: ``busy``/``total`` jiffies per logical CPU (``/proc/stat``), this process's
    own CPU seconds (all its threads) and the wall clock (`time.monotonic` seconds)."""

    busy: dict[int, int]
    total: dict[int, int]
    own_s: float
    wall_s: float


def parse_proc_stat(text: str) -> tuple[dict[int, int], dict[int, int]]:
    """``(busy, total)`` jiffies per logical CPU from the text of ``/proc/stat``.

    Busy is user + nice + system + irq + softirq + steal (time a hypervisor gave to others is not ours to
    use); idle and iowait are free; guest time is already inside user.
    """
    busy: dict[int, int] = {}
    total: dict[int, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        fields = [int(v) for v in rest.split()[:8]] + [0] * 8
        user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
        busy[int(name[3:])] = user + nice + system + irq + softirq + steal
        total[int(name[3:])] = busy[int(name[3:])] + idle + iowait
    return busy, total


def cpu_times() -> CpuTimes | None:
    """The current `CpuTimes`, or None where ``/proc/stat`` cannot be read (not Linux)."""
    try:
        text = Path("/proc/stat").read_text()
    except OSError:
        return None
    busy, total = parse_proc_stat(text)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuTimes(busy, total, usage.ru_utime + usage.ru_stime, time.monotonic())


def busy_cores(before: CpuTimes, after: CpuTimes, cpus: set[int] | None = None, tick_s: float | None = None) -> float:
    """How many of ``cpus`` (default: all) *other* processes kept busy between two snapshots, in cores.

    This process's own CPU time is subtracted, so the window may overlap its own work (loading a model).
    Returns 0.0 for an empty window.
    """
    tick_s = tick_s if tick_s is not None else 1.0 / os.sysconf("SC_CLK_TCK")
    wall = after.wall_s - before.wall_s
    if wall <= 0:
        return 0.0
    names = set(after.busy) & set(before.busy)
    if cpus is not None:
        names &= cpus
    jiffies = sum(after.busy[c] - before.busy[c] for c in names)
    others = jiffies * tick_s - (after.own_s - before.own_s)
    return max(0.0, min(float(len(names)), others / wall))


def allowed_cpus() -> set[int]:
    """The logical CPUs this process may run on (its affinity; every CPU where that is not known)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set[int], sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """How many physical cores ``cpus`` (logical CPU numbers) span: SMT siblings count once. Falls back to
    ``len(cpus)`` where the topology cannot be read."""
    cores = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores, None when unlimited or unknown.

    cgroup v2: ``cpu.max`` of the process's own group (``/proc/self/cgroup``); v1: ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us`` under ``cpu/``. A container limited to 1.5 CPUs on a 64-core host reports 1.5.
    """
    try:
        groups = Path("/proc/self/cgroup").read_text().splitlines()
        own = next((line[3:] for line in groups if line.startswith("0::")), "/").lstrip("/")
    except OSError:
        own = ""
    candidates = [
        lambda: (root / own / "cpu.max").read_text().split()[:2],
        lambda: [(root / "cpu" / f"cpu.cfs_{name}_us").read_text().strip() for name in ("quota", "period")],
    ]
    for read in candidates:
        try:
            quota, period = read()
            if quota in ("max", "-1"):
                return None
            return int(quota) / int(period)
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None


# ---------------------------------------------------------------------------------------------- policy
def choose_threads(cores: int, busy: float) -> int:
    """Intra-op threads for a machine with ``cores`` usable cores of which ``busy`` (in cores, fractional)
    are kept busy by other processes: the free cores, rounded to the nearest, at least one.

    A thread more than the free cores waits for a core held by another process at every barrier; one
    fewer leaves a free core unused. Pure function: `auto_threads` feeds it the measured values.
    """
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    free = cores - max(0.0, float(busy))
    return max(1, min(cores, math.floor(free + 0.5)))


@dataclass(frozen=True)
class ThreadChoice:
    """What `auto_threads` decided and why.

    Attributes:
        threads: intra-op threads to set, or None to leave the library's choice (the user set
            ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, named by ``source``).
        cores: usable physical cores (affinity, cgroup quota).
        busy: cores other processes kept busy during the window (NaN where it could not be measured).
        source: ``"free cores"``, ``"all cores"`` (load unknown) or the environment variable that won.
    """

    threads: int | None
    cores: int
    busy: float
    source: str


def usable_cores(cpus: set[int] | None = None) -> int:
    """Physical cores this process may use: its affinity, capped by the cgroup CPU quota (rounded up)."""
    cpus = allowed_cpus() if cpus is None else cpus
    cores = physical_cores(cpus)
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return cores


def auto_threads(
    started: CpuTimes | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    environ: Mapping[str, str] | None = None,
) -> ThreadChoice:
    """Intra-op threads from the cores that are free now (see the module docstring).

    Args:
        started: a `cpu_times` snapshot taken earlier (e.g. before loading the model): the load is measured
            from it to now, sleeping only what is left of ``window_s``. None: a fresh ``window_s`` window.
        window_s: the shortest window to measure over, seconds.
        environ: the environment (default `os.environ`) whose thread variables win.
    """
    environ = os.environ if environ is None else environ
    cpus = allowed_cpus()
    cores = usable_cores(cpus)
    for name in THREAD_VARIABLES:
        if environ.get(name, "").strip():
            return ThreadChoice(None, cores, math.nan, name)
    before = started if started is not None else cpu_times()
    if before is None:
        return ThreadChoice(cores, cores, math.nan, "all cores")
    time.sleep(max(0.0, window_s - (time.monotonic() - before.wall_s)))
    after = cpu_times()
    if after is None:
        return ThreadChoice(cores, cores, math.nan, "all cores")
    # Busy logical CPUs scaled to physical cores: on an SMT machine two busy siblings hold one core.
    busy = busy_cores(before, after, cpus) * cores / max(1, len(cpus))
    return ThreadChoice(choose_threads(cores, busy), cores, busy, "free cores")


def resolve_threads(threads: int | None, started: CpuTimes | None = None, on_cpu: bool = True) -> int | None:
    """The intra-op thread count to set: ``threads`` when given, else `auto_threads` on the CPU.

    Args:
        threads: the user's count (``--threads``/``threads=``), or None for the automatic choice.
        started: passed to `auto_threads` (a snapshot taken before loading the model).
        on_cpu: False for a network on a GPU, where the CPU threads are left to the library.
    Returns:
        A count, or None to leave the library's (a GPU network, or ``OMP_NUM_THREADS`` set).
    """
    if threads is not None or not on_cpu:
        return threads
    return auto_threads(started).threads


__all__ = [
    "WAIT_POLICY_VARIABLES",
    "THREAD_VARIABLES",
    "PASSIVE_WAIT",
    "wait_policy_defaults",
    "apply_wait_policy",
    "CpuTimes",
    "cpu_times",
    "parse_proc_stat",
    "busy_cores",
    "allowed_cpus",
    "physical_cores",
    "cgroup_cpu_limit",
    "usable_cores",
    "choose_threads",
    "ThreadChoice",
    "auto_threads",
    "resolve_threads",
]
