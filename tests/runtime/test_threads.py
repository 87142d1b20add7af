"""`seqtrack.runtime.threads`: the thread policy (pure), the load measurement, the wait policy reaching the
OpenMP runtime when set before torch is imported, and the user's settings winning over both."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from seqtrack.runtime import threads
from seqtrack.runtime.factory import make_predictor
from seqtrack.runtime.threads import (
    CpuTimes,
    ThreadChoice,
    apply_wait_policy,
    auto_threads,
    busy_cores,
    choose_threads,
    parse_proc_stat,
    physical_cores,
    resolve_threads,
    wait_policy_defaults,
)
from support import REPO


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------- policy
@pytest.mark.parametrize(
    ("cores", "busy", "expected"),
    [
        (2, 0.0, 2),  # idle: every core
        (2, 0.3, 2),  # a light neighbour: still worth the second core
        (2, 0.6, 1),  # more than half a core taken: the second thread would wait for it
        (2, 1.0, 1),  # one CPU-bound neighbour on a 2-core machine
        (2, 2.0, 1),  # all taken: never fewer than one
        (2, 5.0, 1),
        (8, 3.0, 5),
        (8, 2.6, 5),
        (8, 2.4, 6),
        (1, 0.0, 1),
        (4, -1.0, 4),  # a negative measurement (clock skew) counts as idle, never more than the cores
    ],
)
def test_threads_are_the_free_cores(cores, busy, expected):
    assert choose_threads(cores, busy) == expected


def test_no_cores_is_an_error():
    with pytest.raises(ValueError, match="cores"):
        choose_threads(0, 0.0)


# ---------------------------------------------------------------------------------------------- load
STAT = """cpu  300 0 100 900 0 0 0 0 0 0
cpu0 100 10 40 500 20 3 2 5 7 0
cpu1 200 0 60 400 0 0 0 0 0 0
intr 12345 0 0
ctxt 999
"""


def test_proc_stat_counts_busy_and_idle_per_cpu():
    busy, total = parse_proc_stat(STAT)
    # user+nice+system+irq+softirq+steal; guest (7) is inside user already; iowait is idle
    assert busy == {0: 100 + 10 + 40 + 3 + 2 + 5, 1: 260}
    assert total == {0: 160 + 500 + 20, 1: 660}


def _snap(busy: dict[int, int], own_s: float, wall_s: float) -> CpuTimes:
    return CpuTimes(busy=busy, total=dict(busy), own_s=own_s, wall_s=wall_s)


def test_busy_cores_subtracts_our_own_time_and_keeps_to_our_cpus():
    before = _snap({0: 0, 1: 0, 2: 0}, own_s=1.0, wall_s=10.0)
    # one second: cpu0 fully busy, cpu1 half, cpu2 fully (outside the affinity), 0.3 s of it ours
    after = _snap({0: 100, 1: 50, 2: 100}, own_s=1.3, wall_s=11.0)
    assert busy_cores(before, after, cpus={0, 1}, tick_s=0.01) == pytest.approx(1.5 - 0.3)
    assert busy_cores(before, after, tick_s=0.01) == pytest.approx(2.5 - 0.3)
    # our own work alone is not a neighbour; more than the CPUs cannot be busy
    assert busy_cores(before, _snap({0: 30, 1: 0, 2: 0}, 1.3, 11.0), tick_s=0.01) == 0.0
    assert busy_cores(before, _snap({0: 900, 1: 0, 2: 0}, 1.0, 11.0), cpus={0, 1}, tick_s=0.01) == 2.0
    assert busy_cores(before, before, tick_s=0.01) == 0.0


def test_smt_siblings_count_as_one_core(tmp_path):
    for cpu, core in ((0, 0), (1, 0), (2, 1), (3, 1)):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    assert physical_cores({0, 1, 2, 3}, tmp_path) == 2
    assert physical_cores({0, 2}, tmp_path) == 2
    assert physical_cores({0, 1}, tmp_path) == 1
    assert physical_cores({0, 7}, tmp_path) == 2  # cpu7 unknown: every logical CPU counts


def _fake_machine(monkeypatch, others_busy: float, own_s: float = 0.0):
    """A 2-core machine on which other processes keep ``others_busy`` cores busy over a 1 s window."""
    monkeypatch.setattr(threads, "allowed_cpus", lambda: {0, 1})
    monkeypatch.setattr(threads, "physical_cores", lambda cpus: len(cpus))
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda: None)
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    jiffies = round((others_busy + own_s) / tick)
    now = threads.time.monotonic()
    before = _snap({0: 0, 1: 0}, own_s=0.0, wall_s=now - 1.0)
    monkeypatch.setattr(threads, "cpu_times", lambda: _snap({0: jiffies, 1: 0}, own_s=own_s, wall_s=now))
    return before


def test_auto_threads_leaves_the_busy_core(monkeypatch):
    before = _fake_machine(monkeypatch, others_busy=1.0)
    choice = auto_threads(before, environ={})
    assert (choice.threads, choice.cores, choice.source) == (1, 2, "free cores")
    assert choice.busy == pytest.approx(1.0, abs=0.02)


def test_auto_threads_does_not_count_its_own_model_loading(monkeypatch):
    before = _fake_machine(monkeypatch, others_busy=0.0, own_s=0.9)
    assert auto_threads(before, environ={}).threads == 2


def test_quota_caps_the_cores(monkeypatch):
    before = _fake_machine(monkeypatch, others_busy=0.0)
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda: 0.5)
    assert auto_threads(before, environ={}).threads == 1


# ---------------------------------------------------------------------------------------------- overrides
@pytest.mark.parametrize("name", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_thread_variables_win(monkeypatch, name):
    before = _fake_machine(monkeypatch, others_busy=1.0)
    choice = auto_threads(before, environ={name: "3"})
    assert choice == ThreadChoice(None, 2, choice.busy, name) and math.isnan(choice.busy)
    assert auto_threads(before, environ={name: " "}).threads == 1  # empty: not set


def test_explicit_threads_and_gpus_are_not_measured(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("measured the load although the count was given")

    monkeypatch.setattr(threads, "auto_threads", never)
    assert resolve_threads(3) == 3
    assert resolve_threads(None, on_cpu=False) is None


def test_make_predictor_sets_the_automatic_count(monkeypatch, golden_model, restore_torch_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    before = _fake_machine(monkeypatch, others_busy=1.0)
    monkeypatch.setattr("seqtrack.runtime.factory.cpu_times", lambda: before)  # the window's start
    torch.set_num_threads(2)
    make_predictor(golden_model)
    assert torch.get_num_threads() == 1


def test_make_predictor_keeps_the_users_count(monkeypatch, golden_model, restore_torch_threads):
    _fake_machine(monkeypatch, others_busy=1.0)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    make_predictor(golden_model, threads=2)  # --threads: the busy core does not matter
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the environment: the library's count stays
    torch.set_num_threads(2)
    make_predictor(golden_model)
    assert torch.get_num_threads() == 2


# ---------------------------------------------------------------------------------------------- waiting
def test_wait_policy_is_passive_unless_the_user_chose():
    assert wait_policy_defaults({}) == {"OMP_WAIT_POLICY": "PASSIVE"}
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"):
        assert wait_policy_defaults({name: ""}) == {}
    environ = {"PATH": "/bin"}
    assert apply_wait_policy(environ) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert environ == {"PATH": "/bin", "OMP_WAIT_POLICY": "PASSIVE"}
    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert apply_wait_policy(environ) == {} and environ == {"OMP_WAIT_POLICY": "ACTIVE"}


# CPU seconds this process burns while its main thread sleeps right after a 2-thread parallel op: the pool
# thread's spinning, if any. Runs apply_wait_policy() before torch is imported, as the command line does.
SPIN_PROBE = """
import json, os, resource, sys, time
from seqtrack.runtime.threads import apply_wait_policy
added = apply_wait_policy()
assert "torch" not in sys.modules
import torch
torch.set_num_threads(2)
a = torch.randn(256, 256)
spun = []
for _ in range(2):
    for _ in range(5):
        a.mul(1.0001).sum()
        torch.mm(a, a)
    used = resource.getrusage(resource.RUSAGE_SELF)
    start = used.ru_utime + used.ru_stime
    time.sleep(0.25)
    used = resource.getrusage(resource.RUSAGE_SELF)
    spun.append(used.ru_utime + used.ru_stime - start)
print(json.dumps({"added": added, "spun": min(spun), "policy": os.environ.get("OMP_WAIT_POLICY")}))
"""


def _spin_probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in threads.WAIT_POLICY_VARIABLES + threads.THREAD_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", SPIN_PROBE], env={**clean, **env}, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(len(threads.allowed_cpus()) < 2, reason="OpenMP throttles spinning on a single CPU")
def test_passive_waiting_reaches_openmp_when_set_before_torch():
    """Set before ``import torch``, the policy is what the OpenMP runtime uses: its idle thread sleeps, where
    with the user's ``OMP_WAIT_POLICY=ACTIVE`` (kept, not overridden) it spins through the whole pause."""
    passive = _spin_probe()
    active = _spin_probe(OMP_WAIT_POLICY="ACTIVE")
    assert passive["added"] == {"OMP_WAIT_POLICY": "PASSIVE"} and passive["policy"] == "PASSIVE"
    assert active["added"] == {} and active["policy"] == "ACTIVE"
    assert passive["spun"] < 0.03, passive
    assert active["spun"] > 0.1, active


def test_the_console_entry_sets_passive_waiting_before_torch_loads(tmp_path):
    # `seqtrack info demo` imports torch only after main() runs; the policy must be in the environment by then.
    probe = (
        "import os, sys\n"
        "import seqtrack.cli as cli\n"
        "seen = {}\n"
        "real = cli._main\n"
        "def spy(argv):\n"
        "    seen['torch_loaded'] = 'torch' in sys.modules\n"
        "    seen['policy'] = os.environ.get('OMP_WAIT_POLICY')\n"
        "    return 0\n"
        "cli._main = spy\n"
        "sys.argv = ['seqtrack', 'models']\n"
        "cli.main()\n"
        "print(seen['torch_loaded'], seen['policy'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "PASSIVE"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's choice is kept
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "ACTIVE"]
