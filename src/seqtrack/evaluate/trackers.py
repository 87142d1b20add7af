"""Which tracker the runner drives, described by a picklable `TrackerSpec` and built by `build_tracker`.

The runner only needs the small `TrackerLike` protocol::

    tracker.init(frame_rgb, box_xywh)          # frame: (H, W, 3) uint8 RGB; box: (4,) xywh pixels
    result = tracker.track(frame_rgb)          # result.box: (4,) xywh pixels; result.score optional

(``track`` may also return the box itself, any 4-element sequence.)

Kinds of spec:

* ``"seqtrack"``: `seqtrack.tracking.tracker.Tracker.from_pretrained(weights, updates=..., **options)`,
  run by the spec's `PredictorOptions` (torch fp32 / bf16 / compiled, ONNX Runtime fp32 / int8) on its
  ``device``; imported only when built (so evaluation code runs without the model).
* ``"module:callable"``: any importable factory (class or function). It is called with the keyword
  arguments it accepts among ``weights``, ``updates`` and the spec's options.
* ``"opencv-mil"``: OpenCV's MIL tracker (a classic baseline that ships with opencv-python), through
  `OpenCVTracker`; other OpenCV trackers can be added to `OPENCV_KINDS`.

Specs are built once per worker process (never pickled as live objects), which keeps the runner safe
under the ``spawn`` and ``forkserver`` start methods.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from seqtrack.errors import InputError
from seqtrack.runtime.options import PredictorOptions

# Suffixes stripped from a weights file name to make the tracker label (longest first).
_WEIGHT_SUFFIXES = (".pth.tar", ".safetensors", ".onnx", ".pth", ".tar", ".pt")
# `Tracker.from_pretrained` keywords that say how to run the network: flags of their own, never --option.
_PREDICTOR_KEYS = ("backend", "device", "dtype", "compile", "quantize", "threads")


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
        updates: template-update preset name (docs/official-behaviour.md §4.4: ``"lasot"``, ``"got10k_test"``,
        ``"default"``...);
            None lets the caller choose the benchmark's preset.
        options: extra keyword arguments for the factory (must be picklable).
        predictor: how ``seqtrack`` runs its network (backend, dtype, compile, quantize, threads);
            other kinds take the defaults only (`check_spec`).
        device: torch device of the ``seqtrack`` network (``"cpu"``, ``"cuda:1"``...).
        alone: the only process tracking on this machine (one worker, no other rank here): an unset thread
            count then means the cores other processes leave free, as for ``seqtrack track``, not one.
    """

    kind: str = "seqtrack"
    weights: str | None = None
    updates: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    predictor: PredictorOptions = field(default_factory=PredictorOptions)
    device: str = "cpu"
    alone: bool = False

    @property
    def label(self) -> str:
        """Short name for result folders and tables (``seqtrack-<weights stem>``, the callable name...).

        A ``seqtrack`` run other than torch fp32 is named after its backend and precision too
        (``seqtrack-<stem>-onnxruntime-int8``, ``seqtrack-<stem>-torch-bf16``): its boxes may differ, so it
        must neither overwrite the reference run's files nor be skipped as already complete by them.
        """
        if self.kind != "seqtrack":
            return self.kind.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        label = "seqtrack"
        if self.weights:
            stem = str(self.weights).replace("\\", "/").rsplit("/", 1)[-1]
            suffix = next((s for s in _WEIGHT_SUFFIXES if stem.endswith(s)), "")
            label = f"seqtrack-{stem[: len(stem) - len(suffix)]}"
        if self.predictor.label != PredictorOptions().label:
            label += "-" + self.predictor.label.replace(" ", "-")
        return label

    @property
    def intra_op_threads(self) -> int | None:
        """Intra-op threads of each process running the network: the spec's, else one on CPU, else (a
        process ``alone`` on its machine, or a GPU network) None: the library's automatic choice.

        One per process by default when worker processes share the machine: with the libraries' default (a
        thread per core in each process) a 2-core machine measured 1.8 fps where one thread ran 60 fps.
        """
        if self.predictor.threads is not None:
            return self.predictor.threads
        if self.alone:
            return None
        on_cpu = self.predictor.backend == "onnxruntime" or self.device.split(":")[0] == "cpu"
        return 1 if on_cpu else None


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
    run = spec.predictor
    # from_pretrained is `Tracker(make_predictor(weights, ...), config)`, with the model's update presets.
    return Tracker.from_pretrained(
        spec.weights,
        backend=run.backend,
        device=spec.device,
        dtype=run.dtype,
        compile=run.compile,
        quantize=run.quantize,
        fast=run.fast,
        cuda_graphs=run.cuda_graphs,
        threads=spec.intra_op_threads,
        updates=spec.updates or "default",
        **dict(spec.options),
    )


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
            raise InputError(
                f"tracker {spec.kind!r} needs cv2.{factory_name}, absent from this OpenCV build "
                "(CSRT and KCF come with the contrib build seqtrack depends on; another OpenCV replaced it: "
                "pip uninstall opencv-python opencv-python-headless && pip install --force-reinstall "
                "opencv-contrib-python-headless)"
            )
        return OpenCVTracker(create)

    return build


#: OpenCV trackers that need no model files. MIL ships with opencv-python; CSRT and KCF need the
#: opencv-contrib build, which is the OpenCV seqtrack depends on.
OPENCV_KINDS: Mapping[str, str] = {
    "opencv-mil": "TrackerMIL_create",
    "opencv-csrt": "TrackerCSRT_create",
    "opencv-kcf": "TrackerKCF_create",
}


def check_spec(spec: TrackerSpec) -> None:
    """Validate ``spec`` cheaply in the main process, before workers start (nothing is built).

    Raises:
        InputError: unknown kind, a ``module:callable`` that cannot be imported, ``seqtrack`` without
            weights / with a weights file that does not exist / with run options that cannot work
            together, or run options given to another kind.
    """
    if spec.kind == "seqtrack":
        if not spec.weights:
            raise InputError("the seqtrack tracker needs weights: pass --weights NAME or PATH (see 'seqtrack models')")
        from seqtrack.model.registry import resolve_weights

        spec = replace(spec, weights=str(resolve_weights(spec.weights)))  # a missing model fails here, once
        _check_run(spec)
        return
    flags = _run_flags(spec)
    if flags:
        raise InputError(f"tracker {spec.kind!r} does not take {' '.join(flags)} (they run the seqtrack network)")
    if spec.kind in OPENCV_KINDS:
        return
    if ":" in spec.kind:
        load_callable(spec.kind)
    else:
        kinds = ", ".join(["seqtrack", *OPENCV_KINDS, "module:callable"])
        raise InputError(f"unknown tracker {spec.kind!r}; expected one of {kinds}")


def _run_flags(spec: TrackerSpec) -> list[str]:
    """The run flags (``--backend`` ... ``--device``) that ``spec`` sets to something else than the default."""
    default = PredictorOptions()
    flags = [
        f"--{name.replace('_', '-')}"
        for name in ("backend", "dtype", "compile", "quantize", "threads", "fast", "cuda_graphs")
        if getattr(spec.predictor, name) != getattr(default, name)
    ]
    return flags + (["--device"] if spec.device != "cpu" else [])


def _check_run(spec: TrackerSpec) -> None:
    """The ``seqtrack`` checks that `PredictorOptions` cannot make alone (it knows neither the weights nor
    the options): each would otherwise fail every sequence, in every worker, after the folder exists."""
    options, run = dict(spec.options), spec.predictor
    given = [key for key in _PREDICTOR_KEYS if key in options]
    if given:
        raise InputError(f"--option {given[0]}=...: use --{given[0]} instead")
    is_onnx = Path(spec.weights).suffix.lower() == ".onnx"
    if run.backend == "torch" and is_onnx:
        raise InputError(f"{spec.weights} is an ONNX file: use --backend onnxruntime")
    if run.backend == "torch" and spec.device.strip().lower() != "cpu":  # the CPU needs no torch import
        # Here, once, rather than in every worker after the results folder exists: ``--device foo`` or
        # ``--device cuda`` on a machine without one.
        from seqtrack.runtime.devices import resolve_device

        resolve_device(spec.device)
    if run.backend == "onnxruntime":
        if spec.device.strip().lower() != "cpu":  # its CUDA provider, if this onnxruntime has one
            from seqtrack.runtime.onnx_providers import onnx_device_name

            onnx_device_name(spec.device)  # InputError naming the device when it has none
        power = options.get("window_power", 1.0)
        if options.get("window", True) and isinstance(power, (int, float)) and float(power) not in (0.0, 1.0):
            raise InputError(
                f"--option window_power={power:g} needs --backend torch (an exported graph applies "
                "the Hann window as is or not at all)"
            )
        # onnx writes the graph (a checkpoint is exported on the fly) and quantises it
        needed = ("onnxruntime",) if is_onnx and run.quantize is None else ("onnxruntime", "onnx")
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            raise InputError(
                f"--backend onnxruntime needs the optional package {missing[0]!r}: install the "
                "export extra, e.g. pip install 'seqtrack[export]' (onnx, onnxruntime)"
            )


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
