"""The online SeqTrack tracker (docs/official-behaviour.md §4): one or many targets, a Python API and a generator
over videos.

    tracker = Tracker.from_pretrained("seqtrack_b256.pth.tar", updates="lasot")
    tracker.init(frame_rgb, box_xywh)          # frame: (H, W, 3) uint8 RGB; box: x, y, w, h pixels
    result = tracker.track(frame_rgb)          # result.box, result.score, result.template_updated
    results = tracker.init_many(frame_rgb, boxes)   # several targets: results.boxes (N, 4), .scores (N,)
    for index, result in tracker.track_video("clip.mp4", box_xywh): ...
    result, view = tracker.track_with_attention(frame_rgb)  # + the crop and the decoder's attention (Fig. 7)

The model holds no per-video state: everything that changes while tracking lives in `TrackerState`
(one `TargetState` per target), so one model can serve many trackers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seqtrack.config import TrackerConfig, update_presets_for
from seqtrack.errors import InputError
from seqtrack.geometry.crop import crop_square, normalize_crops, prediction_to_frame_box
from seqtrack.geometry.tokens import tokens_to_box
from seqtrack.tracking.attention import AttentionView
from seqtrack.tracking.history import history_batch, initial_history, push_box

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
        seconds: wall time of the ``init``/``track`` call that produced it (crops, network, map-back);
            with several targets, the time of the whole batched call.
    """

    box: np.ndarray
    score: float
    template_updated: bool = False
    tokens: np.ndarray = field(default_factory=lambda: np.full(4, -1, dtype=np.int64))
    confidences: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))
    frame_index: int = 0
    seconds: float = 0.0


@dataclass
class TrackResults:
    """What the tracker says about N targets on one frame (`Tracker.init_many` / `track_many`).

    Attributes:
        boxes: ``(N, 4)`` float64 ``xywh`` top-left pixels, in the order the targets were given.
        scores: ``(N,)`` float64 official confidences (NaN on the init frame).
        template_updated: ``(N,)`` bool.
        tokens: ``(N, 4)`` int64 (``-1`` on the init frame); confidences: ``(N, 4)`` float64.
        frame_index: the tracker's frame counter; seconds: wall time of the whole batched call.
    """

    boxes: np.ndarray
    scores: np.ndarray
    template_updated: np.ndarray
    tokens: np.ndarray
    confidences: np.ndarray
    frame_index: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, target: int) -> TrackResult:
        """The `TrackResult` of one target."""
        return TrackResult(
            box=self.boxes[target].copy(),
            score=float(self.scores[target]),
            template_updated=bool(self.template_updated[target]),
            tokens=self.tokens[target].copy(),
            confidences=self.confidences[target].copy(),
            frame_index=self.frame_index,
            seconds=self.seconds,
        )

    def __iter__(self) -> Iterator[TrackResult]:
        return (self[i] for i in range(len(self)))

    @classmethod
    def at_init(cls, boxes: np.ndarray, seconds: float) -> TrackResults:
        """The init frame's results: the given ``(N, 4)`` boxes, NaN scores, no tokens."""
        count = len(boxes)
        return cls(
            boxes=np.array(boxes, dtype=np.float64),
            scores=np.full(count, np.nan),
            template_updated=np.zeros(count, dtype=bool),
            tokens=np.full((count, 4), -1, dtype=np.int64),
            confidences=np.full((count, 4), np.nan),
            frame_index=0,
            seconds=seconds,
        )


@dataclass
class TargetState:
    """Per-target tracking state: the current box and the template crops.

    ``templates`` is ``(T, 3, Ht, Wt)``: row 0 is the first-frame template (never replaced), rows
    ``1..T-1`` the most recent accepted dynamic templates (oldest first), as in the official list.
    ``history``: for a temporal model (`ModelConfig.temporal_frames` = K > 0), the K last boxes (``xywh``
    frame pixels, oldest first, the init box repeated at the start; `seqtrack.tracking.history`); else empty.
    """

    box: list[float]
    templates: torch.Tensor
    low_score_frames: int = 0  # consecutive frames scoring below `TrackerConfig.lost_score`
    history: list[list[float]] = field(default_factory=list)

    def search_factor(self, config: TrackerConfig) -> float:
        """The crop factor for the next search: the wider re-detection one once the target seems lost."""
        if config.lost_search_factor is not None and self.low_score_frames >= config.lost_after:
            return float(config.lost_search_factor)
        return float(config.search_factor)


@dataclass
class TrackerState:
    """Everything that changes while tracking a video (the model holds none of it)."""

    targets: list[TargetState]
    frame_index: int = 0


def _boxes_array(boxes, what: str) -> np.ndarray:
    """``(N, 4)`` float64 from one box (``what == "box"``) or a list of boxes; `InputError` otherwise."""
    array = np.asarray(boxes, dtype=np.float64)
    if what == "box" and array.shape == (4,):
        return array[None]
    if what == "boxes" and array.ndim == 2 and array.shape[1] == 4 and array.shape[0] > 0:
        return array
    expected = "four numbers x,y,w,h" if what == "box" else "a non-empty list of x,y,w,h boxes, shape (N, 4)"
    hint = " (for several targets use init_many)" if what == "box" and array.ndim == 2 else ""
    raise InputError(f"{what} must be {expected}; got shape {np.shape(boxes)}{hint}")


def validate_frame(frame: np.ndarray, where: str = "frame") -> np.ndarray:
    """Check a frame is ``(H, W, 3)`` uint8 (RGB); raises `InputError` naming ``where`` otherwise."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(f"{where} must be an (H, W, 3) uint8 RGB array, got shape {shape} dtype {dtype}")
    return frame


# Init boxes outside these sizes are typing mistakes (a unit slip, an exponent), not targets: refused.
MIN_BOX_SIDE = 1e-3  # pixels
MAX_BOX_FRAMES = 100  # a width (height) over this many frame widths (heights)


def validate_init_box(box: np.ndarray, frame_hw: tuple[int, int], label: str = "box") -> None:
    """Reject boxes that cannot start a track: non-finite, ``w`` or ``h <= 0``, outside the frame, or
    absurdly sized (a side below `MIN_BOX_SIDE` px or over `MAX_BOX_FRAMES` times the frame's)."""
    x, y, w, h = (float(v) for v in box)
    height, width = frame_hw
    shown = f"{label} {x:g},{y:g},{w:g},{h:g}"
    if not np.isfinite(box).all():
        raise InputError(f"{shown} has non-finite values")
    if w <= 0 or h <= 0:
        raise InputError(f"{shown} must have positive width and height")
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        raise InputError(f"{shown} is too small: width and height must be at least {MIN_BOX_SIDE:g} px")
    if w > MAX_BOX_FRAMES * width or h > MAX_BOX_FRAMES * height:
        raise InputError(
            f"{shown} is too large for the first frame ({width}x{height}): width and height must be at most "
            f"{MAX_BOX_FRAMES}x the frame's"
        )
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise InputError(f"{shown} lies outside the first frame ({width}x{height})")


class Tracker:
    """SeqTrack online tracker for one or several targets (batched: one forward per frame for all).

    One target: ``init(frame, box) -> TrackResult``, then ``track(frame) -> TrackResult``. Several:
    ``init_many(frame, boxes) -> TrackResults``, then ``track_many(frame) -> TrackResults`` (arrays).

    Args:
        model: a `BoxPredictor` (`seqtrack.runtime.protocol`): a `SeqTrack` network or any predictor
            built by `seqtrack.runtime.factory.make_predictor` (ONNX Runtime, bf16, compiled ...).
        config: tracking settings; defaults to the official ones with the ``default`` update policy.
    """

    def __init__(self, model, config: TrackerConfig | None = None) -> None:
        self.model = model.eval() if isinstance(model, torch.nn.Module) else model
        config = config or TrackerConfig(update_presets=update_presets_for(model.config.name))
        # Unset crop factors follow the network (ModelConfig records what it was trained with).
        self.config = dataclasses.replace(
            config,
            template_factor=config.template_factor
            if config.template_factor is not None
            else model.config.template_factor,
            search_factor=config.search_factor if config.search_factor is not None else model.config.search_factor,
        )
        self.state: TrackerState | None = None
        self.device, self.dtype = torch.device(model.device), model.dtype  # where the crops must go

    @classmethod
    def from_pretrained(
        cls,
        weights: str | Path = "demo",
        *,
        backend: str = "torch",
        device: str = "cpu",
        dtype: str = "fp32",
        compile: bool = False,
        quantize: str | None = None,
        threads: int | None = None,
        fast: bool = False,
        settings: str = "weights",
        updates: str | None = "default",
        update_interval: int | None = None,
        update_threshold: float | None = None,
        **config_overrides,
    ) -> Tracker:
        """A tracker from a model name or a weights file, run by any backend.

        Args:
            weights: a registered name (``demo``, ``b256`` ... ``l384_got``: `seqtrack.model.registry`) or a
                path: official ``.pth.tar``, our ``.safetensors``, a state dict or an exported ``.onnx``.
            backend, device, dtype, compile, quantize, threads: how to run the network
                (`seqtrack.runtime.factory.make_predictor`; e.g. ``backend="onnxruntime", quantize="int8"``).
            fast: the fastest path this CPU has that keeps the answers (`seqtrack.runtime.fast`; torch fp32 CPU).
            settings: ``"weights"`` uses the tracker settings the file recommends (the demo model's), then
                ``config_overrides``; ``"official"`` the official tracker (`seqtrack.tracking.settings`). An
                exported graph applies the plain Hann window, so with ``backend="onnxruntime"`` a recommended
                ``window_power`` is not used (an explicit one is refused by the predictor).
            updates: name of a per-benchmark update preset (``default``, ``lasot``, ``got10k_test``,
                ``trackingnet``, ``tnl2k``, ``vot20`` ...); update_interval, update_threshold override it.
            config_overrides: other `TrackerConfig` fields (``window``, ``update_mode``, ``search_factor`` ...).
        """
        from seqtrack.model.header import read_header
        from seqtrack.model.registry import resolve_weights
        from seqtrack.runtime.factory import make_predictor
        from seqtrack.tracking.settings import resolve_tracker_config

        path = resolve_weights(weights)
        options = dict(backend=backend, dtype=dtype, compile=compile, quantize=quantize, threads=threads, fast=fast)
        predictor = make_predictor(path, device=device, **options)
        recommended = dict(read_header(path).tracker)
        if backend != "torch":
            recommended.pop("window_power", None)
        config = resolve_tracker_config(
            predictor.config,
            recommended,
            settings=settings,
            overrides=config_overrides,
            updates=updates,
            update_interval=update_interval,
            update_threshold=update_threshold,
        )
        return cls(predictor, config)

    def reset(self) -> None:
        """Forget the current video (targets, templates, frame counter); the model stays loaded."""
        self.state = None

    # ------------------------------------------------------------------------------------------
    def _crops(
        self, frame: np.ndarray, boxes: Sequence[Sequence[float]], factor: float | Sequence[float], size: int
    ) -> tuple[torch.Tensor, list[float]]:
        """Square crops ``(B, 3, size, size)`` around ``boxes`` (``xywh`` pixels) at one factor or one per box."""
        return self._raw_crops(frame, boxes, factor, size)[:2]

    def _raw_crops(
        self, frame: np.ndarray, boxes: Sequence[Sequence[float]], factor: float | Sequence[float], size: int
    ) -> tuple[torch.Tensor, list[float], np.ndarray]:
        """`_crops`, plus the uint8 crops ``(B, size, size, 3)`` before normalisation."""
        per_box = factor if isinstance(factor, Sequence) else [factor] * len(boxes)
        crops, factors = zip(*(crop_square(frame, box, f, size) for box, f in zip(boxes, per_box)))
        raw = np.stack(crops)
        return normalize_crops(raw, device=self.device, dtype=self.dtype), list(factors), raw

    @torch.inference_mode()
    def init(self, frame: np.ndarray, box_xywh) -> TrackResult:
        """Start tracking one target.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB; box_xywh: ``[x, y, w, h]`` top-left pixels.
        Returns:
            The init result: the given box, score NaN.
        """
        return self._start(frame, _boxes_array(box_xywh, "box"), labels=["box"])[0]

    @torch.inference_mode()
    def init_many(self, frame: np.ndarray, boxes_xywh) -> TrackResults:
        """Start tracking several targets at once (every later frame: one batched forward for all).

        Args:
            frame: ``(H, W, 3)`` uint8 RGB; boxes_xywh: ``(N, 4)`` boxes, top-left pixels.
        """
        boxes = _boxes_array(boxes_xywh, "boxes")
        return self._start(frame, boxes, labels=[f"box {i + 1}" for i in range(len(boxes))])

    def _start(self, frame: np.ndarray, boxes: np.ndarray, labels: list[str]) -> TrackResults:
        tick = time.perf_counter()
        validate_frame(frame, "first frame")
        for box, label in zip(boxes, labels):
            validate_init_box(box, frame.shape[:2], label)
        templates, _ = self._crops(frame, boxes.tolist(), self.config.template_factor, self.model.config.template_size)
        count, frames = self.model.config.num_templates, self.model.config.temporal_frames
        self.state = TrackerState(
            targets=[
                TargetState(
                    box=box.tolist(),
                    templates=t.unsqueeze(0).repeat(count, 1, 1, 1),
                    history=initial_history(box, frames),
                )
                for box, t in zip(boxes, templates)
            ]
        )
        return TrackResults.at_init(boxes, time.perf_counter() - tick)

    @torch.inference_mode()
    def track(self, frame: np.ndarray) -> TrackResult:
        """Follow the one target into ``frame`` (``(H, W, 3)`` uint8 RGB)."""
        if self.state is not None and len(self.state.targets) != 1:
            raise InputError(f"the tracker follows {len(self.state.targets)} targets: use track_many(frame)")
        return self.track_many(frame)[0]

    @torch.inference_mode()
    def track_many(self, frame: np.ndarray) -> TrackResults:
        """Follow every target into ``frame`` (``(H, W, 3)`` uint8 RGB) with one batched forward."""
        return self._step(frame)[0]

    @torch.inference_mode()
    def track_with_attention(self, frame: np.ndarray) -> tuple[TrackResult, AttentionView]:
        """`track` that also returns what the network looked at (the paper's Fig. 7).

        Needs a torch `SeqTrack` as the model (not ONNX Runtime, not a compiled or autocast predictor).

        Returns:
            ``(result, view)``: the `TrackResult`, and an `AttentionView` of this frame: the uint8 search
            crop ``(S, S, 3)`` the network saw and its cross-attention ``(4, N_mem)`` per generated token.
        Raises:
            InputError: a model other than a torch `SeqTrack`, or several targets.
        """
        if not isinstance(self.model, torch.nn.Module):
            raise InputError(
                f"attention maps need the torch backend (--backend torch, no --compile/bf16-autocast); this tracker "
                f"runs {type(self.model).__name__}"
            )
        if self.state is not None and len(self.state.targets) != 1:
            raise InputError(f"attention maps are made for one target, the tracker follows {len(self.state.targets)}")
        results, view = self._step(frame, attention=True)
        return results[0], view

    def _generate_options(self, previous: list[list[float]], factors: list[float], attention: bool) -> dict:
        """The keyword arguments of ``generate`` beyond the default path: the temporal ``history`` (the K
        last boxes in each target's search crop centred on ``previous`` at ``factors``), ``return_attention``.
        Only what is needed is passed, so any `BoxPredictor` runs a default model."""
        model_config, extra = self.model.config, {}
        if model_config.temporal_frames > 0:
            extra["history"] = history_batch(
                [t.history for t in self.state.targets],
                previous,
                factors,
                model_config.search_size,
                model_config.bins,
                model_config.seq_format,
                self.device,
            )
        if attention:
            extra["return_attention"] = True
        return extra

    def _step(self, frame: np.ndarray, attention: bool = False) -> tuple[TrackResults, AttentionView | None]:
        """One frame for every target; with ``attention``, also the first target's `AttentionView`."""
        if self.state is None:
            raise InputError("call init(frame, box) or init_many(frame, boxes) before tracking")
        tick = time.perf_counter()
        validate_frame(frame)
        state, config, model_config = self.state, self.config, self.model.config
        state.frame_index += 1
        targets = state.targets
        previous = [list(t.box) for t in targets]  # the boxes the search crops are centred on
        search, factors, raw = self._raw_crops(
            frame, previous, [t.search_factor(config) for t in targets], model_config.search_size
        )
        templates = torch.stack([t.templates for t in targets])  # (B, T, 3, Ht, Wt)
        window = float(config.window_power) if config.window else False
        extra = self._generate_options(previous, factors, attention)
        tokens, probs, *maps = self.model.generate(templates, search, window=window, **extra)
        values = tokens_to_box(tokens, model_config.bins, model_config.seq_format).cpu().numpy()  # (B, 4)
        tokens_np, probs_np = tokens.cpu().numpy(), probs.cpu().numpy()
        scores = SCORE_SCALE * probs_np.sum(axis=1)  # (B,) float64
        updated = np.zeros(len(targets), dtype=bool)
        naive = config.update_mode == "naive"
        for i, target in enumerate(targets):
            target.low_score_frames = target.low_score_frames + 1 if scores[i] < config.lost_score else 0
            if scores[i] >= config.hold_score:
                target.box = prediction_to_frame_box(
                    values[i],
                    target.box,
                    model_config.search_size,
                    factors[i],
                    frame.shape[:2],
                    config.clip_margin,
                    config.size_smoothing,
                )
            target.history = push_box(target.history, target.box)
            updated[i] = (
                model_config.num_templates > 1
                and state.frame_index % config.update_interval == 0
                and (naive or scores[i] > config.update_threshold)
            )
        self._refresh_templates(frame, np.flatnonzero(updated))
        results = TrackResults(
            boxes=np.array([t.box for t in targets], dtype=np.float64),
            scores=scores,
            template_updated=updated,
            tokens=tokens_np.copy(),
            confidences=probs_np.copy(),
            frame_index=state.frame_index,
            seconds=time.perf_counter() - tick,
        )
        view = None
        if attention:
            view = AttentionView(
                crop=raw[0],
                attention=maps[0][0].float().cpu().numpy(),
                crop_reference=np.array(previous[0]),
                resize_factor=factors[0],
            )
        return results, view

    def _refresh_templates(self, frame: np.ndarray, indices: np.ndarray) -> None:
        """Crop ``frame`` around each listed target's new box and make it that target's newest template."""
        if len(indices) == 0:
            return
        targets, config = self.state.targets, self.config
        fresh, _ = self._crops(
            frame, [targets[i].box for i in indices], config.template_factor, self.model.config.template_size
        )
        for row, i in enumerate(indices):
            old = targets[i].templates
            # Official list semantics: append the new template, drop index 1 (first frame stays).
            targets[i].templates = torch.cat([old[:1], old[2:], fresh[row : row + 1]])

    def track_video(
        self, source, box_xywh, start_frame: int = 0, max_frames: int | None = None
    ) -> Iterator[tuple[int, TrackResult | TrackResults]]:
        """Generator over a whole source: yields ``(frame_index, result)``, the init frame first.

        Args:
            source: a video file, an image folder, a glob, a camera index (see
                `seqtrack.io.sources.open_source`), or any iterable of ``(H, W, 3)`` uint8 RGB frames.
            box_xywh: the target box ``(4,)`` on the first yielded frame (results: `TrackResult`), or
                ``(N, 4)`` boxes for several targets (results: `TrackResults`).
            start_frame, max_frames: which part of a file source to read.
        """
        from seqtrack.tracking.loop import track_frames

        many = np.ndim(box_xywh) == 2
        if isinstance(source, (str, Path, int)):
            from seqtrack.io.sources import open_source

            with open_source(source, start_frame=start_frame, max_frames=max_frames) as frames:
                for step in track_frames(self, frames, box_xywh, many=many):
                    yield step.index, step.result
        else:
            for step in track_frames(self, enumerate(source), box_xywh, many=many):
                yield step.index, step.result


__all__ = [
    "Tracker",
    "TrackResult",
    "TrackResults",
    "TrackerState",
    "TargetState",
    "validate_frame",
    "validate_init_box",
    "SCORE_SCALE",
]
