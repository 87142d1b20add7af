"""Source images of the synthetic sequences: the photographs in scikit-image's wheel and procedural collages.

A sequence draws its background, its target and its occluders from the source list of its split
(`SOURCE_SPLITS`); train and test lists are disjoint, and every split has its own random stream
(`split_stream`), so one seed gives independent sequences in different splits.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from seqtrack.data import procedural
from seqtrack.data.synthetic.photos import is_photo, load_photo
from seqtrack.errors import DatasetError, require_extra
from seqtrack.io.images import ImageReadError, read_rgb

# Images that are files inside the scikit-image wheel (never the ones its data module downloads).
SKIMAGE_FILES: dict[str, str] = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle_left": "motorcycle_left.png",
    "brick": "brick.png",
    "grass": "grass.png",
    "moon": "moon.png",
    "retina": "retina.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "camera": "camera.png",
    "coins": "coins.png",
    "gravel": "gravel.png",
    "cell": "cell.png",
    "colorwheel": "color.png",
    "clock_motion": "clock_motion.png",
    "logo": "logo.png",
    "text": "text.png",
    "page": "page.png",
}

# A source entry that draws a fresh procedural dead-leaves collage (`seqtrack.data.procedural`) each time
# it is picked, seeded from the sequence's random stream: unlimited look-alike-rich textures.
PROCEDURAL = "leaves-*"

# Disjoint source images per split (motorcycle_right is left out: it is motorcycle_left's stereo twin).
# To use other images, add a split: ``SOURCE_SPLITS["mine"] = ("coffee", "brick")`` (names of SKIMAGE_FILES).
_TRAIN_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "brick", "grass", "moon")
SOURCE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": _TRAIN_PHOTOS,
    "test": ("retina", "hubble_deep_field", "immunohistochemistry", "camera", "coins", "gravel", "cell", "colorwheel"),
    # For model selection: images in neither train nor test.
    "val": ("clock_motion", "logo", "text", "page"),
    # The train photographs, and in half the draws a procedural collage (the demo model's stage 3).
    "mixed": _TRAIN_PHOTOS + (PROCEDURAL,) * len(_TRAIN_PHOTOS),
}


def split_stream(split: str) -> int:
    """Random-stream id of a split: different splits draw independent sequences even with one seed."""
    return zlib.crc32(split.encode("utf-8"))


@dataclass(frozen=True)
class SourcePool:
    """The source images of one sequence: the split's own ``names`` and, with probability ``photo_share``
    per draw, one of ``photos`` (``photo:<path>`` names of a photo folder, `seqtrack.data.synthetic.photos`);
    the target is one of the ``cutouts`` (objects with their real outline) with probability ``cutout_share``."""

    names: tuple[str, ...]
    photos: tuple[str, ...] = ()
    photo_share: float = 0.0
    cutouts: tuple[str, ...] = ()
    cutout_share: float = 0.0


def draw_source(rng: np.random.Generator, sources: tuple[str, ...] | SourcePool) -> str:
    """Pick a source image name; `PROCEDURAL` becomes ``leaves-<k>`` with ``k`` from ``rng``.

    A `SourcePool` with photographs costs one extra draw (photo or not); a plain tuple draws as it always did.
    """
    if isinstance(sources, SourcePool):
        if sources.photos and rng.random() < sources.photo_share:
            return sources.photos[int(rng.integers(len(sources.photos)))]
        sources = sources.names
    name = sources[int(rng.integers(len(sources)))]
    if name == PROCEDURAL:
        name = f"{procedural.PREFIX}{int(rng.integers(1_000_000))}"
    return name


def load_source_image(name: str) -> np.ndarray:
    """A source image as ``(H, W, 3)`` uint8 RGB, read-only: a scikit-image photograph (grey images
    replicated), ``leaves-<k>`` (procedural collage ``k``) or ``photo:<path>`` (a photo-folder file).
    Photographs stay cached; collages, the last 16; photo-folder files, the last 48."""
    if name.startswith(procedural.PREFIX) and name[len(procedural.PREFIX) :].isdigit():
        return _procedural_source(name)
    if is_photo(name):
        return load_photo(name)
    return _photograph(name)


@lru_cache(maxsize=16)
def _procedural_source(name: str) -> np.ndarray:
    image = procedural.dead_leaves_image(int(name[len(procedural.PREFIX) :]))
    image.setflags(write=False)
    return image


@cache
def _photograph(name: str) -> np.ndarray:
    if name not in SKIMAGE_FILES:
        raise ValueError(f"unknown source image {name!r}; known: {', '.join(SKIMAGE_FILES)}")
    require_extra("skimage", "synthetic", "the synthetic data generator")
    path = resources.files("skimage.data").joinpath(SKIMAGE_FILES[name])
    try:
        image = read_rgb(str(path))
    except ImageReadError:
        # The file belongs to an installed package: its absence means a broken install, not a bad path.
        raise DatasetError(
            f"missing scikit-image data file: expected {path} (reinstall it: pip install 'seqtrack[synthetic]')"
        ) from None
    image.setflags(write=False)
    return image


def tinted(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey sources get a random colour tint so textures are not all grey; colour ones are kept."""
    if np.array_equal(image[::17, ::17, 0], image[::17, ::17, 1]):
        tint = rng.uniform(0.55, 1.15, size=3).astype(np.float32)
        return np.clip(image.astype(np.float32) * tint, 0, 255).astype(np.uint8)
    return image
