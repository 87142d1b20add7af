"""SeqTrack as a tracker of the official GOT-10k toolkit (``pip install got10k``).

The toolkit's experiments drive any subclass of ``got10k.trackers.Tracker``: ``init(image, box)`` on the
first frame, then ``update(image) -> box`` on every other one, with PIL images and ``[x, y, w, h]`` boxes
(top-left pixels, numpy arrays). `SeqTrackTracker` is that subclass around our
`seqtrack.tracking.tracker.Tracker`::

    from got10k.experiments import ExperimentGOT10k
    from seqtrack.integrations.got10k import SeqTrackTracker

    tracker = SeqTrackTracker("b256_got", updates="default")  # the preset `seqtrack eval got10k_val` uses
    experiment = ExperimentGOT10k("/data/got10k", subset="val")
    experiment.run(tracker)
    experiment.report([tracker.name])

The toolkit is imported only when `SeqTrackTracker` is first used (this module's ``__getattr__``), so the
module imports without it; using the class then fails with one line naming ``pip install got10k``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqtrack.errors import InputError

_INSTALL_HINT = "the GOT-10k toolkit integration needs the 'got10k' package: pip install got10k"


def _toolkit_base() -> type:
    """``got10k.trackers.Tracker``, imported now; `InputError` with the install line when it is missing."""
    try:
        from got10k.trackers import Tracker as ToolkitTracker
    except ImportError:
        raise InputError(_INSTALL_HINT) from None
    return ToolkitTracker


def to_rgb_array(image: Any) -> np.ndarray:
    """A frame the toolkit passes (a PIL image of any mode, or an array) as ``(H, W, 3)`` uint8 RGB.

    PIL images go through ``Image.convert("RGB")``: grayscale is repeated over the channels, palette and
    CMYK images are expanded, and RGBA drops its alpha (the toolkit's own loader does the same). Arrays
    must be uint8: ``(H, W)`` or ``(H, W, 1)`` grayscale, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.

    Raises:
        InputError: anything else (a float array, a 2-channel image ...), naming its shape and type.
    """
    # Duck-typed rather than isinstance(PIL.Image.Image): Pillow comes with the toolkit, not with seqtrack.
    if hasattr(image, "mode") and hasattr(image, "convert"):
        if image.mode != "RGB":
            image = image.convert("RGB")
        # A copy, not np.asarray's read-only view of the image's buffer: frames handed to Tracker are
        # ordinary writable arrays everywhere else (cv2 decoding), and code after us may draw on them.
        return np.array(image, dtype=np.uint8)
    array = np.asarray(image)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (1, 3, 4):
        array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[..., :3]
        return np.ascontiguousarray(array)
    if array.dtype == np.uint8 and array.ndim == 2:
        return np.ascontiguousarray(np.stack([array] * 3, axis=-1))
    raise InputError(
        f"the GOT-10k toolkit passed a frame of shape {array.shape} dtype {array.dtype}; expected a PIL image "
        "or a uint8 (H, W), (H, W, 3) or (H, W, 4) array"
    )


def default_name(weights: str | Path, **run_options: Any) -> str:
    """The toolkit's result-folder name for ``weights``: the label ``seqtrack eval`` gives the same run
    (``seqtrack-<weights stem>``, plus backend and precision unless torch fp32), so the toolkit's folder
    and ours are named alike. ``run_options``: ``backend``, ``dtype``, ``compile``, ``quantize``."""
    from seqtrack.evaluate.trackers import TrackerSpec
    from seqtrack.runtime.options import PredictorOptions

    keys = ("backend", "dtype", "compile", "quantize")
    options = PredictorOptions(**{k: run_options[k] for k in keys if run_options.get(k) is not None})
    return TrackerSpec(weights=str(weights), predictor=options).label


class _SeqTrackAdapter:
    """The behaviour of `SeqTrackTracker`; the class itself adds the toolkit's base when first used.

    Args:
        weights: a registered model name or a weights file for `Tracker.from_pretrained`, or a ready
            `seqtrack.tracking.tracker.Tracker` (then no other tracker option may be given).
        name: the folder the toolkit writes results to and the label of its reports (default
            `default_name`, or ``seqtrack-<model name>`` for a given `Tracker`).
        tracker_options: keywords of `Tracker.from_pretrained`: ``settings``, ``updates``, ``backend``,
            ``device``, ``dtype``, ``threads``, `TrackerConfig` fields...

    Attributes:
        tracker: the wrapped `Tracker`; last_result: its `TrackResult` of the latest frame (scores...).
    """

    def __init__(self, weights: Any = "demo", *, name: str | None = None, **tracker_options: Any) -> None:
        from seqtrack.tracking.tracker import Tracker  # torch and the model: loaded with the first tracker

        if isinstance(weights, Tracker):
            if tracker_options:
                raise InputError(
                    f"SeqTrackTracker got a ready Tracker and tracker options ({', '.join(sorted(tracker_options))}):"
                    " pass the options to Tracker.from_pretrained instead"
                )
            tracker = weights
            name = name or "seqtrack-" + str(tracker.model.config.name).removeprefix("seqtrack-")
        else:
            tracker = Tracker.from_pretrained(weights, **tracker_options)
            name = name or default_name(weights, **tracker_options)
        # The same frames and first box always give the same boxes (no sampling in the tracker): the
        # toolkit then runs each sequence once instead of three times.
        super().__init__(name, is_deterministic=True)  # type: ignore[call-arg]  # got10k's Tracker
        self.tracker = tracker
        self.last_result = None

    def init(self, image: Any, box: Any) -> None:
        """Start on the first frame: ``image`` a PIL image (any mode), ``box`` ``[x, y, w, h]`` pixels."""
        self.last_result = self.tracker.init(to_rgb_array(image), np.asarray(box, dtype=np.float64))

    def update(self, image: Any) -> np.ndarray:
        """The target's ``(4,)`` float64 ``[x, y, w, h]`` box (top-left pixels) in the next frame."""
        self.last_result = self.tracker.track(to_rgb_array(image))
        return np.array(self.last_result.box, dtype=np.float64)


def _make_class() -> type:
    """``SeqTrackTracker``: `_SeqTrackAdapter` on top of the toolkit's ``Tracker`` (imported now)."""

    class SeqTrackTracker(_SeqTrackAdapter, _toolkit_base()):  # type: ignore[misc]  # a base known at run time
        """SeqTrack as a ``got10k.trackers.Tracker``: ``SeqTrackTracker(weights="demo", *, name=None,
        **tracker_options)``; the arguments are `_SeqTrackAdapter`'s."""

    # Named as the module attribute it becomes, so that pickle and reprs find it there.
    SeqTrackTracker.__qualname__ = "SeqTrackTracker"
    return SeqTrackTracker


def __getattr__(attribute: str) -> Any:
    """``SeqTrackTracker``, built on the first access (this is when the toolkit is imported)."""
    if attribute == "SeqTrackTracker":
        cls = _make_class()
        globals()[attribute] = cls  # later accesses (and pickle's lookup by name) find it directly
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


# SeqTrackTracker is made by __getattr__ on first use (the toolkit is its base), so no static definition.
__all__ = ["SeqTrackTracker", "to_rgb_array", "default_name"]  # noqa: F822
