"""`seqtrack.integrations.vot`: the TraX server for the VOT toolkit, and its ``trackers.ini``.

The server loop is driven by a stand-in ``trax`` module (scripted requests), so these tests need neither
``vot-trax`` nor the toolkit. The toolkit end to end is `test_vot_toolkit.py` (scratch venv).
"""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.integrations.vot import VotSession, read_rgb, serve, tracker_command, write_trackers_ini


def test_missing_trax_is_one_line_naming_the_package(tiny_weights):
    code = "import sys; sys.modules['trax'] = None; from seqtrack.integrations.vot import main; main()"
    argv = [sys.executable, "-c", code, "--weights", str(tiny_weights)]
    # through -m as the toolkit runs it: exit 2 and one line on stderr
    env_code = "import sys, runpy; sys.modules['trax'] = None; sys.argv[0] = 'x'; "
    env_code += "runpy.run_module('seqtrack.integrations.vot', run_name='__main__')"
    for command in (argv, [sys.executable, "-c", env_code, "--weights", str(tiny_weights)]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and "pip install vot-trax" in done.stderr, done.stderr
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr


class FakeResult(SimpleNamespace):
    box: np.ndarray
    score: float


class FakeTracker:
    """Records the frames it sees; its box moves 1 px right per frame from the last ``init``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.box = np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.calls.append(("init", int(frame[0, 0, 0])))
        self.box = np.array(box, dtype=np.float64)

    def track(self, frame: np.ndarray) -> FakeResult:
        self.calls.append(("track", int(frame[0, 0, 0])))
        self.box = self.box + [1, 0, 0, 0]
        return FakeResult(box=self.box, score=20.0)


def _frames(tmp_path: Path, n: int) -> list[str]:
    """``n`` JPEG-safe frames whose red channel at the corner is the frame's index x 10."""
    paths = []
    for i in range(n):
        rgb = np.full((16, 16, 3), i * 10, dtype=np.uint8)
        path = tmp_path / f"{i:08d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        paths.append(str(path))
    return paths


class FakeTrax:
    """A stand-in for the ``trax`` module: a server replaying ``requests`` and recording the replies."""

    def __init__(self, requests: list[tuple[str, str, tuple[float, ...] | None]]) -> None:
        self.requests, self.replies = list(requests), []
        self.Region = SimpleNamespace(RECTANGLE="rectangle")
        self.Image = SimpleNamespace(PATH="path")
        self.TraxStatus = SimpleNamespace(INITIALIZE="initialize", FRAME="frame", QUIT="quit")
        self.Rectangle = SimpleNamespace(create=lambda *box: tuple(box))
        self.formats = None

    def Server(self, regions, images):  # noqa: N802  # trax's name
        self.formats = (regions, images)
        fake = self

        class Server:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def wait(self):
                kind, path, box = fake.requests.pop(0)
                image = {"color": SimpleNamespace(path=lambda: path)}
                objects = [(SimpleNamespace(bounds=lambda: box), {})] if box else None
                return SimpleNamespace(type=kind, image=image, objects=objects)

            def status(self, objects):
                fake.replies.append(objects)

        return Server()


def test_serve_resets_on_every_initialize(tmp_path):
    paths = _frames(tmp_path, 4)
    requests = [
        ("initialize", paths[0], (1.0, 2.0, 3.0, 4.0)),
        ("frame", paths[1], None),
        ("frame", paths[2], None),
        ("initialize", paths[2], (10.0, 2.0, 3.0, 4.0)),  # a re-initialisation, same process
        ("frame", paths[3], None),
        ("quit", "", None),
    ]
    trax, tracker = FakeTrax(requests), FakeTracker()
    assert serve(VotSession(tracker), trax) == 5
    assert trax.formats == (["rectangle"], ["path"])
    assert tracker.calls == [("init", 0), ("track", 10), ("track", 20), ("init", 20), ("track", 30)]
    boxes = [reply[0][0] for reply in trax.replies]
    assert boxes == [(1, 2, 3, 4), (2, 2, 3, 4), (3, 2, 3, 4), (10, 2, 3, 4), (11, 2, 3, 4)]
    assert [reply[0][1]["confidence"] for reply in trax.replies] == [1.0, 0.5, 0.5, 1.0, 0.5]


def test_session_with_the_real_tracker_matches_the_tracker(tiny_weights, tmp_path):
    from seqtrack.evaluate.fixtures import FixtureSpec, ground_truth, render_frames
    from seqtrack.tracking.tracker import Tracker

    spec = FixtureSpec(n_frames=4)
    gt = ground_truth(0, spec)
    paths = []
    for i, rgb in enumerate(render_frames(0, gt, spec)):
        paths.append(str(tmp_path / f"{i:08d}.png"))  # lossless: the session and the check see one image
        cv2.imwrite(paths[-1], cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    session = VotSession(Tracker.from_pretrained(tiny_weights, threads=1))
    reference = Tracker.from_pretrained(tiny_weights, threads=1)
    assert session.initialize(paths[0], gt[0]) == (gt[0].tolist(), 1.0)
    reference.init(read_rgb(paths[0]), gt[0])
    for path in paths[1:]:
        box, confidence = session.frame(path)
        expected = reference.track(read_rgb(path))
        np.testing.assert_array_equal(box, expected.box)
        assert confidence == pytest.approx(expected.score / 40) and 0 <= confidence <= 1


def test_session_refuses_frames_before_init_and_unreadable_images(tmp_path):
    with pytest.raises(InputError, match="before any initialisation"):
        VotSession(FakeTracker()).frame("x.jpg")
    with pytest.raises(InputError, match="cannot read the image"):
        VotSession(FakeTracker()).initialize(str(tmp_path / "missing.jpg"), [0, 0, 1, 1])


def test_trackers_ini_runs_our_module_with_absolute_paths(tmp_path, tiny_weights, monkeypatch):
    monkeypatch.chdir(tiny_weights.parent)
    ini = write_trackers_ini(tmp_path / "ws", tiny_weights.name, "/opt/py 3/bin/python", threads=1, updates="vot20")
    config = configparser.ConfigParser()  # as the toolkit reads it (interpolation on)
    config.read(ini)
    section = config["seqtrack"]
    assert (section["label"], section["protocol"]) == ("seqtrack", "trax")
    words = shlex.split(section["command"])
    assert words == [
        "/opt/py 3/bin/python",
        "-m",
        "seqtrack.integrations.vot",
        "--weights",
        str(tiny_weights.resolve()),
        "--threads",
        "1",
        "--updates",
        "vot20",
    ]
    # a registered name stays a name; '%' survives the interpolation
    assert shlex.split(tracker_command("b256", "/p%y"))[:1] == ["/p%y"]
    config.read(write_trackers_ini(tmp_path / "ws", "b256", "/p%y", name="other"))
    assert shlex.split(config["other"]["command"])[0] == "/p%y"
    with pytest.raises(InputError, match="tracker name"):
        write_trackers_ini(tmp_path, "b256", name="a b")
