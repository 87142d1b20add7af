"""Image sequences as a `FrameSource`: a folder of frames, a glob pattern, or a single image.

Every file is decoded fully by `seqtrack.io.images.read_rgb`, so a corrupt, empty, truncated,
unreadable or vanished file is reported at its frame, naming the file, after every frame before it
was yielded. Which files count as frames:

* a folder: the entries directly in it whose extension is an image extension (any case), in natural
  order (``2.jpg`` before ``10.jpg``); dot-files (macOS ``._0001.jpg`` forks) and folders are skipped,
  other files (``groundtruth.txt``) ignored. A dangling symlink or a symlink loop named like an image
  stays in the list and fails at its frame: dropping it would silently shift every later index;
* a glob: its matches, the same filter, in natural order of their paths. A recursive ``**`` pattern
  follows symlinks to folders, so a link back up the tree would repeat every frame below it (Python
  stops only at the OS's symlink depth); a folder reached twice is listed once, by its shortest path.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from pathlib import Path

import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.frame_source import DEFAULT_FPS, FrameSource
from seqtrack.io.images import ImageReadError, read_rgb

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``2.jpg`` before ``10.jpg``.

    Case-insensitive; ties (``01.jpg`` vs ``1.jpg``) are broken by the raw text so the order is total.
    """
    # re.split with a capture group alternates text, number, text, ...: types line up position by
    # position, so comparing two keys never compares an int with a str.
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)), text


class ImageSequenceSource(FrameSource):
    """Frames from an ordered list of image files; all must decode and share one size."""

    kind = "images"

    def __init__(self, files: list[Path], name: str, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        self.name = name
        self._files = files
        self.fps = DEFAULT_FPS
        self.total_frames = len(files)
        if start_frame >= len(files):
            raise InputError(f"start_frame {start_frame} is past the end of {name} ({len(files)} frames)")
        self.num_frames = self._limit_count(len(files) - start_frame)
        self.frame_size = None
        self._prime()

    def _read(self, index: int) -> np.ndarray | None:
        if index >= len(self._files):
            return None
        path = self._files[index]
        try:
            frame = read_rgb(path)
        except ImageReadError as error:
            # The list was taken when the source opened: a name gone now was deleted or moved during
            # the run, which says more than the bare OS error (a dangling symlink keeps its OS error).
            gone = error.missing and not os.path.lexists(path)
            reason = f"'{path}' disappeared after the source was opened" if gone else error.reason
            # The reader names the file and whether reading or decoding failed; add which frame.
            raise InputError(f"{self.name} is unreadable at frame {index}: {reason}") from None
        size = (int(frame.shape[0]), int(frame.shape[1]))
        if self.frame_size is not None and size != self.frame_size:
            raise InputError(
                f"{self.name}: frame {index} '{path}' is {size[0]}x{size[1]} (HxW) but the frames "
                f"before it are {self.frame_size[0]}x{self.frame_size[1]}; all images must share one size"
            )
        return frame

    def _release(self) -> None:
        pass  # each file is opened and closed inside _read


def _is_image_name(path: Path) -> bool:
    # Dot-files are skipped: macOS leaves "._0001.jpg" resource forks beside real frames.
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _is_frame(path: Path) -> bool:
    """An image name that is not a folder. Not ``is_file()``: that is False for a dangling symlink or a
    symlink loop, which would drop the frame silently and shift every index after it."""
    return _is_image_name(path) and not path.is_dir()


def _images_in(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, naturally sorted; other files (groundtruth.txt, ...) ignored."""
    files = [p for p in folder.iterdir() if _is_frame(p)]
    return sorted(files, key=lambda p: natural_key(p.name))


def open_folder(folder: Path, start_frame: int, max_frames: int | None) -> FrameSource:
    """The images directly in ``folder`` as a source; `InputError` if it holds none (with a hint to a
    subfolder that does, as benchmarks keep frames one level down)."""
    try:
        files = _images_in(folder)
    except OSError as error:
        raise InputError(f"folder '{folder}' cannot be listed ({error.strerror or error})") from None
    if not files:
        hint = ""
        try:
            # Benchmarks keep frames one level down (LaSOT: <seq>/img/); point there rather than shrug.
            for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
                if _images_in(sub):
                    hint = f"; did you mean '{sub}'?"
                    break
        except OSError:
            pass
        raise InputError(f"folder '{folder}' contains no images ({', '.join(sorted(IMAGE_EXTENSIONS))}){hint}")
    name = f"image folder '{folder}'"
    return ImageSequenceSource(files, name, start_frame=start_frame, max_frames=max_frames)


def _once_per_folder(paths: list[Path]) -> list[Path]:
    """Drop matches that reach an already-listed folder again through a symlink (``a/up/x.png`` where
    ``a/up`` links back to ``.``), keeping the shortest path to each. Two names for one file in the
    same folder (a repeated frame linked on purpose) are both kept."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for path in sorted(paths, key=lambda p: (len(p.parts), natural_key(str(p)))):
        key = (os.path.realpath(path.parent), path.name)
        if key not in seen:
            seen.add(key)
            kept.append(path)
    return kept


def open_glob(pattern: str, start_frame: int, max_frames: int | None) -> FrameSource:
    """The images matching ``pattern`` (``**`` recursive) in natural order of their paths."""
    matches = [Path(p) for p in globlib.glob(pattern, recursive=True)]
    files = [p for p in matches if not p.is_dir()]
    if not files:
        raise InputError(f"glob '{pattern}' matches no file")
    images = sorted(_once_per_folder([p for p in files if _is_image_name(p)]), key=lambda p: natural_key(str(p)))
    if not images:
        raise InputError(
            f"glob '{pattern}' matches {len(files)} file(s) but no image "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}), e.g. '{files[0]}'"
        )
    name = f"images '{pattern}'"
    return ImageSequenceSource(images, name, start_frame=start_frame, max_frames=max_frames)
