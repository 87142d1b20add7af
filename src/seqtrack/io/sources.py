"""Frame sources: a video file, a stream URL, a folder or glob of images, or a camera, behind one iterator.

``open_source(spec)`` is the one entry point. Whatever the source, iterating it yields
``(index, frame_rgb)`` pairs where

* ``index`` is the frame's 0-based position in the *whole* source (so with ``start_frame=5`` the first
  pair has index 5), which is the number benchmarks and annotation files use;
* ``frame_rgb`` is an ``(H, W, 3)`` uint8 array in RGB order. OpenCV's BGR becomes RGB at this edge,
  once (images through `seqtrack.io.images.read_rgb`, video, stream and camera frames in
  `seqtrack.io.video_source`), and nothing downstream converts again. Grayscale images and videos
  become 3 identical channels; an alpha channel is dropped; 16-bit images are scaled to 8 bits.

The kinds live in their own modules: `seqtrack.io.frame_source` (the `FrameSource` base),
`seqtrack.io.video_source` (videos, stream URLs, cameras) and `seqtrack.io.image_source` (folders,
globs, single images). This module picks one and re-exports what callers use.

Errors are `InputError` with one line naming the source (and the frame and file at fault). A source
that turns unreadable part-way raises only *after* yielding every frame before the bad one, so a
caller that writes results as it goes keeps everything it tracked.

What can and cannot be detected for videos (OpenCV's FFmpeg backend decides what it can decode):

* detected: a path that does not exist or that the OS refuses (a name over 255 bytes, a symlink
  loop), an unsupported extension, a file OpenCV cannot open at all (not a video, an unknown codec,
  or an MP4/MOV truncated before its index: such files usually keep the ``moov`` index at the end,
  so cutting them loses every frame and they fail to open);
* the container's frame count (``CAP_PROP_FRAME_COUNT``) is a hint, not a promise: a video that ends
  at most ``max(3, 1 %)`` frames short of it (``max(3, 2 %)`` for MKV, WebM, MPEG-TS, GIF, ... whose
  count OpenCV estimates from duration x fps) with no frame failing to decode ends *normally*;
  ``source.short_by`` says by how much and ``source.note`` says it in one line for the user. Camera
  MP4s commonly announce one frame more than any decoder returns;
* detected: a video that ends further short of its count (a truncated AVI, MKV or fast-start MP4).
  The error names the first frame that did not come;
* detected, at its place: a frame that fails to decode part-way while later frames decode (the
  source keeps reading and compares timestamps: a frame lost in between is an error naming it, since
  every later index would be wrong). Not detected: a damaged frame that FFmpeg drops without any
  failure reaching OpenCV, or one that decodes only partly (grey or smeared rows looks like any
  other frame); a drop without failure shows only as a shortfall at the end;
* a stream URL (``rtsp:// rtsps:// rtmp:// http:// https:// udp://``) has no frame count and ends
  wherever it stops; a camera that stops delivering is an error.

FFmpeg's and OpenCV's own log lines are silenced while a video is read, so the terminal shows only
our message (`seqtrack.io.video_source` says how, and how to see them again).

For images every file is decoded fully, so a corrupt, empty, truncated, unreadable or vanished file is
reported at its frame. (OpenCV 5's decoders refuse a JPEG whose data end early; older OpenCV versions
may return it with grey rows instead, which cannot be told from a real image.)
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from seqtrack.errors import InputError
from seqtrack.io.frame_source import DEFAULT_FPS, FrameSource
from seqtrack.io.image_source import IMAGE_EXTENSIONS, ImageSequenceSource, natural_key, open_folder, open_glob
from seqtrack.io.video_source import (
    STREAM_SCHEMES,
    VIDEO_EXTENSIONS,
    CameraSource,
    StreamSource,
    VideoFileSource,
    is_stream_url,
)

__all__ = [
    "DEFAULT_FPS",
    "IMAGE_EXTENSIONS",
    "STREAM_SCHEMES",
    "VIDEO_EXTENSIONS",
    "FrameSource",
    "natural_key",
    "open_source",
]

_GLOB_CHARS = re.compile(r"[*?\[]")
_NAME_MAX = 255  # bytes in one file or folder name on ext4, APFS, NTFS (UTF-16 units there), ...


def _path_error(path: Path, error: OSError) -> str:
    """One line for a path the OS refuses to look up (the traceback it would otherwise be)."""
    if error.errno == errno.ENAMETOOLONG:
        longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
        if longest > _NAME_MAX:
            return (
                f"source path is too long: a file or folder name in it is {longest} bytes, file systems "
                f"allow {_NAME_MAX} ('{path}')"
            )
        return f"source path is too long for the system ({len(os.fsencode(str(path)))} bytes): '{path}'"
    if error.errno == errno.ELOOP:
        return f"source path '{path}' cannot be resolved: a symlink in it points back to itself (symlink loop)"
    return f"source '{path}' cannot be accessed ({error.strerror or error})"


def _path_kind(path: Path) -> str | None:
    """``"dir"``, ``"file"`` or ``None`` (nothing there); `InputError` when the OS refuses the path."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        # ENAMETOOLONG, ELOOP, EACCES on a parent folder: Path.is_dir() would raise these as tracebacks.
        raise InputError(_path_error(path, error)) from None
    return "dir" if stat.S_ISDIR(mode) else "file"


def _check_arguments(start_frame: object, max_frames: object) -> None:
    if isinstance(start_frame, bool) or not isinstance(start_frame, int) or start_frame < 0:
        raise InputError(f"start_frame must be an integer >= 0, got {start_frame!r}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 0):
        raise InputError(f"max_frames must be an integer >= 0 or None, got {max_frames!r}")


def _open_file(path: Path, start_frame: int, max_frames: int | None) -> FrameSource:
    """An existing file: a video, or a single image as a one-frame sequence."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return VideoFileSource(path, start_frame=start_frame, max_frames=max_frames)
    if suffix in IMAGE_EXTENSIONS:
        return ImageSequenceSource([path], f"image '{path}'", start_frame=start_frame, max_frames=max_frames)
    raise InputError(
        f"unsupported file type '{path.suffix or '(none)'}' for '{path}': expected a video "
        f"({', '.join(sorted(VIDEO_EXTENSIONS))}), an image folder, a glob, a stream URL or a camera index"
    )


def open_source(
    spec: str | os.PathLike[str] | int,
    *,
    start_frame: int = 0,
    max_frames: int | None = None,
) -> FrameSource:
    """Open a video file, a stream URL, an image folder, an image glob or a camera as a `FrameSource`.

    How ``spec`` is read, in order:

    1. an ``int`` is a camera index;
    2. a string starting with ``rtsp:// rtsps:// rtmp:// http:// https:// udp://`` (any case) is a
       stream opened by OpenCV's FFmpeg backend: no frame count, fps from the stream or 30; never
       taken as a path or a glob (``?`` in a query is not a wildcard);
    3. an existing folder: its image files (``.jpg .jpeg .png .bmp .webp .tif .tiff``, any case,
       dot-files skipped, other files ignored) in natural order (``2.jpg`` before ``10.jpg``);
    4. an existing file: a video (``.mp4 .avi .mkv .mov .webm ...``) or a single image (a one-frame
       sequence); any other extension is an error;
    5. a string of digits (``"0"``) that is not an existing path: a camera index;
    6. a string containing ``* ? [``: a glob (``"frames/*.png"``, ``**`` recursive), matched images in
       natural order of their paths (non-image matches ignored, a folder reached twice through a
       symlink listed once).

    Args:
        spec: path, stream URL, glob pattern or camera index (``~`` is expanded in paths).
        start_frame: index of the first frame to yield; earlier frames are decoded and dropped for
            videos and streams (exact, where seeking would not be) and skipped for images.
        max_frames: yield at most this many frames (``None``: all).

    Returns:
        An open `FrameSource` yielding ``(index, frame_rgb)``, ``frame_rgb`` ``(H, W, 3)`` uint8 RGB,
        ``index`` counted from the start of the source. Its first frame has already been decoded.
        After iteration, ``short_by`` and ``note`` tell whether a video ended short of its count.

    Raises:
        InputError: missing path or one the OS refuses (name over 255 bytes, symlink loop),
            unsupported file type, empty folder, glob without images, a video, stream or camera that
            cannot be opened, ``start_frame`` past the end, or a frame that cannot be read (raised
            during iteration, after all earlier frames were yielded). The message names the source
            and, where one is at fault, the frame index and file.
    """
    _check_arguments(start_frame, max_frames)
    if isinstance(spec, bool):
        raise InputError(f"not a frame source: {spec!r}")
    if isinstance(spec, int):
        if spec < 0:
            raise InputError(f"camera index must be >= 0, got {spec}")
        return CameraSource(spec, start_frame=start_frame, max_frames=max_frames)
    try:
        text = os.fspath(spec)
    except TypeError:
        raise InputError(
            f"not a frame source: {spec!r} (expected a path, a stream URL, a glob or a camera index)"
        ) from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise InputError("empty source: expected a video file, an image folder, a glob, a stream URL or a camera index")
    if is_stream_url(text.strip()):
        return StreamSource(text.strip(), start_frame=start_frame, max_frames=max_frames)
    text = os.path.expanduser(text)
    path = Path(text)
    kind = _path_kind(path)
    if kind == "dir":
        return open_folder(path, start_frame, max_frames)
    if kind == "file":
        return _open_file(path, start_frame, max_frames)
    if text.strip().isdigit():
        return CameraSource(int(text), start_frame=start_frame, max_frames=max_frames)
    if _GLOB_CHARS.search(text):
        return open_glob(text, start_frame, max_frames)  # the text as given: Path would normalise it
    raise InputError(f"no such file or folder: '{path}'")
