"""Video files, stream URLs and cameras as a `FrameSource`, decoded by OpenCV's FFmpeg backend.

How a video ends (see `seqtrack.io.sources` for the user-level summary):

* decoding goes on to the container's announced count (``CAP_PROP_FRAME_COUNT``): a normal end;
* decoding stops at most ``max(SHORT_END_FRAMES, SHORT_END_FRACTION x count)`` frames short of it
  (3 frames, or 1 % of long videos; 2 % where the count is only an estimate) and no frame failed to
  decode on the way: a normal end too. The count is a hint, and camera files often announce one frame
  more than any decoder returns. ``short_by`` says by how much, ``note`` says it in words;
* decoding stops further short: an error naming the first frame that did not come (a truncated file);
* a frame fails to decode part-way: OpenCV's ``read`` fails once, yet FFmpeg may still hold decoded
  frames or go on with the next packet. The source tries again, and compares the timestamp of each
  frame that comes after with the one before: frames that follow on without a gap are yielded (they
  were only held back, e.g. for B-frame reordering), a gap means a frame is lost and raises an error
  naming it, since every later index would be off by one. (Timestamps are compared only once a frame
  has failed: a video whose frame rate varies may then be reported where its rate drops, never before.)

FFmpeg's own log lines (``[h264 @ 0x...] no frame!``) and OpenCV's warnings would reach the terminal
before our one-line message: ``OPENCV_FFMPEG_LOGLEVEL`` is set to quiet before the first capture opens
(OpenCV reads it once per process, when its FFmpeg backend first starts), and OpenCV's own log level
is lowered while a capture opens or reads. A user who sets either variable keeps control of it, e.g.
``OPENCV_FFMPEG_LOGLEVEL=24`` (warnings) to see what FFmpeg says about a damaged file. The variable is
set in ``os.environ``, so child processes that use OpenCV inherit the quiet FFmpeg too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.frame_source import DEFAULT_FPS, FrameSource

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".ts",
        ".mts",
        ".m2ts",
        ".3gp",
        ".3g2",
        ".ogv",
        ".gif",
    }
)
# Containers whose demuxer reads the frame count from per-sample tables or the file header, so
# CAP_PROP_FRAME_COUNT is what the file says; elsewhere OpenCV falls back to round(duration * fps).
_EXACT_COUNT_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".avi"})

# A video may end this many frames short of its announced count, or this fraction of it, whichever is
# more, and still end normally (twice the fraction where the count is an estimate). Camera files are
# off by one or two; a cut file loses far more, except when cut within its last few frames.
SHORT_END_FRAMES = 3
SHORT_END_FRACTION = 0.01

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp")
_STREAM_URL = re.compile(rf"^(?:{'|'.join(STREAM_SCHEMES)})://", re.IGNORECASE)
# FFmpeg waits 30 s by default for a server that never answers; a tracker run should fail sooner.
_STREAM_TIMEOUT_MS = 15_000
# RTSP/UDP streams without a frame rate report their clock (90 kHz): not a frame rate.
_MAX_STREAM_FPS = 1000.0
# After OpenCV's read fails, how many more packets to try before calling it the end: each failed try
# at a real end returns at once, and a damaged stretch rarely spans more packets.
_RESUME_ATTEMPTS = 8
# A frame whose timestamp is this many frame intervals after the previous one has a frame lost between.
_GAP_INTERVALS = 1.5


def is_stream_url(text: str) -> bool:
    """True for ``rtsp:// rtsps:// rtmp:// http:// https:// udp://`` URLs (any case)."""
    return bool(_STREAM_URL.match(text))


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages (camera URLs carry credentials)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}").geturl()


def _silence_ffmpeg() -> None:
    # setdefault: a value the user exported (to debug a file) wins.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


_silence_ffmpeg()  # at import as well, in case another module opens the first capture


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log (``[ WARN:0@0.1] ... can't be used to capture by name``) for a block."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None or "OPENCV_LOG_LEVEL" in os.environ:
        yield
        return
    previous = logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


def _open_capture(target: str | int, params: list[int] | None = None) -> cv2.VideoCapture:
    """A quiet ``cv2.VideoCapture``: FFmpeg for files and URLs where OpenCV has it, the default for cameras."""
    _silence_ffmpeg()
    with _quiet_opencv():
        if isinstance(target, int):
            return cv2.VideoCapture(target)
        # FFmpeg explicitly (the end-of-video checks are written for it); a build without it may
        # still read the file through another backend.
        backend = cv2.CAP_FFMPEG if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) else cv2.CAP_ANY
        return cv2.VideoCapture(target, backend, params or [])


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV video/camera frame (BGR, BGRA or gray) → ``(H, W, 3)`` uint8 RGB, the one conversion."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _announced_fps(capture: cv2.VideoCapture, limit: float = math.inf) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if math.isfinite(fps) and 0 < fps < limit else DEFAULT_FPS


def tolerated_shortfall(total: int, *, exact: bool) -> int:
    """Frames a video may end short of its announced ``total`` and still end normally (module doc)."""
    fraction = SHORT_END_FRACTION if exact else 2 * SHORT_END_FRACTION
    return max(SHORT_END_FRAMES, int(fraction * total))


class _CaptureSource(FrameSource):
    """A source behind a ``cv2.VideoCapture``: quiet reads, release on close."""

    _capture: cv2.VideoCapture | None

    def _start_live(self, capture, fps: float, start_frame: int, ended: Callable[[int], str]) -> None:
        """Adopt an opened live capture (a stream or a camera: no frame count, no known size) and skip to
        ``start_frame``; ``ended(frame)`` is the message when it stops before that."""
        self._capture = capture
        self.fps = fps
        self.total_frames = None
        self.num_frames = None
        self.frame_size = None
        with _quiet_opencv():
            for skipped in range(start_frame):
                if not capture.grab():
                    self.close()
                    raise InputError(ended(skipped))
        self._prime()

    def _read_image(self) -> np.ndarray | None:
        """The next frame as RGB, or ``None`` when OpenCV returns none."""
        if self._capture is None:
            return None
        with _quiet_opencv():
            ok, image = self._capture.read()
        return _to_rgb(image) if ok and image is not None and image.size else None

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource(_CaptureSource):
    """Frames of a video file; how it may end is in the module docstring."""

    kind = "video"

    def __init__(self, path: Path, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        self.path = path
        self.name = f"video '{path}'"
        capture = _open_capture(str(path))
        if not capture.isOpened():
            raise InputError(
                f"{self.name} cannot be opened (not a video, an unsupported codec, or a file truncated "
                "before its index)"
            )
        self._capture = capture
        self.fps = _announced_fps(capture)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.total_frames = int(round(count)) if math.isfinite(count) and count > 0 else None
        self._exact = path.suffix.lower() in _EXACT_COUNT_EXTENSIONS
        self._tolerance = tolerated_shortfall(self.total_frames or 0, exact=self._exact)
        self._last_ms: float | None = None  # timestamp of the frame last grabbed
        self._failed = False  # set once a frame failed to decode; timestamps are checked from then on
        if self.total_frames is not None and start_frame >= self.total_frames:
            self.close()
            raise InputError(f"start_frame {start_frame} is past the end of {self.name} ({self.total_frames} frames)")
        self.num_frames = self._limit_count(None if self.total_frames is None else self.total_frames - start_frame)
        self.frame_size = None
        # Skip to start_frame by decoding forward: CAP_PROP_POS_FRAMES seeks to a keyframe and is not
        # frame-exact for every codec, and the start frame must be the one the init box was drawn on.
        try:
            for skipped in range(start_frame):
                if not self._advance(skipped):
                    raise InputError(f"start_frame {start_frame} is past the end of {self.name} ({skipped} frames)")
        except BaseException:
            self.close()
            raise
        self._prime()

    def _read(self, index: int) -> np.ndarray | None:
        if self._capture is None or not self._advance(index):
            return None
        with _quiet_opencv():
            ok, image = self._capture.retrieve()
        if not ok or image is None or not image.size:
            raise InputError(f"{self.name} is unreadable at frame {index}: the decoded frame cannot be converted")
        return _to_rgb(image)

    def _advance(self, index: int) -> bool:
        """Grab frame ``index``: True when it is there, False at a normal end; `InputError` otherwise."""
        assert self._capture is not None
        with _quiet_opencv():
            grabbed = self._capture.grab()
            if not grabbed:
                # A failed grab is the end, or one packet that did not decode: try the next ones.
                self._failed = True
                grabbed = any(self._capture.grab() for _ in range(_RESUME_ATTEMPTS))
            ms = self._capture.get(cv2.CAP_PROP_POS_MSEC) if grabbed else None
        if ms is None:
            self._check_end(index)
            return False
        if self._failed and not self._follows_last(ms):
            raise InputError(
                f"{self.name} is unreadable at frame {index}: the frame cannot be decoded but later ones "
                "can (damaged data; every later frame would be numbered wrong)"
            )
        self._last_ms = ms
        return True

    def _follows_last(self, ms: float) -> bool:
        """Whether a frame at ``ms`` comes right after the last one (no frame lost in between)."""
        interval = 1000.0 / self.fps
        return self._last_ms is not None and 0 < ms - self._last_ms < _GAP_INTERVALS * interval

    def _check_end(self, index: int) -> None:
        """Decoding ended at ``index``: record a tolerated shortfall, or raise for a truncated file."""
        total = self.total_frames
        if total is None or index >= total:
            return
        missing = total - index
        if missing > self._tolerance:
            raise InputError(
                f"{self.name} is unreadable at frame {index}: the container announces "
                f"{total} frames but decoding stopped after {index} (truncated or corrupt file)"
            )
        self.short_by = missing
        if self._exact:  # an estimated count (MKV, WebM, ...) never promised the exact number
            self.note = (
                f"{self.name} ended {missing} frame(s) short of the {total} its container announces: "
                f"{index} decode (common in camera recordings; a file cut short looks the same)"
            )


class StreamSource(_CaptureSource):
    """Frames from a network stream URL through FFmpeg; no frame count, it ends where the stream ends.

    A stream that stops (the server closes it, or nothing arrives for 15 s) ends normally: nothing tells
    a finished stream from a broken one, and the caller knows how many frames came.
    """

    kind = "stream"

    def __init__(self, url: str, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        # FFmpeg knows its protocols in lower case only ("HTTP://" is "Protocol not found").
        scheme, separator, rest = url.partition("://")
        url = scheme.lower() + separator + rest
        self.url = url
        self.name = f"stream '{redact_url(url)}'"
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            _STREAM_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            _STREAM_TIMEOUT_MS,
        ]
        capture = _open_capture(url, timeouts)
        if not capture.isOpened():
            raise InputError(
                f"{self.name} cannot be opened (unreachable, refused, not found, timed out after "
                f"{_STREAM_TIMEOUT_MS // 1000} s, or not a video stream)"
            )
        # A live stream has no frame count; a served file's would only be a hint.
        self._start_live(
            capture,
            _announced_fps(capture, limit=_MAX_STREAM_FPS),
            start_frame,
            lambda skipped: f"{self.name} ended at frame {skipped}, before start_frame {start_frame}",
        )

    def _read(self, index: int) -> np.ndarray | None:
        return self._read_image()


class CameraSource(_CaptureSource):
    """Live frames from a camera device; ``num_frames`` is unknown, the stream ends only on error."""

    kind = "camera"

    def __init__(self, index: int, *, start_frame: int, max_frames: int | None) -> None:
        super().__init__(start_frame=start_frame, max_frames=max_frames)
        self.device = index
        self.name = f"camera {index}"
        capture = _open_capture(index)
        if not capture.isOpened():
            raise InputError(
                f"{self.name} cannot be opened (no such device, no permission, or in use by another program)"
            )
        self._start_live(
            capture,
            _announced_fps(capture),
            start_frame,
            lambda skipped: f"{self.name} stopped delivering frames at frame {skipped}",
        )

    def _read(self, index: int) -> np.ndarray | None:
        image = self._read_image()
        if image is None:
            raise InputError(f"{self.name} stopped delivering frames at frame {index}")
        return image
