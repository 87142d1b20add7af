"""The real-footage validation set's scripts (benchmarks/real_footage): recipes, GOT-10k writing, fetching.

Synthetic frames only (a coloured disc over a noisy background) and a fake ``run`` in place of
``subprocess.run``: no network. The scripts are importable by their own names through this folder's conftest.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import annotate
import clips
import cv2
import fetch
import numpy as np
import pytest
import sheets
from clips import Clip, HsvRange, Recipe, Source

from seqtrack.data.got10k import read_sequence

ORANGE = (0, 128, 255)  # BGR; HSV hue 15
ORANGE_RANGE = HsvRange((10, 120, 80), (20, 255, 255))


def _background(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)  # grey: saturation stays low


def _disc(frame: np.ndarray, cx: int, cy: int, r: int, colour=ORANGE) -> tuple[int, int, int, int]:
    """Draw a filled disc; its tight ``xywh`` pixel box from the pixels actually drawn."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.circle(mask, (cx, cy), r, 255, -1)
    frame[mask > 0] = colour
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def test_recipe_box_equals_the_disc_box():
    recipe = Recipe(ranges=(ORANGE_RANGE,), open_px=3, close_px=3, min_area=20)
    for cx, cy, r in [(40, 50, 9), (100, 70, 15), (130, 30, 5)]:
        frame = _background()
        expected = _disc(frame, cx, cy, r)
        found = annotate.segment(frame, recipe)
        assert found.box == expected
        assert found.reason == ""


def test_no_target_or_two_equal_targets_are_unreliable():
    recipe = Recipe(ranges=(ORANGE_RANGE,), min_area=20)
    assert annotate.segment(_background(), recipe).box is None
    frame = _background()
    _disc(frame, 30, 40, 10)
    _disc(frame, 120, 80, 10)
    found = annotate.segment(frame, recipe)
    assert found.box is None and "ambiguous" in found.reason


def test_merge_joins_a_split_object_and_roi_drop_border_exclude():
    frame = _background()
    _disc(frame, 80, 60, 20)
    frame[55:66, 55:106] = (110, 110, 110)  # a grey finger across the disc splits it in two
    ys, xs = np.nonzero(np.all(frame == ORANGE, axis=2))
    expected = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    split = annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), min_area=20))
    assert split.box is None  # two halves of one size: ambiguous without merging
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), min_area=20, merge_px=15)).box == expected

    frame = _background()
    expected = _disc(frame, 110, 60, 8)
    frame[:, :30] = ORANGE  # a larger orange region at the frame's edge (a hand coming in)
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,))).box == (0, 0, 30, 120)
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), drop_border=True)).box == expected
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), roi=(40, 0, 120, 120))).box == expected
    # excluding the hue of the edge region alone is not possible (same colour): exclude removes everything
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), exclude=(ORANGE_RANGE,))).box is None


def test_holes_aspect_and_area_rules():
    frame = _background()
    plate = (20, 20, 60, 50)
    frame[20:70, 20:80] = (20, 20, 20)  # dark plate with three white dots
    for x, y in [(35, 35), (60, 35), (50, 55)]:
        cv2.circle(frame, (x, y), 4, (255, 255, 255), -1)
    frame[60:115, 90:155] = (20, 20, 20)  # a larger dark patch without dots
    dark = HsvRange((0, 0, 0), (179, 255, 60))
    assert annotate.segment(frame, Recipe(ranges=(dark,), ambiguity=10.0)).box == (90, 60, 65, 55)
    assert annotate.segment(frame, Recipe(ranges=(dark,), min_holes=3, ambiguity=10.0)).box == plate
    assert annotate.segment(frame, Recipe(ranges=(dark,), min_holes=4, ambiguity=10.0)).box is None

    frame = _background()
    frame[50:60, 20:80] = ORANGE  # a 60x10 bar is no ball
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), max_aspect=1.3)).box is None
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), max_area=500)).box is None
    assert annotate.segment(frame, Recipe(ranges=(ORANGE_RANGE,), max_area=700)).box == (20, 50, 60, 10)


def test_area_jump_and_hand_marked_frames_become_absent():
    frames, boxes = [], []
    for r in (10, 10, 20, 10, 10):  # frame 2's disc has four times the area
        frame = _background()
        boxes.append(_disc(frame, 80, 60, r))
        frames.append(frame)
    recipe = Recipe(ranges=(ORANGE_RANGE,), max_area_jump=2.0)
    got = [f.box for _, f in annotate.annotate_frames(iter(frames), recipe, absent={4})]
    assert got == [boxes[0], boxes[1], None, boxes[3], None]


def _image_source(tmp_path: Path, n: int = 6) -> tuple[Path, list]:
    raw = tmp_path / "raw"
    folder = raw / "fake"
    folder.mkdir(parents=True)
    boxes = []
    for i in range(n):
        frame = _background(seed=i)
        boxes.append(_disc(frame, 40 + 10 * i, 60, 10))
        cv2.imwrite(str(folder / f"image{i:04d}.png"), frame)
    return raw, boxes


def test_write_clip_makes_a_got10k_sequence(tmp_path, monkeypatch):
    raw, boxes = _image_source(tmp_path)
    source = Source("fake", "deb", "pkg", "1", "usr/share/fake", "", "MIT", "test", kind="images")
    monkeypatch.setitem(annotate.SOURCES, "fake", source)
    clip = Clip("disc", "fake", 1, 6, Recipe(ranges=(ORANGE_RANGE,)), "disc", "static", absent=((3, 4),))
    summary = annotate.write_clip(clip, raw, tmp_path / "val")
    assert summary["frames"] == 5 and summary["absent"] == 1 and summary["size"] == (160, 120)
    seq = read_sequence(tmp_path / "val" / "disc")
    assert len(seq.frames) == 5
    expected = [boxes[i] if i != 3 else (0, 0, 0, 0) for i in range(1, 6)]
    np.testing.assert_array_equal(seq.boxes, np.array(expected, float))
    assert seq.visible.tolist() == [True, True, False, True, True]
    sheet = sheets.make_sheet(tmp_path / "val" / "disc", tiles=5, columns=4, size=64)
    assert sheet.shape == (128, 256, 3)


def test_write_clip_refuses_an_unreliable_first_frame(tmp_path, monkeypatch):
    raw, _ = _image_source(tmp_path)
    monkeypatch.setitem(annotate.SOURCES, "fake", Source("fake", "deb", "p", "1", "m", "", "", "", kind="images"))
    clip = Clip("disc", "fake", 0, 3, Recipe(ranges=(ORANGE_RANGE,)), "disc", "static", absent=((0, 1),))
    with pytest.raises(annotate.AnnotationError, match="first frame 0"):
        annotate.write_clip(clip, raw, tmp_path / "val")
    missing = replace(clip, source="nope")
    monkeypatch.setitem(annotate.SOURCES, "nope", Source("nope", "deb", "p", "1", "m", "", "", ""))
    with pytest.raises(annotate.AnnotationError, match="missing source"):
        annotate.write_clip(missing, raw, tmp_path / "val")


def test_the_set_is_large_enough_and_documented():
    assert len(clips.CLIPS) >= 5
    assert sum(c.stop - c.start for c in clips.CLIPS) >= 1000
    for clip in clips.CLIPS:
        source = clips.SOURCES[clip.source]
        assert source.licence and len(source.sha256) == 64 and clip.stop > clip.start >= 0


def _done(returncode: int = 0, stdout: bytes = b"", stderr: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(args=[], returncode=returncode, stdout=stdout, stderr=stderr)


def test_fetch_names_a_missing_package(tmp_path):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return _done(100, stderr=b"E: Can't find a source to download version '1' of 'nopkg'\n")

    source = Source("x", "deb", "nopkg", "1", "usr/share/x.mp4", "0" * 64, "", "")
    with pytest.raises(fetch.FetchError, match=r"apt-get download nopkg=1 failed: E: Can't find"):
        fetch.fetch_source(source, tmp_path / "debs", tmp_path / "raw", run=fake_run)
    assert calls == [["apt-get", "download", "nopkg=1"]]

    def no_apt(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    with pytest.raises(fetch.FetchError, match="apt-get not found"):
        fetch.fetch_source(source, tmp_path / "debs", tmp_path / "raw", run=no_apt)
    assert fetch.main(["--only", "nosuchclip"]) == 2


class FakeDpkg:
    """Stands in for ``subprocess.run``: ``dpkg-deb -x DEB TARGET`` writes ``files`` (path in the package:
    bytes, or ``Path`` for a symlink to it) under TARGET; the package's .deb is put in the cache beforehand."""

    def __init__(self, tmp_path: Path, files: dict[str, bytes | Path]):
        self.files, self.calls = files, []
        (tmp_path / "debs").mkdir(exist_ok=True)
        (tmp_path / "debs" / "pkg_1_all.deb").write_bytes(b"not used: dpkg-deb is faked")

    def __call__(self, command, **kwargs):
        self.calls.append(command[0])
        if command[:2] == ["dpkg-deb", "-x"]:
            for name, data in self.files.items():
                path = Path(command[3]) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(data, Path):
                    path.symlink_to(data)
                else:
                    path.write_bytes(data)
        return _done(0)


def test_fetch_extracts_checks_and_is_idempotent(tmp_path):
    payload = b"video bytes"
    fake = FakeDpkg(tmp_path, {"usr/share/pkg/clip.mp4": payload, "usr/share/pkg/other.txt": b"x"})
    good = Source("c", "deb", "pkg", "1", "usr/share/pkg/clip.mp4", hashlib.sha256(payload).hexdigest(), "", "")
    assert fetch.fetch_source(good, tmp_path / "debs", tmp_path / "raw", run=fake) is True
    assert (tmp_path / "raw" / "c.mp4").read_bytes() == payload
    assert fake.calls == ["dpkg-deb"]  # the .deb was in the cache: no apt-get download
    assert fetch.fetch_source(good, tmp_path / "debs", tmp_path / "raw", run=fake) is False
    assert fake.calls == ["dpkg-deb"]  # second run: nothing done

    changed = replace(good, key="d", sha256="f" * 64)
    with pytest.raises(fetch.FetchError, match=r"pkg: /usr/share/pkg/clip.mp4 changed"):
        fetch.fetch_source(changed, tmp_path / "debs", tmp_path / "raw", run=fake)
    gone = replace(good, key="e", member="usr/share/pkg/gone.mp4")
    with pytest.raises(fetch.FetchError, match=r"/usr/share/pkg/gone.mp4 is missing from pkg_1_all.deb"):
        fetch.fetch_source(gone, tmp_path / "debs", tmp_path / "raw", run=fake)


def test_fetch_takes_the_plain_files_of_an_image_folder(tmp_path):
    outside = tmp_path / "host_file.png"
    outside.write_bytes(b"a file of this machine, not of the package")
    files = {"frames/a.png": b"a", "frames/b.png": b"b", "frames/deeper/c.png": b"c", "frames/link.png": outside}
    fake = FakeDpkg(tmp_path, {f"usr/share/pkg/{name}": data for name, data in files.items()})
    lines = f"a.png {hashlib.sha256(b'a').hexdigest()}\nb.png {hashlib.sha256(b'b').hexdigest()}\n"
    tree = hashlib.sha256(lines.encode()).hexdigest()
    source = Source("f", "deb", "pkg", "1", "usr/share/pkg/frames", tree, "", "", kind="images")
    assert fetch.fetch_source(source, tmp_path / "debs", tmp_path / "raw", run=fake) is True
    assert sorted(p.name for p in (tmp_path / "raw" / source.raw_name).iterdir()) == ["a.png", "b.png"]
    empty = replace(source, key="g", member="usr/share/pkg/nothing")
    with pytest.raises(fetch.FetchError, match=r"pkg: no files under /usr/share/pkg/nothing in pkg_1_all.deb"):
        fetch.fetch_source(empty, tmp_path / "debs", tmp_path / "raw", run=fake)
