"""Frame sources: a video file, a folder or glob of images, or a camera, behind one iterator.

``open_source(spec)`` is the one entry point. Whatever the source, iterating it yields
``(index, frame_rgb)`` pairs where

* ``index`` is the frame's 0-based position in the *whole* source (so with ``start_frame=5`` the first
  pair has index 5), which is the number benchmarks and annotation files use;
* ``frame_rgb`` is an ``(H, W, 3)`` uint8 array in RGB order. OpenCV's BGR becomes RGB at this edge,
  once (images through `seqtrack.io.images.read_rgb`, video and camera frames here), and nothing
  downstream converts again. Grayscale images and videos become 3 identical channels; an alpha
  channel is dropped; 16-bit images are scaled to 8 bits.

Errors are `InputError` with one line naming the source (and the frame and file at fault). A source
that turns unreadable part-way raises only *after* yielding every frame before the bad one, so a
caller that writes results as it goes keeps everything it tracked.

What can and cannot be detected for videos (OpenCV's FFmpeg backend decides what it can decode):

* detected: a path that does not exist, an unsupported extension, a file OpenCV cannot open at all
  (not a video, an unknown codec, or an MP4/MOV truncated before its index: such files usually keep
  the ``moov`` index at the end, so cutting them loses every frame and they fail to open);
* detected: a video that ends before the number of frames its container announced
  (``CAP_PROP_FRAME_COUNT``), e.g. a truncated AVI, MKV or fast-start MP4. The error names the first
  frame that could not be read. For MP4/MOV/M4V/3GP/AVI the announced count is read from the file's
  own tables and is exact, so any shortfall is reported (the flip side: a rare file whose header
  overstates its count, e.g. frames hidden by an MP4 edit list, is reported too, after every
  decodable frame was yielded). For other containers (MKV, WebM, MPEG-TS,
  GIF, ...) OpenCV estimates the count from duration × fps, so a shortfall is reported only when it
  exceeds ``max(2, 2 %)`` of the estimate: a few missing frames at the end of such a file go unnoticed,
  and a stream with no announced count (a camera, some streams) ends silently wherever it ends;
* not detected at its place: a damaged frame in the *middle* of a video. FFmpeg skips undecodable
  packets and OpenCV hands back the next good frame, so indices after the damage shift; the count
  check above then usually fires at the end, naming the end rather than the damaged frame. A last
  frame that decodes only partly (grey or smeared rows) looks like any other frame.

For images every file is decoded fully, so a corrupt, empty or truncated file is reported at its
frame. (OpenCV 5's decoders refuse a JPEG whose data end early; older OpenCV versions may return
it with grey rows instead, which cannot be told from a real image.)
"""

from __future__ import annotations

import glob as globlib
import math
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.images import ImageReadError, read_rgb

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".ts",
        ".mts",
        ".m2ts",
        ".3gp",
        ".3g2",
        ".ogv",
        ".gif",
    }
)
# Containers whose demuxer reads the frame count from per-sample tables or the file header, so
# CAP_PROP_FRAME_COUNT is exact; elsewhere OpenCV falls back to round(duration * fps).
_EXACT_COUNT_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".avi"})

DEFAULT_FPS = 30.0
"""Frame rate reported for image sequences, and for videos/cameras that announce none."""

_GLOB_CHARS = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``2.jpg`` before ``10.jpg``.

    Case-insensitive; ties (``01.jpg`` vs ``1.jpg``) are broken by the raw text so the order is total.
    """
    # re.split with a capture group alternates text, number, text, ...: types line up position by
    # position, so comparing two keys never compares an int with a str.
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)), text


class FrameSource(ABC):
    """An open source of RGB frames: iterate it for ``(index, frame_rgb)``; close it when done.

    A single-pass iterator (a camera or a video cannot rewind cheaply); use it as a context manager so
    the underlying capture is released. Attributes (read-only by convention):

    Attributes:
        kind: ``"video"``, ``"images"`` or ``"camera"``.
        name: human-readable description, e.g. ``"video 'clip.mp4'"``, used in messages.
        fps: frames per second (``DEFAULT_FPS`` = 30 for images and for videos announcing none).
        frame_size: ``(H, W)`` of every frame, known once the source is open (the first frame is
            decoded at open time), or ``None`` if the source yields nothing.
        start_frame: index of the first frame yielded.
        num_frames: how many frames iteration will yield (after ``start_frame`` / ``max_frames``),
            or ``None`` when unknown (cameras, streams without a frame count). For a video this
            relies on the container's announced count.
        total_frames: frames in the whole source as announced, or ``None`` when unknown.
    """

    kind: str
    name: str
    fps: float
    frame_size: tuple[int, int] | None
    start_frame: int
    num_frames: int | None
    total_frames: int | None

    def __init__(self, *, start_frame: int, max_frames: int | None) -> None:
        self.start_frame = start_frame
        self._max_frames = max_frames
        self._next_index = start_frame
        self._yielded = 0
        self._done = False
        # The first frame is decoded when the source opens (for frame_size and to fail early);
        # it waits here until the first __next__.
        self._pending: np.ndarray | None = None

    # -- subclass hooks -------------------------------------------------------------------------
    @abstractmethod
    def _read(self, index: int) -> np.ndarray | None:
        """Decode frame ``index`` (always the next one in order) as RGB; ``None`` at a clean end.

        Raises `InputError` naming ``index`` when the frame exists but cannot be read.
        """

    @abstractmethod
    def _release(self) -> None:
        """Free the underlying handle (capture device); called by `close`, possibly twice."""

    # -- shared machinery -----------------------------------------------------------------------
    def _limit_count(self, available: int | None) -> int | None:
        """``num_frames`` from the frames available after ``start_frame`` and ``max_frames``."""
        if available is None:
            return None
        available = max(0, available)
        return available if self._max_frames is None else min(available, self._max_frames)

    def _prime(self) -> None:
        """Decode the first frame to be yielded, so ``frame_size`` is known and a dead source fails now."""
        if self._max_frames == 0:
            self.frame_size = None
            return
        try:
            first = self._read(self._next_index)
        except BaseException:
            self.close()
            raise
        if first is None:
            self.close()
            raise InputError(f"{self.name} has no frame at start_frame {self.start_frame}")
        self._pending = first
        self.frame_size = (int(first.shape[0]), int(first.shape[1]))

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return self

    def __next__(self) -> tuple[int, np.ndarray]:
        if self._done or (self._max_frames is not None and self._yielded >= self._max_frames):
            self._done = True
            raise StopIteration
        index = self._next_index
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            try:
                frame = self._read(index)
            except BaseException:
                self._done = True  # after an error the source stays finished
                raise
            if frame is None:
                self._done = True
                raise StopIteration
        self._next_index += 1
        self._yielded += 1
        return index, frame

    def close(self) -> None:
        """Release the source; further iteration yields nothing. Safe to call twice."""
        self._done = True
        self._pending = None
        self._release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name} fps={self.fps:g} frame_size={self.frame_size} "
            f"start_frame={self.start_frame} num_frames={self.num_frames}>"
        )


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV video/camera frame (BGR, BGRA or gray) → ``(H, W, 3)`` uint8 RGB, the one conversion."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class _ImageSequenceSource(FrameSource):
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
            # The reader names the file and whether reading or decoding failed; add which frame.
            raise InputError(f"{self.name} is unreadable at frame {index}: {error.reason}") from None
        size = (int(frame.shape[0]), int(frame.shape[1]))
        if self.frame_size is not None and size != self.frame_size:
            raise InputError(
                f"{self.name}: frame {index} '{path}' is {size[0]}x{size[1]} (HxW) but the frames "
                f"before it are {self.frame_size[0]}x{self.frame_size[1]}; all images must share one size"
            )
        return frame

    def _release(self) -> None:
        pass  # each file is opened and closed inside _read


class _VideoFileSource(FrameSource):
    """Frames decoded by OpenCV's FFmpeg backend; see the module docstring for truncation checks."""

    kind = "video"

    def __init__(self, path: Path, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        self.path = path
        self.name = f"video '{path}'"
        # FFmpeg explicitly where OpenCV has it (the checks above are written for it); a build without
        # it may still read the file through another backend.
        has_ffmpeg = cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG)
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG if has_ffmpeg else cv2.CAP_ANY)
        if not capture.isOpened():
            raise InputError(
                f"{self.name} cannot be opened (not a video, an unsupported codec, or a file truncated "
                "before its index)"
            )
        self._capture: cv2.VideoCapture | None = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.total_frames = int(round(count)) if math.isfinite(count) and count > 0 else None
        exact = path.suffix.lower() in _EXACT_COUNT_EXTENSIONS
        # Shortfall below the announced count that is still taken as a clean end (see module doc).
        self._tolerance = 0 if exact else max(2, math.ceil(0.02 * (self.total_frames or 0)))
        if self.total_frames is not None and start_frame >= self.total_frames:
            self.close()
            raise InputError(f"start_frame {start_frame} is past the end of {self.name} ({self.total_frames} frames)")
        self.num_frames = self._limit_count(None if self.total_frames is None else self.total_frames - start_frame)
        self.frame_size = None
        # Skip to start_frame by decoding forward: CAP_PROP_POS_FRAMES seeks to a keyframe and is not
        # frame-exact for every codec, and the start frame must be the one the init box was drawn on.
        for skipped in range(start_frame):
            if not capture.grab():
                self.close()
                self._raise_short(skipped)
                raise InputError(f"start_frame {start_frame} is past the end of {self.name} ({skipped} frames)")
        self._prime()

    def _raise_short(self, index: int) -> None:
        """Raise if ending at ``index`` falls short of the announced frame count."""
        if self.total_frames is not None and index < self.total_frames - self._tolerance:
            raise InputError(
                f"{self.name} is unreadable at frame {index}: the container announces "
                f"{self.total_frames} frames but decoding stopped after {index} (truncated or corrupt file)"
            )

    def _read(self, index: int) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, image = self._capture.read()
        if not ok or image is None or image.size == 0:
            self._raise_short(index)
            return None
        return _to_rgb(image)

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class _CameraSource(FrameSource):
    """Live frames from a camera device; ``num_frames`` is unknown, the stream ends only on error."""

    kind = "camera"

    def __init__(self, index: int, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        self.device = index
        self.name = f"camera {index}"
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            raise InputError(
                f"{self.name} cannot be opened (no such device, no permission, or in use by another program)"
            )
        self._capture: cv2.VideoCapture | None = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.total_frames = None
        self.num_frames = None
        self.frame_size = None
        for skipped in range(start_frame):
            if not capture.grab():
                self.close()
                raise InputError(f"{self.name} stopped delivering frames at frame {skipped}")
        self._prime()

    def _read(self, index: int) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, image = self._capture.read()
        if not ok or image is None or image.size == 0:
            raise InputError(f"{self.name} stopped delivering frames at frame {index}")
        return _to_rgb(image)

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _is_image(path: Path) -> bool:
    # Dot-files are skipped: macOS leaves "._0001.jpg" resource forks beside real frames.
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _images_in(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, naturally sorted; other files (groundtruth.txt, ...) ignored."""
    files = [p for p in folder.iterdir() if _is_image(p) and p.is_file()]
    return sorted(files, key=lambda p: natural_key(p.name))


def _open_folder(folder: Path, start_frame: int, max_frames: int | None) -> FrameSource:
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
    return _ImageSequenceSource(files, name, start_frame=start_frame, max_frames=max_frames)


def _open_glob(pattern: str, start_frame: int, max_frames: int | None) -> FrameSource:
    matches = [Path(p) for p in globlib.glob(pattern, recursive=True)]
    files = [p for p in matches if p.is_file()]
    if not files:
        raise InputError(f"glob '{pattern}' matches no file")
    images = sorted((p for p in files if _is_image(p)), key=lambda p: natural_key(str(p)))
    if not images:
        raise InputError(
            f"glob '{pattern}' matches {len(files)} file(s) but no image "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}), e.g. '{files[0]}'"
        )
    name = f"images '{pattern}'"
    return _ImageSequenceSource(images, name, start_frame=start_frame, max_frames=max_frames)


def open_source(
    spec: str | os.PathLike[str] | int,
    *,
    start_frame: int = 0,
    max_frames: int | None = None,
) -> FrameSource:
    """Open a video file, an image folder, an image glob or a camera as a `FrameSource`.

    How ``spec`` is read, in order:

    1. an ``int`` is a camera index;
    2. an existing folder: its image files (``.jpg .jpeg .png .bmp .webp .tif .tiff``, any case,
       dot-files skipped, other files ignored) in natural order (``2.jpg`` before ``10.jpg``);
    3. an existing file: a video (``.mp4 .avi .mkv .mov .webm ...``) or a single image (a one-frame
       sequence); any other extension is an error;
    4. a string of digits (``"0"``) that is not an existing path: a camera index;
    5. a string containing ``* ? [``: a glob (``"frames/*.png"``, ``**`` recursive), matched images in
       natural order of their paths (non-image matches ignored).

    Args:
        spec: path, glob pattern or camera index (``~`` is expanded).
        start_frame: index of the first frame to yield; earlier frames are decoded and dropped for
            videos (exact, where seeking would not be) and skipped for images.
        max_frames: yield at most this many frames (``None``: all).

    Returns:
        An open `FrameSource` yielding ``(index, frame_rgb)``, ``frame_rgb`` ``(H, W, 3)`` uint8 RGB,
        ``index`` counted from the start of the source. Its first frame has already been decoded.

    Raises:
        InputError: missing path, unsupported file type, empty folder, glob without images, a video
            or camera that cannot be opened, ``start_frame`` past the end, or a frame that cannot be
            read (raised during iteration, after all earlier frames were yielded). The message names
            the source and, where one is at fault, the frame index and file.
    """
    if isinstance(start_frame, bool) or not isinstance(start_frame, int) or start_frame < 0:
        raise InputError(f"start_frame must be an integer >= 0, got {start_frame!r}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 0):
        raise InputError(f"max_frames must be an integer >= 0 or None, got {max_frames!r}")
    if isinstance(spec, bool):
        raise InputError(f"not a frame source: {spec!r}")
    if isinstance(spec, int):
        if spec < 0:
            raise InputError(f"camera index must be >= 0, got {spec}")
        return _CameraSource(spec, start_frame=start_frame, max_frames=max_frames)
    try:
        text = os.fspath(spec)
    except TypeError:
        raise InputError(f"not a frame source: {spec!r} (expected a path, a glob or a camera index)") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise InputError("empty source: expected a video file, an image folder, a glob or a camera index")
    text = os.path.expanduser(text)
    path = Path(text)
    if path.is_dir():
        return _open_folder(path, start_frame, max_frames)
    if path.exists():
        suffix = path.suffix.lower()
        if suffix in VIDEO_EXTENSIONS:
            return _VideoFileSource(path, start_frame=start_frame, max_frames=max_frames)
        if suffix in IMAGE_EXTENSIONS:
            return _ImageSequenceSource([path], f"image '{path}'", start_frame=start_frame, max_frames=max_frames)
        raise InputError(
            f"unsupported file type '{path.suffix or '(none)'}' for '{path}': expected a video "
            f"({', '.join(sorted(VIDEO_EXTENSIONS))}), an image folder, a glob or a camera index"
        )
    if text.strip().isdigit():
        return _CameraSource(int(text), start_frame=start_frame, max_frames=max_frames)
    if _GLOB_CHARS.search(text):
        return _open_glob(text, start_frame, max_frames)
    raise InputError(f"no such file or folder: '{path}'")
