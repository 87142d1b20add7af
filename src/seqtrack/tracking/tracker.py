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

Crops, normalisation, decoding, the window and the state update are numpy and OpenCV
(`seqtrack.geometry.crop`); the network is reached through `seqtrack.tracking.inputs`, so a torch-free
predictor (the cached ``--fast`` read-out) tracks without torch ever being imported.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from seqtrack.config import TrackerConfig, update_presets_for
from seqtrack.errors import InputError
from seqtrack.geometry.crop import crop_square, prediction_to_frame_box, token_values
from seqtrack.tracking.attention import AttentionView
from seqtrack.tracking.history import history_token_array, initial_history, push_box
from seqtrack.tracking.inputs import is_torch_module, network_inputs
from seqtrack.tracking.results import SCORE_SCALE, TrackResult, TrackResults
from seqtrack.tracking.state import (
    MAX_BOX_FRAMES,
    MIN_BOX_SIDE,
    TargetState,
    TrackerState,
    boxes_array,
    validate_frame,
    validate_init_box,
)


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
        self.model = model.eval() if is_torch_module(model) else model
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
        self._inputs = network_inputs(self.model)
        self.device, self.dtype = self._inputs.device, self._inputs.dtype  # where the crops must go

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
        cuda_graphs: bool = False,
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
            fast: the fastest path this machine has that keeps the answers (`seqtrack.runtime.fast` on the CPU,
                CUDA graphs on a GPU; torch fp32). cuda_graphs: replay the network as CUDA graphs (GPU).
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
        options.update(cuda_graphs=cuda_graphs)
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
    ) -> tuple[object, list[float]]:
        """Square crops ``(B, 3, size, size)`` around ``boxes`` (``xywh`` pixels) at one factor or one per box."""
        return self._raw_crops(frame, boxes, factor, size)[:2]

    def _raw_crops(
        self, frame: np.ndarray, boxes: Sequence[Sequence[float]], factor: float | Sequence[float], size: int
    ) -> tuple[object, list[float], np.ndarray]:
        """`_crops`, plus the uint8 crops ``(B, size, size, 3)`` before normalisation."""
        per_box = factor if isinstance(factor, Sequence) else [factor] * len(boxes)
        crops, factors = zip(*(crop_square(frame, box, f, size) for box, f in zip(boxes, per_box)))
        raw = np.stack(crops)
        return self._inputs.crops(raw), list(factors), raw

    def init(self, frame: np.ndarray, box_xywh) -> TrackResult:
        """Start tracking one target.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB; box_xywh: ``[x, y, w, h]`` top-left pixels.
        Returns:
            The init result: the given box, score NaN.
        """
        return self._start(frame, boxes_array(box_xywh, "box"), labels=["box"])[0]

    def init_many(self, frame: np.ndarray, boxes_xywh) -> TrackResults:
        """Start tracking several targets at once (every later frame: one batched forward for all).

        Args:
            frame: ``(H, W, 3)`` uint8 RGB; boxes_xywh: ``(N, 4)`` boxes, top-left pixels.
        """
        boxes = boxes_array(boxes_xywh, "boxes")
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
                    templates=self._inputs.repeat(t, count),
                    history=initial_history(box, frames),
                )
                for box, t in zip(boxes, templates)
            ]
        )
        return TrackResults.at_init(boxes, time.perf_counter() - tick)

    def track(self, frame: np.ndarray) -> TrackResult:
        """Follow the one target into ``frame`` (``(H, W, 3)`` uint8 RGB)."""
        if self.state is not None and len(self.state.targets) != 1:
            raise InputError(f"the tracker follows {len(self.state.targets)} targets: use track_many(frame)")
        return self.track_many(frame)[0]

    def track_many(self, frame: np.ndarray) -> TrackResults:
        """Follow every target into ``frame`` (``(H, W, 3)`` uint8 RGB) with one batched forward."""
        return self._step(frame)[0]

    def track_with_attention(self, frame: np.ndarray) -> tuple[TrackResult, AttentionView]:
        """`track` that also returns what the network looked at (the paper's Fig. 7).

        Needs a torch `SeqTrack` as the model (not ONNX Runtime, not a compiled or autocast predictor).

        Returns:
            ``(result, view)``: the `TrackResult`, and an `AttentionView` of this frame: the uint8 search
            crop ``(S, S, 3)`` the network saw and its cross-attention ``(4, N_mem)`` per generated token.
        Raises:
            InputError: a model other than a torch `SeqTrack`, or several targets.
        """
        if not is_torch_module(self.model):
            raise InputError(
                f"attention maps need the torch backend (--backend torch, no --compile/bf16-autocast); this tracker "
                f"runs {type(self.model).__name__}"
            )
        if self.state is not None and len(self.state.targets) != 1:
            raise InputError(f"attention maps are made for one target, the tracker follows {len(self.state.targets)}")
        results, view = self._step(frame, attention=True)
        return results[0], view

    def _history(self, previous: list[list[float]], factors: list[float]) -> np.ndarray | None:
        """The temporal ``history (B, 4K)`` int64 (the K last boxes in each target's search crop centred on
        ``previous`` at ``factors``) for a temporal model, None otherwise (any predictor runs a default model)."""
        model_config = self.model.config
        if model_config.temporal_frames == 0:
            return None
        return history_token_array(
            [t.history for t in self.state.targets],
            previous,
            factors,
            model_config.search_size,
            model_config.bins,
            model_config.seq_format,
        )

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
        templates = self._inputs.stack([t.templates for t in targets])  # (B, T, 3, Ht, Wt)
        window = float(config.window_power) if config.window else False
        history = self._history(previous, factors)
        tokens_np, probs_np, maps = self._inputs.generate(templates, search, window, history, attention)
        values = token_values(tokens_np, model_config.bins, model_config.seq_format)  # (B, 4) float32 cxcywh
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
                attention=maps[0],
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
            targets[i].templates = self._inputs.cat([old[:1], old[2:], fresh[row : row + 1]])

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
    "MIN_BOX_SIDE",
    "MAX_BOX_FRAMES",
]
