"""A camera video whose container announces one frame more than it decodes tracks to the end: exit 0,
every decodable frame has its box line, and a note says the video ended short (issue 18, item 9)."""

from __future__ import annotations

import cv2
import numpy as np

from seqtrack.cli import main
from seqtrack.io.boxes import read_box_file
from seqtrack.model.weights import save_safetensors
from support import announce_frames, golden_file


def test_one_frame_short_tracks_to_the_end(tmp_path, golden_model, capsys):
    data = dict(np.load(golden_file("tiny_tracker.npz")))
    frames = data["frames"][:12]
    video = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, frames.shape[2:0:-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    announce_frames(video, len(frames) + 1)
    weights = tmp_path / "tiny.safetensors"
    save_safetensors(golden_model, weights)
    box = ",".join(repr(float(v)) for v in data["init_box"])
    status = main(
        ["track", str(video), "--weights", str(weights), "--box", box, "--out", str(tmp_path / "b.txt"), "-q"]
    )
    err = capsys.readouterr().err
    assert status == 0
    assert len(read_box_file(tmp_path / "b.txt").boxes) == len(frames)
    assert "note: video" in err and "ended 1 frame(s) short of the 13" in err and "error" not in err
