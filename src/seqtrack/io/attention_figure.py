"""The paper's Fig. 7 as an image: the search crop, then one cross-attention map per generated token
(upsampled to the crop and laid over it as a heat map), each panel titled.

Pure rendering with OpenCV (a core dependency): numbers in, an ``(H, W, 3)`` uint8 RGB image out
(`render_attention_figure`), and a PNG writer (`write_png`). Where the maps come from is the model's and
the tracker's business (`seqtrack.tracking.attention`); nothing here imports the model.

Layout (`figure_size`): five square panels of ``panel`` pixels in a row, ``MARGIN`` pixels apart and
around, a ``TITLE_HEIGHT`` strip of text above each; white background.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.files import OutputError, atomic_write_bytes

MARGIN = 8
TITLE_HEIGHT = 28
PANELS = 5  # the crop and four maps
HEAT_WEIGHT = 0.55  # share of the heat map in an overlaid pixel (the rest: the crop)
_BOX_COLOUR = (255, 255, 255)  # RGB
_TEXT_COLOUR = (0, 0, 0)


def figure_size(panel: int) -> tuple[int, int]:
    """``(height, width)`` in pixels of a figure with ``panel``-pixel panels."""
    return TITLE_HEIGHT + panel + MARGIN, PANELS * panel + (PANELS + 1) * MARGIN


def heat_overlay(crop: np.ndarray, weights: np.ndarray, panel: int) -> np.ndarray:
    """One map over the crop.

    Args:
        crop: ``(S, S, 3)`` uint8 RGB; weights: ``(g, g)`` non-negative attention over the crop's patch grid.
        panel: output side in pixels.
    Returns:
        ``(panel, panel, 3)`` uint8 RGB: the crop resized, blended with the map stretched to its own
        ``[min, max]`` (jet colour map, blue low, red high) and upsampled bilinearly from patch centres.
    """
    base = cv2.resize(crop, (panel, panel), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    values = np.asarray(weights, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    # Each map on its own scale: the four rows have different sharpness, and Fig. 7 shows where each looks.
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    grey = cv2.resize(scaled, (panel, panel), interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap(np.clip(grey * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB).astype(np.float32)
    return np.clip((1 - HEAT_WEIGHT) * base + HEAT_WEIGHT * heat + 0.5, 0, 255).astype(np.uint8)


def _check(crop: np.ndarray, maps: np.ndarray, titles: Sequence[str], panel: int) -> np.ndarray:
    if not isinstance(crop, np.ndarray) or crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
        raise InputError(f"crop must be an (S, S, 3) uint8 RGB array, got {getattr(crop, 'shape', None)}")
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3 or maps.shape[0] != PANELS - 1 or not np.isfinite(maps).all():
        raise InputError(f"maps must be (4, g, g) finite attention weights, got shape {maps.shape}")
    if len(titles) != PANELS - 1:
        raise InputError(f"titles must name the 4 maps, got {len(titles)}")
    if not 32 <= int(panel) <= 2048:
        raise InputError(f"panel must be 32..2048 pixels, got {panel}")
    return maps


def _title(image: np.ndarray, text: str, left: int, width: int) -> None:
    """Write ``text`` centred over a panel starting at column ``left``, shrunk to fit ``width``."""
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    scale = 0.55
    (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
    if text_w > width:
        scale *= width / text_w
        (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = (left + (width - text_w) // 2, (TITLE_HEIGHT + text_h) // 2)
    cv2.putText(image, text, origin, font, scale, _TEXT_COLOUR, thickness, cv2.LINE_AA)


def render_attention_figure(
    crop: np.ndarray,
    maps: np.ndarray,
    titles: Sequence[str],
    box_xywh: Sequence[float] | None = None,
    panel: int = 256,
    crop_title: str = "search crop",
) -> np.ndarray:
    """The Fig. 7 picture.

    Args:
        crop: ``(S, S, 3)`` uint8 RGB search crop.
        maps: ``(4, g, g)`` attention weights over the crop's ``g x g`` patch grid, one per generated token
            (row-major, as the encoder flattens the grid).
        titles: the four maps' titles (e.g. ``"cx 0.512 (130)"``).
        box_xywh: optional box drawn on every panel, ``xywh`` top-left in crop pixels (``0..S``).
        panel: side of each panel in pixels (the crop is resized to it).
        crop_title: title of the first panel.
    Returns:
        ``figure_size(panel)`` = ``(H, W, 3)`` uint8 RGB.
    Raises:
        InputError: arrays of the wrong shape or type, not 4 titles, a panel outside 32..2048 pixels.
    """
    maps = _check(crop, maps, titles, panel)
    height, width = figure_size(panel)
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    panels = [cv2.resize(crop, (panel, panel), interpolation=cv2.INTER_LINEAR)]
    panels += [heat_overlay(crop, weights, panel) for weights in maps]
    scale = panel / crop.shape[1]
    for i, (content, title) in enumerate(zip(panels, [crop_title, *titles])):
        left = MARGIN + i * (panel + MARGIN)
        content = np.ascontiguousarray(content)
        if box_xywh is not None:
            x, y, w, h = (float(v) * scale for v in box_xywh)
            cv2.rectangle(content, (round(x), round(y)), (round(x + w), round(y + h)), _BOX_COLOUR, 1, cv2.LINE_AA)
        image[TITLE_HEIGHT : TITLE_HEIGHT + panel, left : left + panel] = content
        _title(image, title, left, panel)
    return image


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB image as a PNG, atomically (a temporary file, then a rename).

    Raises:
        OutputError: the file cannot be written (the message names it).
    """
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"could not encode the picture for {path} as PNG")
    atomic_write_bytes(path, data.tobytes(), "the attention picture")
    return Path(path)


__all__ = ["render_attention_figure", "heat_overlay", "figure_size", "write_png", "MARGIN", "TITLE_HEIGHT"]
