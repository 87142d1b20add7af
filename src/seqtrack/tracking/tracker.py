"""The online SeqTrack tracker (spec §4): one or many targets, a Python API and a generator over videos.

    tracker = Tracker.from_checkpoint("seqtrack_b256.pth.tar", updates="lasot")
    tracker.init(frame_rgb, box_xywh)          # frame: (H, W, 3) uint8 RGB; box: x, y, w, h pixels
    result = tracker.track(frame_rgb)          # result.box, result.score, result.template_updated
    for index, result in tracker.track_video("clip.mp4", box_xywh): ...

The model holds no per-video state: everything that changes while tracking lives in `TrackerState`
(one `TargetState` per target), so one model can serve many trackers.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seqtrack.config import TrackerConfig, update_presets_for
from seqtrack.errors import InputError
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.tokens import tokens_to_box
from seqtrack.tracking.crop import crop_square, normalize_crops, prediction_to_frame_box

SCORE_SCALE = 10.0  # official confidence = 10 x the sum of the four token probabilities


@dataclass
class TrackResult:
    """What the tracker says about one target on one frame.

    Attributes:
        box: ``(4,)`` float64 ``xywh`` top-left pixels in the frame.
        score: official confidence, ``10 * sum(confidences)`` in ``[0, 40]`` (NaN on the init frame).
        template_updated: whether this frame's crop became the dynamic template.
        tokens: ``(4,)`` int64 generated tokens in the model's sequence format (``-1`` on the init frame).
        confidences: ``(4,)`` float64 probabilities of those tokens (centre steps Hann-weighted).
        frame_index: the tracker's frame counter (0 = init frame).
    """

    box: np.ndarray
    score: float
    template_updated: bool = False
    tokens: np.ndarray = field(default_factory=lambda: np.full(4, -1, dtype=np.int64))
    confidences: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))
    frame_index: int = 0


@dataclass
class TargetState:
    """Per-target tracking state: the current box and the template crops.

    ``templates`` is ``(T, 3, Ht, Wt)``: row 0 is the first-frame template (never replaced), rows
    ``1..T-1`` the most recent accepted dynamic templates (oldest first), as in the official list.
    """

    box: list[float]
    templates: torch.Tensor
    low_score_frames: int = 0  # consecutive frames scoring below `TrackerConfig.lost_score`

    def search_factor(self, config: TrackerConfig) -> float:
        """The crop factor for the next search: the wider re-detection one once the target seems lost."""
        if config.lost_search_factor is not None and self.low_score_frames >= config.lost_after:
            return float(config.lost_search_factor)
        return float(config.search_factor)


@dataclass
class TrackerState:
    """Everything that changes while tracking a video."""

    targets: list[TargetState]
    frame_index: int = 0
    multi: bool = False


def _as_boxes(box_or_boxes) -> tuple[np.ndarray, bool]:
    array = np.asarray(box_or_boxes, dtype=np.float64)
    if array.ndim == 1:
        array, multi = array[None], False
    else:
        multi = True
    if array.ndim != 2 or array.shape[1] != 4 or array.shape[0] == 0:
        raise InputError(f"a box is four numbers x,y,w,h (or a list of such boxes); got shape {np.shape(box_or_boxes)}")
    return array, multi


def validate_frame(frame: np.ndarray, where: str = "frame") -> np.ndarray:
    """Check a frame is ``(H, W, 3)`` uint8 (RGB); raises `InputError` naming ``where`` otherwise."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(f"{where} must be an (H, W, 3) uint8 RGB array, got shape {shape} dtype {dtype}")
    return frame


def validate_init_box(box: np.ndarray, frame_hw: tuple[int, int], label: str = "box") -> None:
    """Reject boxes that cannot start a track: non-finite, ``w`` or ``h <= 0``, or outside the frame."""
    x, y, w, h = (float(v) for v in box)
    height, width = frame_hw
    shown = f"{label} {x:g},{y:g},{w:g},{h:g}"
    if not np.isfinite(box).all():
        raise InputError(f"{shown} has non-finite values")
    if w <= 0 or h <= 0:
        raise InputError(f"{shown} must have positive width and height")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise InputError(f"{shown} lies outside the first frame ({width}x{height})")


class Tracker:
    """SeqTrack online tracker for one or several targets (batched: one forward per frame for all).

    Args:
        model: a `SeqTrack` network (device and dtype are taken from its parameters), or any predictor
            with the same ``config`` attribute and ``generate(templates, search, window)`` method (e.g. an
            ONNX Runtime session wrapper) that exposes ``device`` and ``dtype`` attributes.
        config: tracking settings; defaults to the official ones with the ``default`` update policy.
    """

    def __init__(self, model: SeqTrack, config: TrackerConfig | None = None) -> None:
        self.model = model.eval() if isinstance(model, torch.nn.Module) else model
        config = config or TrackerConfig(update_presets=update_presets_for(model.config.name))
        # Unset crop factors follow the network (ModelConfig records what it was trained with).
        self.config = dataclasses.replace(
            config,
            template_factor=config.template_factor if config.template_factor is not None else model.config.template_factor,
            search_factor=config.search_factor if config.search_factor is not None else model.config.search_factor)
        self.state: TrackerState | None = None
        if isinstance(model, torch.nn.Module):
            parameter = next(model.parameters())
            self.device, self.dtype = parameter.device, parameter.dtype
        else:
            self.device, self.dtype = torch.device(model.device), model.dtype

    @classmethod
    def from_checkpoint(cls, path: str | Path, updates: str | None = "default", device: str = "cpu",
                        dtype: torch.dtype | None = None, update_interval: int | None = None,
                        update_threshold: float | None = None, **config_overrides) -> "Tracker":
        """Load weights (see `seqtrack.load_model`) and build a tracker.

        Args:
            updates: name of a per-benchmark update preset (``default``, ``lasot``, ``got10k_test``,
                ``trackingnet``, ``tnl2k``, ``vot20`` ...).
            update_interval, update_threshold: explicit overrides of that preset.
            config_overrides: other `TrackerConfig` fields (``window``, ``search_factor`` ...).
        """
        from seqtrack.model.weights import load_model

        model = load_model(path, device=device, dtype=dtype)
        base = TrackerConfig(update_presets=update_presets_for(model.config.name), **config_overrides)
        return cls(model, base.with_updates(updates, update_interval, update_threshold))

    # ------------------------------------------------------------------------------------------
    def _crops(self, frame: np.ndarray, boxes: Sequence[Sequence[float]], factor: float | Sequence[float],
               size: int) -> tuple[torch.Tensor, list[float]]:
        """Square crops ``(B, 3, size, size)`` around ``boxes`` (``xywh`` pixels) at one factor or one per box."""
        per_box = factor if isinstance(factor, Sequence) else [factor] * len(boxes)
        crops, factors = zip(*(crop_square(frame, box, f, size) for box, f in zip(boxes, per_box)))
        return normalize_crops(np.stack(crops), device=self.device, dtype=self.dtype), list(factors)

    @torch.inference_mode()
    def init(self, frame: np.ndarray, box_xywh) -> TrackResult | list[TrackResult]:
        """Start tracking on ``frame``.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB.
            box_xywh: one box ``[x, y, w, h]`` (top-left pixels), or a list of boxes for several targets.
        Returns:
            The init result(s): the given box(es), score NaN. `track` then returns one `TrackResult`
            for a single box and a list (one per target, same order) for a list of boxes.
        """
        validate_frame(frame, "first frame")
        boxes, multi = _as_boxes(box_xywh)
        for i, box in enumerate(boxes):
            validate_init_box(box, frame.shape[:2], f"box {i + 1}" if multi else "box")
        size = self.model.config.template_size
        templates, _ = self._crops(frame, boxes.tolist(), self.config.template_factor, size)
        count = self.model.config.num_templates
        self.state = TrackerState(
            targets=[TargetState(box=box.tolist(), templates=t.unsqueeze(0).repeat(count, 1, 1, 1))
                     for box, t in zip(boxes, templates)],
            frame_index=0, multi=multi)
        results = [TrackResult(box=box.copy(), score=float("nan")) for box in boxes]
        return results if multi else results[0]

    @torch.inference_mode()
    def track(self, frame: np.ndarray) -> TrackResult | list[TrackResult]:
        """Track the target(s) into the next frame (one batched forward for all targets).

        Args:
            frame: ``(H, W, 3)`` uint8 RGB, the same size as the init frame (not required).
        Returns:
            A `TrackResult` (single target) or a list of them (initialised with a list of boxes).
        """
        if self.state is None:
            raise InputError("call init(frame, box) before track(frame)")
        validate_frame(frame)
        state, config, model_config = self.state, self.config, self.model.config
        state.frame_index += 1
        targets = state.targets
        search, factors = self._crops(frame, [t.box for t in targets], [t.search_factor(config) for t in targets],
                                      model_config.search_size)
        templates = torch.stack([t.templates for t in targets])  # (B, T, 3, Ht, Wt)
        window = float(config.window_power) if config.window else False
        tokens, probs = self.model.generate(templates, search, window=window)
        values = tokens_to_box(tokens, model_config.bins, model_config.seq_format).cpu().numpy()
        tokens_np, probs_np = tokens.cpu().numpy(), probs.cpu().numpy()

        results, refresh = [], []
        for i, target in enumerate(targets):
            score = SCORE_SCALE * float(probs_np[i].sum())
            target.low_score_frames = target.low_score_frames + 1 if score < config.lost_score else 0
            if score >= config.hold_score:
                target.box = prediction_to_frame_box(values[i], target.box, model_config.search_size, factors[i],
                                                     frame.shape[:2], config.clip_margin, config.size_smoothing)
            update = (model_config.num_templates > 1 and state.frame_index % config.update_interval == 0
                      and score > config.update_threshold)
            if update:
                refresh.append(i)
            results.append(TrackResult(box=np.array(target.box, dtype=np.float64), score=score,
                                       template_updated=update, tokens=tokens_np[i].copy(),
                                       confidences=probs_np[i].copy(), frame_index=state.frame_index))
        if refresh:
            fresh, _ = self._crops(frame, [targets[i].box for i in refresh], config.template_factor,
                                   model_config.template_size)
            for row, i in enumerate(refresh):
                old = targets[i].templates
                # Official list semantics: append the new template, drop index 1 (first frame stays).
                targets[i].templates = torch.cat([old[:1], old[2:], fresh[row: row + 1]])
        return results if state.multi else results[0]

    def track_video(self, source, box_xywh, start_frame: int = 0,
                    max_frames: int | None = None) -> Iterator[tuple[int, TrackResult | list[TrackResult]]]:
        """Generator over a whole source: yields ``(frame_index, result)``, the init frame first.

        Args:
            source: a video file, an image folder, a glob, a camera index (see
                `seqtrack.tracking.sources.open_source`), or any iterable of ``(H, W, 3)`` uint8 RGB frames.
            box_xywh: the target box(es) on the first yielded frame.
            start_frame, max_frames: which part of a file source to read.
        """
        if isinstance(source, (str, Path, int)):
            from seqtrack.tracking.sources import open_source

            with open_source(source, start_frame=start_frame, max_frames=max_frames) as frames:
                yield from self._run(frames, box_xywh)
        else:
            yield from self._run(enumerate(source), box_xywh)

    def _run(self, frames: Iterable[tuple[int, np.ndarray]], box_xywh):
        first = True
        for index, frame in frames:
            if first:
                yield index, self.init(frame, box_xywh)
                first = False
            else:
                yield index, self.track(frame)
        if first:
            raise InputError("the source yielded no frames")
