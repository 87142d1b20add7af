"""Which tracker the runner drives, described by a picklable `TrackerSpec` and built by `build_tracker`.

The runner only needs the small `TrackerLike` protocol::

    tracker.init(frame_rgb, box_xywh)          # frame: (H, W, 3) uint8 RGB; box: (4,) xywh pixels
    result = tracker.track(frame_rgb)          # result.box: (4,) xywh pixels; result.score optional

(``track`` may also return the box itself, any 4-element sequence.)

Kinds of spec:

* ``"seqtrack"``: `seqtrack.tracking.tracker.Tracker.from_checkpoint(weights, updates=..., **options)`,
  imported only when built (so evaluation code runs without the model).
* ``"module:callable"``: any importable factory (class or function). It is called with the keyword
  arguments it accepts among ``weights``, ``updates`` and the spec's options.
* ``"opencv-mil"``: OpenCV's MIL tracker (a classic baseline that ships with opencv-python), through
  `OpenCVTracker`; other OpenCV trackers can be added to `OPENCV_KINDS`.

Specs are built once per worker process (never pickled as live objects), which keeps the runner safe
under the ``spawn`` and ``forkserver`` start methods.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from seqtrack.errors import InputError


class TrackerLike(Protocol):
    """What the runner calls (see module docstring for shapes and box conventions)."""

    def init(self, frame: np.ndarray, box_xywh: np.ndarray) -> object: ...

    def track(self, frame: np.ndarray) -> object: ...


@dataclass(frozen=True)
class TrackerSpec:
    """Picklable description of a tracker.

    Attributes:
        kind: ``"seqtrack"``, ``"module:callable"`` or an OpenCV kind (``"opencv-mil"``).
        weights: checkpoint path (required by ``seqtrack``; passed to factories that accept it).
        updates: template-update preset name (spec §4.4: ``"lasot"``, ``"got10k_test"``, ``"default"``...);
            None lets the caller choose the benchmark's preset.
        options: extra keyword arguments for the factory (must be picklable).
    """

    kind: str = "seqtrack"
    weights: str | None = None
    updates: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short name for result folders and tables (``seqtrack-<weights stem>``, the callable name...)."""
        if self.kind == "seqtrack":
            if self.weights:
                stem = str(self.weights).replace("\\", "/").rsplit("/", 1)[-1]
                for suffix in (".pth.tar", ".safetensors", ".pth", ".tar", ".pt"):
                    if stem.endswith(suffix):
                        stem = stem[: -len(suffix)]
                        break
                return f"seqtrack-{stem}"
            return "seqtrack"
        return self.kind.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def box_and_score(result: object) -> tuple[np.ndarray, float]:
    """``((4,) float64 xywh box, score)`` from whatever ``track`` returned (score NaN if absent)."""
    box = getattr(result, "box", result)
    score = getattr(result, "score", None)
    array = np.asarray(box, dtype=np.float64).reshape(-1)
    if array.size != 4:
        raise ValueError(f"tracker returned {array.size} box values, expected 4 (x, y, w, h)")
    return array, float("nan") if score is None else float(score)


def _call_with_accepted(factory: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``factory`` with the subset of ``kwargs`` its signature accepts (all of them with ``**kw``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return factory(**kwargs)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return factory(**kwargs)
    return factory(**{k: v for k, v in kwargs.items() if k in params})


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:attr.sub"`` and return the attribute; `InputError` naming what failed."""
    module_name, _, attr_path = path.partition(":")
    if not module_name or not attr_path:
        raise InputError(f"tracker {path!r}: expected 'seqtrack', an OpenCV kind, or 'module:callable'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"tracker {path!r}: cannot import module {module_name!r} ({error})") from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise InputError(f"tracker {path!r}: module {module_name!r} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"tracker {path!r}: {attr_path!r} is not callable")
    return obj


def _build_seqtrack(spec: TrackerSpec) -> TrackerLike:
    if not spec.weights:
        raise InputError("the seqtrack tracker needs a checkpoint: pass --weights PATH")
    try:
        from seqtrack.tracking.tracker import Tracker  # imported lazily: pulls in torch and the model
    except ImportError as error:
        raise InputError(f"the SeqTrack tracker is not available in this installation ({error})") from None
    return Tracker.from_checkpoint(spec.weights, updates=spec.updates or "default", **dict(spec.options))


@dataclass
class OpenCVResult:
    """Result of `OpenCVTracker.track`: ``box`` xywh pixels, ``score`` 1.0 when OpenCV reports success."""

    box: np.ndarray
    score: float


class OpenCVTracker:
    """Adapter from an OpenCV ``cv2.Tracker`` (BGR, integer boxes) to `TrackerLike` (RGB, float xywh).

    When OpenCV loses the target the previous box is kept (score 0), so every frame has a box.
    """

    def __init__(self, create: Callable[[], Any]):
        self._create = create
        self._tracker: Any = None
        self._box = np.zeros(4)

    def init(self, frame: np.ndarray, box_xywh: np.ndarray) -> None:
        import cv2

        self._tracker = self._create()
        self._box = np.asarray(box_xywh, dtype=np.float64).reshape(4)
        rect = tuple(int(round(v)) for v in self._box)
        self._tracker.init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), rect)

    def track(self, frame: np.ndarray) -> OpenCVResult:
        import cv2

        ok, rect = self._tracker.update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if ok:
            self._box = np.asarray(rect, dtype=np.float64).reshape(4)
        return OpenCVResult(box=self._box.copy(), score=1.0 if ok else 0.0)


def _opencv(factory_name: str) -> Callable[[TrackerSpec], TrackerLike]:
    def build(spec: TrackerSpec) -> TrackerLike:
        import cv2

        create = getattr(cv2, factory_name, None)
        if create is None:
            raise InputError(f"tracker {spec.kind!r} needs cv2.{factory_name}, absent from this OpenCV build "
                             "(CSRT and KCF come with opencv-contrib: pip install 'seqtrack[baselines]')")
        return OpenCVTracker(create)

    return build


#: OpenCV trackers that need no model files. MIL ships with opencv-python; CSRT and KCF need the
#: opencv-contrib build (the optional ``baselines`` extra), which replaces the plain one.
OPENCV_KINDS: Mapping[str, str] = {
    "opencv-mil": "TrackerMIL_create",
    "opencv-csrt": "TrackerCSRT_create",
    "opencv-kcf": "TrackerKCF_create",
}


def check_spec(spec: TrackerSpec) -> None:
    """Validate ``spec`` cheaply in the main process, before workers start (nothing is built).

    Raises:
        InputError: unknown kind, a ``module:callable`` that cannot be imported, or ``seqtrack``
            without weights / with a weights file that does not exist.
    """
    if spec.kind == "seqtrack":
        if not spec.weights:
            raise InputError("the seqtrack tracker needs a checkpoint: pass --weights PATH")
        if not Path(spec.weights).expanduser().is_file():
            raise InputError(f"checkpoint not found: expected a file at {spec.weights}")
    elif spec.kind in OPENCV_KINDS:
        return
    elif ":" in spec.kind:
        load_callable(spec.kind)
    else:
        kinds = ", ".join(["seqtrack", *OPENCV_KINDS, "module:callable"])
        raise InputError(f"unknown tracker {spec.kind!r}; expected one of {kinds}")


def build_tracker(spec: TrackerSpec) -> TrackerLike:
    """Construct the tracker described by ``spec`` (called inside each worker process).

    Raises:
        InputError: unknown kind, import failure, or missing weights.
    """
    if spec.kind == "seqtrack":
        return _build_seqtrack(spec)
    if spec.kind in OPENCV_KINDS:
        return _opencv(OPENCV_KINDS[spec.kind])(spec)
    if ":" in spec.kind:
        factory = load_callable(spec.kind)
        kwargs = {"weights": spec.weights, "updates": spec.updates, **dict(spec.options)}
        return _call_with_accepted(factory, kwargs)
    kinds = ", ".join(["seqtrack", *OPENCV_KINDS, "module:callable"])
    raise InputError(f"unknown tracker {spec.kind!r}; expected one of {kinds}")
