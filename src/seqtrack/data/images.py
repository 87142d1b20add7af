"""Frame loading at the edge of the library: files in, ``(H, W, 3)`` uint8 RGB arrays out."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from seqtrack.errors import DatasetError


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB (OpenCV decodes BGR; converted once, here).

    Grayscale files are replicated to three channels. Raises `DatasetError` naming the path when the
    file is missing or cannot be decoded.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        what = "missing" if not Path(path).exists() else "unreadable"
        raise DatasetError(f"{what} image: expected a readable image file at {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
