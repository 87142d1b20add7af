"""Start-up of ``seqtrack track`` (issue 22 item 5): the command imports only what its path needs, and the
start-up stages it stamps for ``benchmarks/startup.py`` come in order."""

import gc
import json
import os
import subprocess
import sys

import cv2
import pytest

from seqtrack.cli.track import STARTUP_LOG_VARIABLE, CollectorPause, StartupLog
from seqtrack.data.synthetic import generate_sequence
from seqtrack.errors import InputError
from seqtrack.io.boxes import read_box_file

# Not needed to track a video with the torch backend: optional backends, the app, plotting, training,
# evaluation, and what torch loads only for compilation or symbolic shapes.
NOT_ON_THE_PATH = (
    "onnx",
    "onnxruntime",
    "matplotlib",
    "fastapi",
    "uvicorn",
    "scipy",
    "skvideo",
    "sympy",
    "torch._dynamo",
    "torch._inductor",
    "torch.fx.experimental.symbolic_shapes",
    "seqtrack.model.safe_pickle",
    "seqtrack.io.video",  # the annotated-video writer: only with --video-out
    "seqtrack.runtime.onnxruntime",
    "seqtrack.export",
    "seqtrack.train",
    "seqtrack.evaluate",
    "seqtrack.data",
    "seqtrack.bench",
    "seqtrack.app",
    "seqtrack.integrations",
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 4-frame generated video and its first box (``x,y,w,h`` pixels)."""
    sequence = generate_sequence(0, num_frames=4, size=(240, 320), split="test", seed=123)
    path = tmp_path_factory.mktemp("startup") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for frame in sequence.frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path, ",".join(repr(float(v)) for v in sequence.boxes[0])


def _track_in_a_new_process(clip, tmp_path, log):
    path, box = clip
    out = tmp_path / "boxes.txt"
    code = (
        "import json, sys; from seqtrack.cli import main; "
        f"status = main(['track', {str(path)!r}, '--weights', 'demo', '--box', {box!r}, '--out', {str(out)!r}, '-q']); "
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))"
    )
    env = dict(os.environ, **{STARTUP_LOG_VARIABLE: str(log)})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), out


def test_track_imports_only_what_its_path_needs_and_stamps_its_stages(clip, tmp_path):
    log = tmp_path / "stages.txt"
    report, out = _track_in_a_new_process(clip, tmp_path, log)
    assert report["status"] == 0 and len(read_box_file(out).boxes) == 4  # it did track, with torch
    modules = set(report["modules"])
    assert {"torch", "cv2", "seqtrack.tracking.tracker", "seqtrack.model.weights"} <= modules
    loaded = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_ON_THE_PATH))
    assert loaded == []
    stamps = [line.split() for line in log.read_text().splitlines()]
    assert [stage for stage, _, _ in stamps] == ["command", "source", "tracker", "init", "first_track"]
    for column in (1, 2):  # wall clock and CPU time, both running forward
        times = [float(stamp[column]) for stamp in stamps]
        assert times == sorted(times) and times[0] > 0


def test_startup_log_writes_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(STARTUP_LOG_VARIABLE, raising=False)
    StartupLog.from_environ().mark("command")  # unset: nothing to write, nothing written
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(STARTUP_LOG_VARIABLE, str(tmp_path / "log.txt"))
    StartupLog.from_environ().mark("command")
    stage, stamp, cpu = (tmp_path / "log.txt").read_text().split()
    assert stage == "command" and float(stamp) > 0 and float(cpu) > 0
    with pytest.raises(InputError, match=STARTUP_LOG_VARIABLE):
        StartupLog(str(tmp_path)).mark("source")  # a folder: cannot be appended to


def test_collector_pause_restores_the_state_it_found():
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with CollectorPause() as pause:
        assert not gc.isenabled()
        pause.resume()
        assert gc.isenabled() and gc.get_freeze_count() > 0  # start-up's objects are set aside
        pause.resume()  # twice: the same
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with pytest.raises(KeyError), CollectorPause():
        raise KeyError("a failed start-up")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        with CollectorPause() as pause:
            pause.resume()
            assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()
        gc.unfreeze()


def test_collector_pause_leaves_a_callers_frozen_objects_alone(monkeypatch):
    # Counted by call, not by gc.get_freeze_count(): frozen objects may be freed by reference counting
    # while the test runs (the count then drops by itself).
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: 1234)  # a caller has frozen objects
    with CollectorPause() as pause:
        pause.resume()
    assert calls == []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: 0)  # nothing frozen: the pause freezes, then thaws
    with CollectorPause() as pause:
        pause.resume()
    assert calls == ["freeze", "unfreeze"]


def test_only_the_process_entry_freezes_the_heap_before_exit():
    # The console script (argv None) owns the process: what is alive at its end skips the final collections.
    code = (
        "import gc, sys; from seqtrack.cli import main; main(['models']); before = gc.get_freeze_count(); "
        "sys.argv = ['seqtrack', 'models']; main(); print(before, gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    before, after = map(int, done.stdout.split()[-2:])
    assert before == 0 and after > 1000
