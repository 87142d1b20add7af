"""Photo folders as generator sources (hash splits, disjointness, determinism) and the package fetcher
(`photo_packages`, with ``apt-get`` and ``dpkg-deb`` replaced by fakes: no network in tests)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from seqtrack.data.synthetic import SyntheticConfig, generate_sequence
from seqtrack.data.synthetic.photo_packages import PhotoPackage, fetch_package, fetch_photos, licence_of, output_name
from seqtrack.data.synthetic.photos import cutout_split, photo_bucket, photo_split
from seqtrack.errors import DatasetError, InputError

SIZE = (72, 96)


def _texture(seed: int, shape=(150, 200)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (shape[0] // 10, shape[1] // 10, 3), dtype=np.uint8)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for k in range(60):
        cv2.imwrite(str(folder / f"pkg__image_{k:03d}.jpg"), _texture(k))
    (folder / "manifest.json").write_text("{}")  # not an image: ignored
    return folder


def test_photo_splits_are_disjoint_stable_and_cover_the_folder(photo_folder):
    splits = {name: set(photo_split(str(photo_folder), name)) for name in ("train", "val", "test")}
    assert not splits["train"] & splits["val"] and not splits["train"] & splits["test"]
    assert not splits["val"] & splits["test"]
    assert sum(len(s) for s in splits.values()) == 60 and len(splits["train"]) > len(splits["val"])
    assert set(photo_split(str(photo_folder), "mixed")) == splits["train"]
    # the split of a file depends on its name only (CRC-32 buckets), not on the folder or its other files
    assert photo_bucket("/elsewhere/pkg__image_000.jpg") == photo_bucket("pkg__image_000.jpg")
    assert [photo_bucket(f"pkg__image_{k:03d}.jpg") for k in range(60)].count("train") == len(splits["train"])
    with pytest.raises(DatasetError, match="missing photo folder"):
        photo_split(str(photo_folder / "nowhere"), "train")


def test_sequences_draw_from_their_own_photo_split_and_are_deterministic(photo_folder):
    config = SyntheticConfig(photos=str(photo_folder), photo_share=1.0)
    for split in ("train", "val", "test"):
        seq = generate_sequence(0, 3, SIZE, split, seed=1, config=config)
        for key in ("target_source", "background_source"):
            assert seq.meta[key].startswith("photo:pkg__image_")
            assert photo_bucket(seq.meta[key][len("photo:") :]) == split
    a = generate_sequence(2, 4, SIZE, "train", seed=1, config=config)
    b = generate_sequence(2, 4, SIZE, "train", seed=1, config=config)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)) and a.meta == b.meta
    mixed = SyntheticConfig(photos=str(photo_folder), photo_share=0.5)
    drawn = {generate_sequence(i, 1, SIZE, "mixed", seed=2, config=mixed).meta["background_source"] for i in range(16)}
    assert any(name.startswith("photo:") for name in drawn) and any(not name.startswith("photo:") for name in drawn)


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Files: *
License: CC-BY-SA-4.0

Files: debian/*
License: GPL-2+
"""


class FakeApt:
    """Stands in for ``subprocess.run``: ``apt-get download`` writes a fake .deb, ``dpkg-deb -x`` unpacks
    a fixed tree (two photographs, one duplicate, one vector-like flat image, one unselected file)."""

    def __init__(self, fail: str | None = None):
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, args, cwd, capture_output, text):
        self.calls.append(list(args))
        if self.fail and args[0] == self.fail:
            return subprocess.CompletedProcess(args, 100, "", "Reading package lists...\nE: Unable to locate package\n")
        if args[:2] == ["apt-get", "download"]:
            (Path(cwd) / f"{args[2]}_1.0-2_all.deb").write_bytes(b"deb")
        else:
            root = Path(args[3])  # dpkg-deb -x DEB TARGET
            photos = root / "usr/share/backgrounds/fake"
            photos.mkdir(parents=True)
            cv2.imwrite(str(photos / "a.png"), _texture(1, (300, 2400)))
            cv2.imwrite(str(photos / "b.jpg"), _texture(2))
            (photos / "b_copy.jpg").write_bytes((photos / "b.jpg").read_bytes())
            cv2.imwrite(str(photos / "flat.png"), np.full((200, 200, 3), 90, np.uint8))
            cv2.imwrite(str(root / "usr/share/backgrounds/other.jpg"), _texture(3))
            doc = root / "usr/share/doc/fake-backgrounds"
            doc.mkdir(parents=True)
            (doc / "copyright").write_text(COPYRIGHT)
        return subprocess.CompletedProcess(args, 0, "", "")


SPEC = PhotoPackage("fake-backgrounds", r"^/usr/share/backgrounds/fake/")


def test_fetch_writes_downsized_photographs_and_a_manifest_and_is_idempotent(tmp_path):
    fake = FakeApt()
    assert fetch_photos(tmp_path, (SPEC,), run=fake, report=lambda line: None) == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    files = {entry["file"]: entry for entry in manifest["files"]}
    assert sorted(files) == ["fake-backgrounds__backgrounds_fake_a.jpg", "fake-backgrounds__backgrounds_fake_b.jpg"]
    assert manifest["packages"]["fake-backgrounds"] == {
        "version": "1.0-2",
        "licence": "CC-BY-SA-4.0 | GPL-2+",
        "count": 2,
    }
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert entry["licence"] == "CC-BY-SA-4.0 | GPL-2+" and entry["package"] == "fake-backgrounds"
    assert max(cv2.imread(str(tmp_path / "fake-backgrounds__backgrounds_fake_a.jpg")).shape[:2]) == 1024
    assert (tmp_path / "licences" / "fake-backgrounds.copyright").read_text() == COPYRIGHT
    calls = len(fake.calls)
    lines = []
    assert fetch_photos(tmp_path, (SPEC,), run=fake, report=lines.append) == []
    assert len(fake.calls) == calls and "already there" in lines[0]  # nothing downloaded again


def test_fetch_errors_are_one_line_naming_the_package(tmp_path):
    lines = []
    errors = fetch_photos(tmp_path, (SPEC,), run=FakeApt(fail="apt-get"), report=lines.append)
    assert errors == ["package fake-backgrounds: apt-get download fake-backgrounds failed: E: Unable to locate package"]
    assert lines == [f"error: {errors[0]}"] and "\n" not in errors[0]
    errors = fetch_photos(tmp_path, (SPEC,), run=FakeApt(fail="dpkg-deb"), report=lambda line: None)
    assert errors == [
        "package fake-backgrounds: dpkg-deb -x fake-backgrounds_1.0-2_all.deb failed: E: Unable to locate package"
    ]
    nothing = PhotoPackage("fake-backgrounds", r"/no/such/folder/")
    with pytest.raises(DatasetError, match="package fake-backgrounds: no photograph matched"):
        fetch_package(nothing, tmp_path, set(), run=FakeApt())
    with pytest.raises(InputError, match="package opencv-doc: holds real-footage validation clips"):
        fetch_package(PhotoPackage("opencv-doc", "."), tmp_path, set(), run=FakeApt())

    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(DatasetError, match="package fake-backgrounds: apt-get not found"):
        fetch_package(SPEC, tmp_path, set(), run=missing)


class FakeStamps(FakeApt):
    """A package of object photographs with transparency (one with alpha, one without: skipped)."""

    def __call__(self, args, cwd, capture_output, text):
        if args[:2] != ["dpkg-deb", "-x"]:
            return super().__call__(args, cwd, capture_output, text)
        stamps = Path(args[3]) / "usr/share/stamps"
        stamps.mkdir(parents=True)
        rgba = np.zeros((300, 900, 4), np.uint8)
        rgba[..., :3] = cv2.resize(_texture(4), (900, 300))
        alpha = np.zeros((300, 900), np.uint8)
        cv2.circle(alpha, (450, 150), 100, 255, -1)  # the object: a disc in the middle
        rgba[..., 3] = alpha
        cv2.imwrite(str(stamps / "ball.png"), rgba)
        cv2.imwrite(str(stamps / "opaque.png"), _texture(5))
        return subprocess.CompletedProcess(args, 0, "", "")


def test_fetch_keeps_cutouts_cropped_to_their_alpha(tmp_path):
    spec = PhotoPackage("fake-stamps", r"^/usr/share/stamps/", cutouts=True)
    assert fetch_photos(tmp_path, (spec,), run=FakeStamps(), report=lambda line: None) == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [entry["file"] for entry in manifest["files"]] == ["fake-stamps__stamps_ball.cutout.png"]
    image = cv2.imread(str(tmp_path / "fake-stamps__stamps_ball.cutout.png"), cv2.IMREAD_UNCHANGED)
    assert image.shape == (201, 201, 4)  # cropped to the disc
    assert cutout_split(str(tmp_path), photo_bucket("fake-stamps__stamps_ball.cutout.png")) == (
        f"photo:{tmp_path.resolve() / 'fake-stamps__stamps_ball.cutout.png'}",
    )


def test_licence_and_output_names():
    assert licence_of(COPYRIGHT) == "CC-BY-SA-4.0 | GPL-2+"
    assert licence_of("Free to use, see the README") == "see licences/<package>.copyright"
    assert output_name("pkg", "/usr/share/wallpapers/My Photo (1)/a.PNG") == "pkg__wallpapers_My_Photo_1_a.jpg"
    assert output_name("pkg", "/usr/share/stamps/cat.png", cutout=True) == "pkg__stamps_cat.cutout.png"
