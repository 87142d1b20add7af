"""The benchmark's video: textured squares moving over a textured background, made in memory from a seed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SyntheticVideo:
    """Deterministic in-memory video: ``num_objects`` textured squares on a smooth textured background.

    Frames are made on demand (`frame`) so that a long video costs no memory; the benchmark times
    only the tracker, never the frame generation. Frames are ``(height, width, 3)`` uint8 RGB; boxes
    are ``xywh`` top-left pixels. The same ``seed`` gives the same video on every machine.
    """

    width: int = 640
    height: int = 480
    num_objects: int = 8
    seed: int = 0
    side: int = field(init=False)  # every object is a ``side`` x ``side`` square
    _background: np.ndarray = field(init=False, repr=False)
    _textures: list[np.ndarray] = field(init=False, repr=False)
    _paths: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import cv2

        # The order of the random draws defines the video: keep it when changing this method.
        rng = np.random.default_rng(self.seed)
        coarse = rng.integers(0, 256, size=(self.height // 24 + 2, self.width // 24 + 2, 3), dtype=np.uint8)
        smooth = cv2.resize(coarse, (self.width, self.height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        fine = rng.integers(-20, 21, size=(self.height, self.width, 3), dtype=np.int16)
        self._background = np.clip(smooth + fine, 0, 255).astype(np.uint8)
        self.side = max(16, int(0.12 * min(self.width, self.height)))
        self._textures = []
        for _ in range(self.num_objects):
            colour = rng.integers(0, 256, size=3)
            checker = (np.indices((self.side, self.side)).sum(0) // max(2, self.side // 6)) % 2
            noise = rng.integers(-25, 26, size=(self.side, self.side, 3))
            texture = colour[None, None] * (0.6 + 0.4 * checker[..., None]) + noise
            self._textures.append(np.clip(texture, 0, 255).astype(np.uint8))
        # Lissajous paths: (centre x, centre y, amplitude x, amplitude y, freq x, freq y, phase x, phase y).
        margin = self.side
        self._paths = np.stack(
            [
                rng.uniform(0.3, 0.7, self.num_objects) * self.width,
                rng.uniform(0.3, 0.7, self.num_objects) * self.height,
                rng.uniform(0.1, 0.25, self.num_objects) * (self.width - 2 * margin),
                rng.uniform(0.1, 0.25, self.num_objects) * (self.height - 2 * margin),
                rng.uniform(0.01, 0.03, self.num_objects),
                rng.uniform(0.01, 0.03, self.num_objects),
                rng.uniform(0, 2 * math.pi, self.num_objects),
                rng.uniform(0, 2 * math.pi, self.num_objects),
            ],
            axis=1,
        )

    def box(self, index: int, obj: int) -> list[float]:
        """``[x, y, w, h]`` of object ``obj`` on frame ``index`` (top-left pixels, inside the frame)."""
        cx, cy, ax, ay, fx, fy, px, py = self._paths[obj]
        x = cx + ax * math.sin(2 * math.pi * fx * index + px) - self.side / 2
        y = cy + ay * math.sin(2 * math.pi * fy * index + py) - self.side / 2
        x = min(max(0.0, x), self.width - self.side)
        y = min(max(0.0, y), self.height - self.side)
        return [float(round(x)), float(round(y)), float(self.side), float(self.side)]

    def boxes(self, index: int, count: int) -> np.ndarray:
        """``(count, 4)`` float64 boxes of the first ``count`` objects on frame ``index`` (``xywh`` pixels)."""
        return np.array([self.box(index, obj) for obj in range(count)], dtype=np.float64)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)`` uint8 RGB."""
        image = self._background.copy()
        for obj, texture in enumerate(self._textures):
            x, y, w, h = (int(v) for v in self.box(index, obj))
            image[y : y + h, x : x + w] = texture[:h, :w]
        return image

    def frames(self, count: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for frames ``0 .. count - 1``, each made only when it is asked for."""
        return ((index, self.frame(index)) for index in range(count))


__all__ = ["SyntheticVideo"]
