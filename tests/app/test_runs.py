"""Tracking runs through the web app's server: the same boxes as ``seqtrack track``, pause, stop, one run at a
time, a client that leaves, a video that breaks mid-way. Runs on the demo model (a few frames each)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import pytest

from seqtrack.cli import main


def events(lines) -> list[dict]:
    return [json.loads(line) for line in lines if line.strip()]


def reference_boxes(tmp_path, source, boxes, start: int, frames: int, *extra: str) -> list[np.ndarray]:
    """``seqtrack track``'s box files for the same video, boxes and frames (one thread, as the app's tests)."""
    out = tmp_path / "reference" / "boxes.txt"
    argv = ["track", str(source), "--start-frame", str(start), "--max-frames", str(frames), "--out", str(out)]
    argv += [f"--box={','.join(map(str, box))}" for box in boxes] + ["--threads", "1", "--quiet", *extra]
    assert main(argv) == 0
    files = [out] if len(boxes) == 1 else [out.with_name(f"boxes_t{k}.txt") for k in range(len(boxes))]
    return [np.loadtxt(path, delimiter=",") for path in files]


@pytest.mark.parametrize("boxes", [[[376, 52, 144, 218], [180, 120, 60, 60]]])
def test_two_targets_give_seqtrack_tracks_boxes(client_for, tmp_path, boxes):
    client = client_for()
    video = client.post("/api/open", json={"source": "demo"}).json()
    if "id" not in video:
        pytest.skip(video["error"])
    request = {"video": video["id"], "boxes": boxes, "start_frame": 80, "max_frames": 6, "updates": "got10k_test"}
    request["fields"] = {"lost_search_factor": 5, "lost_after": 2}
    with client.stream("POST", "/api/track", json=request) as response:
        run = events(response.iter_lines())
    assert [e["type"] for e in run if e["type"] != "heartbeat"] == ["status", "start"] + ["frame"] * 6 + ["end"]
    end = run[-1]
    assert (
        end["state"] == "done"
        and end["frames"] == 6
        and end["downloads"]
        == [
            "boxes_t0.txt",
            "boxes_t1.txt",
            "tracked.mp4",
        ]
    )
    frames = [e for e in run if e["type"] == "frame"]
    assert [e["index"] for e in frames] == list(range(80, 86)) and frames[0]["scores"] == [None, None]
    extra = ("--updates", "got10k_test", "--lost-search-factor", "5", "--lost-after", "2")
    expected = reference_boxes(tmp_path, client.app.state.seqtrack.config.demo.path, boxes, 80, 6, *extra)
    for k in range(2):
        served = np.loadtxt(client.get(f"/api/download/boxes_t{k}.txt").text.splitlines(), delimiter=",")
        np.testing.assert_allclose(served, expected[k], atol=0.01, equal_nan=True)
        np.testing.assert_allclose([e["boxes"][k] for e in frames], expected[k][:, :4], atol=0.01)
    video_file = client.get("/api/download/tracked.mp4")
    assert video_file.status_code == 200 and video_file.headers["content-type"] == "video/mp4"
    assert b"ftyp" in video_file.content[:16]


def test_a_video_that_breaks_mid_way_ends_with_one_message(client_for, tmp_path, write_video):
    client = client_for()
    clip = write_video(tmp_path / "clip.avi", frames=40).read_bytes()
    video = client.post("/api/upload?filename=clip.avi", content=clip[: len(clip) // 2]).json()
    assert video["frames"] == 40  # the header still announces them all
    with client.stream("POST", "/api/track", json={"video": video["id"], "boxes": [[4, 16, 16, 16]]}) as response:
        end = events(response.iter_lines())[-1]
    assert end["state"] == "error" and 0 < end["frames"] < 40, end
    assert "clip.avi" in end["message"] and "uploads" not in end["message"] and "\n" not in end["message"]
    kept = client.get("/api/download/boxes.txt").text.splitlines()
    assert len(kept) == end["frames"]  # what was tracked before the break is kept
    assert client.get("/api/state").json() == {"busy": False, "state": "error"}


class Reader:
    """Reads a run's event lines in a thread, so the test can act while it streams."""

    def __init__(self, url: str, request: dict) -> None:
        self.events: list[dict] = []
        self.client = httpx.Client(timeout=30)
        self.response = self.client.send(
            self.client.build_request("POST", f"{url}/api/track", json=request), stream=True
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line.strip():
                    self.events.append(json.loads(line))
        except httpx.HTTPError:
            pass  # the test closed the connection

    def wait_for(self, kind: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if e["type"] == kind]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"no {kind!r} event in {timeout} s: {[e['type'] for e in self.events]}")

    def close(self) -> None:
        self.response.close()
        self.client.close()


def wait_idle(url: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{url}/api/state").json()
        if not state["busy"]:
            return state
        time.sleep(0.05)
    raise AssertionError("the run did not end")


def demo_request(url: str, frames: int = 40) -> dict:
    video = httpx.post(f"{url}/api/open", json={"source": "demo"}).json()
    if "id" not in video:
        pytest.skip(video["error"])
    return {"video": video["id"], "boxes": [[376, 52, 144, 218]], "start_frame": 76, "max_frames": frames}


def test_pause_busy_resume_stop(live_server):
    url = live_server().url
    request = demo_request(url)
    reader = Reader(url, request)
    try:
        reader.wait_for("frame")
        assert httpx.post(f"{url}/api/control", json={"action": "pause"}).status_code == 200
        reader.wait_for("paused")
        paused_at = len([e for e in reader.events if e["type"] == "frame"])
        second = httpx.post(f"{url}/api/track", json=request)  # one run at a time: the second is told so
        assert second.status_code == 409 and second.json()["error"].startswith("busy: another run is in progress")
        time.sleep(0.6)  # paused: no frame comes, only heartbeats
        assert len([e for e in reader.events if e["type"] == "frame"]) == paused_at
        assert reader.events[-1]["type"] == "heartbeat"
        httpx.post(f"{url}/api/control", json={"action": "resume"})
        reader.wait_for("resumed")
        httpx.post(f"{url}/api/control", json={"action": "stop"})
        end = reader.wait_for("end")
    finally:
        reader.close()
    assert end["state"] == "stopped" and paused_at <= end["frames"] < 40
    boxes = httpx.get(f"{url}/api/download/boxes.txt").text.splitlines()
    assert len(boxes) == end["frames"]


def test_a_client_that_leaves_stops_its_run(live_server):
    url = live_server().url
    reader = Reader(url, demo_request(url, frames=61))
    reader.wait_for("frame")
    reader.close()  # the tab was closed
    assert wait_idle(url) == {"busy": False, "state": "stopped"}
    assert httpx.get(f"{url}/api/info").status_code == 200
