"""The project's one image reader: a file in, an ``(H, W, 3)`` uint8 RGB array out.

OpenCV decodes to BGR; the conversion to RGB happens once, here, and nothing downstream converts
again. Bytes are read with ``np.fromfile`` and decoded with ``cv2.imdecode`` rather than
``cv2.imread``: ``imread`` cannot open non-ASCII paths on Windows, and it returns ``None`` for a
missing file and a corrupt one alike, whereas here an I/O failure and a decoding failure are told
apart.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from seqtrack.errors import SeqTrackError


class ImageReadError(SeqTrackError):
    """An image file could not be read (missing, no permission, ...) or decoded (corrupt, truncated).

    ``str(error)`` is the generic one-line message naming the path; callers that know more (the frame
    source knows the frame index) build their own message from the attributes.

    Attributes:
        path: the file at fault.
        missing: True when there is no file at ``path`` (nothing there, or a symlink to nothing);
            False for every other failure (no permission, a folder, a symlink loop, a name too long).
        reason: what went wrong, naming the path: ``"cannot read '<path>' (<OS error>)"`` for an I/O
            failure, ``"'<path>' cannot be decoded (corrupt, truncated or not an image)"`` otherwise.
    """

    def __init__(self, path: Path, *, missing: bool, reason: str) -> None:
        self.path = path
        self.missing = missing
        self.reason = reason
        what = "missing" if missing else "unreadable"
        super().__init__(f"{what} image: expected a readable image file at {path}")


def read_rgb(
    path: str | os.PathLike[str],
    *,
    error: type[SeqTrackError] = ImageReadError,
) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB.

    Grayscale files are replicated to three channels, an alpha channel is dropped and 16-bit images
    are scaled to 8 bits (OpenCV's ``IMREAD_COLOR``).

    Args:
        path: the image file; any characters (non-ASCII paths work on every platform).
        error: the exception class raised on failure. `ImageReadError` (the default) carries
            ``path``, ``missing`` and ``reason``; any other class (e.g. ``DatasetError`` for dataset
            readers) is raised with the same one-line message,
            ``"missing|unreadable image: expected a readable image file at <path>"``.

    Raises:
        ImageReadError: (or ``error``) the file is missing, cannot be read or cannot be decoded.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as os_error:
        failure = ImageReadError(
            path,
            # From the error itself, not path.exists(): that says False for a symlink loop (not a
            # missing file) and raises on a name over the file system's limit.
            missing=isinstance(os_error, FileNotFoundError),
            reason=f"cannot read '{path}' ({os_error.strerror or os_error})",
        )
    else:
        # imdecode rejects an empty buffer with an exception rather than None: test first.
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is not None and image.size != 0:
            return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        failure = ImageReadError(
            path, missing=False, reason=f"'{path}' cannot be decoded (corrupt, truncated or not an image)"
        )
    if issubclass(error, ImageReadError):
        raise failure
    raise error(str(failure))
