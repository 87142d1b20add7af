"""The annotated video writer: tracked frames, with their boxes drawn, encoded at the source fps.

`AnnotatedVideoWriter` draws the boxes, scores and frame number on each frame (`annotate_frame`) and
encodes: H.264 through PyAV/libx264 when ``av`` is importable, else OpenCV's ``avc1`` when its FFmpeg
has an H.264 encoder, else MPEG-4 Part 2 (``mp4v``); ``.avi`` files get Motion-JPEG.
``writer.codec`` says which was used.

Failures to write (a full disk, a removed folder) become one `seqtrack.io.files.OutputError` naming the
file: PyAV reports them as they happen; OpenCV's writer only logs them, so its file is checked when it is
closed (does it hold every frame written?). `close` runs on every exit path of a ``with`` block, so
what was encoded before an error or an interrupt is finished (an MP4 gets its index) where the disk
allows.

Frames are ``(H, W, 3)`` uint8 RGB; sizes are ``(H, W)``; boxes are ``xywh`` pixels.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Literal

import cv2
import numpy as np

from seqtrack.errors import InputError
from seqtrack.io.annotate import annotate_frame
from seqtrack.io.files import Closeable, OutputError, interrupts_deferred, os_error_text

_H264_CONTAINERS = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
_MJPG_CONTAINERS = frozenset({".avi"})
VIDEO_CONTAINERS = _H264_CONTAINERS | _MJPG_CONTAINERS
"""The file types `AnnotatedVideoWriter` writes (lower-case suffixes)."""
# Containers whose frame count OpenCV reads from the file's tables (exact); elsewhere it estimates it.
_EXACT_COUNT = frozenset({".mp4", ".m4v", ".mov", ".avi"})
Backend = Literal["auto", "pyav", "opencv"]


def check_video_path(path: str | os.PathLike[str], what: str = "video") -> Path:
    """``path`` as a `Path` if `AnnotatedVideoWriter` can write its file type (checked before any work).

    Raises:
        InputError: the suffix is not one of `VIDEO_CONTAINERS`; the message starts with ``what``.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() not in VIDEO_CONTAINERS:
        raise InputError(
            f"{what}: unsupported video file type '{path.suffix or '(none)'}' for '{path}': "
            f"expected one of {', '.join(sorted(VIDEO_CONTAINERS))}"
        )
    return path


def _reason(error: Exception) -> str:
    """``No space left on device`` for an `OSError` (PyAV's errors are ones too), else the message."""
    return os_error_text(error) if isinstance(error, OSError) else str(error)


def _even(n: int) -> int:
    """``n`` rounded up to even: 4:2:0 chroma (and OpenCV's writer, which crops) need even sizes."""
    return n + n % 2


def _import_av() -> ModuleType | None:
    """PyAV if installed and loadable, else ``None`` (it is optional)."""
    try:
        import av  # noqa: PLC0415 - optional dependency, imported where used
    except Exception:  # ImportError, or a broken shared library (OSError)
        return None
    return av


@contextlib.contextmanager
def _opencv_errors_only() -> Iterator[None]:
    """OpenCV's log level at ERROR for a moment: its writer logs one warning per frame it fails to write
    (a full disk); `AnnotatedVideoWriter` checks the file on closing and says it once instead."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(min(level, logging.LOG_LEVEL_ERROR))
    try:
        yield
    finally:
        logging.setLogLevel(level)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment.

    OpenCV's probe of an H.264 encoder that its FFmpeg lacks prints several FFmpeg error lines that
    Python cannot intercept (they are written by C code straight to fd 2); they would alarm users of a
    fallback that works. Used only around that one probe.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class AnnotatedVideoWriter(Closeable):
    """Encode annotated frames (boxes, scores, frame number) to a video file at the source fps.

    Args:
        path: output file; ``.mp4 .m4v .mov .mkv`` are H.264 when available (else MPEG-4 ``mp4v``),
            ``.avi`` is Motion-JPEG. Parent folders are created.
        fps: frame rate, e.g. the source's ``fps``.
        frame_size: ``(H, W)`` of the frames to be written (note: not OpenCV's ``(W, H)``).
        backend: ``"auto"`` (PyAV for H.264 if importable, else OpenCV), ``"pyav"`` (error if PyAV
            is missing) or ``"opencv"``.

    Attributes:
        codec: the encoder used: ``"libx264"`` (PyAV), ``"avc1"`` (OpenCV H.264), ``"mp4v"`` or
            ``"MJPG"``.
        backend: ``"pyav"`` or ``"opencv"``.
        frames_written: frames encoded so far.
        failed: whether a write or the closing failed (`OutputError` raised; the file is incomplete).

    Encoders need even sizes (4:2:0 chroma; OpenCV's writer would silently crop the odd row): odd
    ``H``/``W`` frames get one replicated row/column, so such a video is one pixel larger than
    ``frame_size`` in that direction and still shows every pixel. The file is complete only after
    `close` (use the writer as a context manager).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        frame_size: tuple[int, int],
        *,
        backend: Backend = "auto",
    ) -> None:
        self.path = check_video_path(path, "annotated video")
        suffix = self.path.suffix.lower()
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            raise InputError(f"video fps must be a number, got {fps!r}") from None
        if not math.isfinite(fps) or fps <= 0:
            raise InputError(f"video fps must be > 0, got {fps}")
        try:
            height, width = (int(v) for v in frame_size)
        except (TypeError, ValueError):
            raise InputError(f"frame_size must be (H, W), got {frame_size!r}") from None
        if height < 1 or width < 1:
            raise InputError(f"frame_size must be positive (H, W), got {frame_size!r}")
        if backend not in ("auto", "pyav", "opencv"):
            raise InputError(f"unknown video backend {backend!r}; expected auto, pyav or opencv")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"could not create the folder of video {self.path}: {os_error_text(error)}") from None

        self.fps = fps
        self.frame_size = (height, width)
        self.frames_written = 0
        self._av: ModuleType | None = None  # the PyAV module, when it is the backend
        self._container = None  # PyAV output container
        self._stream = None  # PyAV video stream
        self._cv_writer: cv2.VideoWriter | None = None
        self._closed = False
        self._failed = False  # a write failed: close() only releases what is open

        av = _import_av() if backend in ("auto", "pyav") and suffix in _H264_CONTAINERS else None
        if backend == "pyav" and av is None:
            raise InputError(
                "PyAV is not installed (pip install 'seqtrack[video]')"
                if suffix in _H264_CONTAINERS
                else f"the PyAV backend writes H.264 containers only, not '{suffix}'"
            )
        if av is not None and self._open_pyav(av):
            return
        if backend == "pyav":
            raise InputError(f"PyAV cannot write H.264 to '{self.path}' (no libx264 encoder)")
        self._open_opencv(suffix)

    def _open_pyav(self, av: ModuleType) -> bool:
        """Open a libx264 stream through PyAV; ``False`` if this PyAV build has no libx264."""
        height, width = self.frame_size
        try:
            # faststart: index at the front, so the file plays while still downloading.
            is_mov_family = self.path.suffix.lower() in {".mp4", ".m4v", ".mov"}
            options = {"movflags": "faststart"} if is_mov_family else {}
            container = av.open(str(self.path), mode="w", options=options)
        except Exception as error:
            raise OutputError(f"could not write video {self.path}: {_reason(error)}") from None
        try:
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
        except Exception:
            container.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            return False
        stream.width, stream.height = _even(width), _even(height)
        stream.pix_fmt = "yuv420p"
        # CRF 18 is visually lossless for boxes and text; "veryfast" keeps encoding well below tracking time.
        stream.options = {"crf": "18", "preset": "veryfast"}
        self._av, self._container, self._stream = av, container, stream
        self.backend, self.codec = "pyav", "libx264"
        return True

    def _open_opencv(self, suffix: str) -> None:
        height, width = self.frame_size
        candidates = ["MJPG"] if suffix in _MJPG_CONTAINERS else ["avc1", "mp4v"]
        for fourcc in candidates:
            quiet = _quiet_stderr() if fourcc == "avc1" else contextlib.nullcontext()
            with quiet:
                writer = cv2.VideoWriter(
                    str(self.path), cv2.VideoWriter_fourcc(*fourcc), self.fps, (_even(width), _even(height))
                )
            if writer.isOpened():
                self._cv_writer = writer
                self.backend, self.codec = "opencv", fourcc
                return
            writer.release()
        raise OutputError(
            f"could not write video {self.path}: OpenCV's writer did not open it with {' or '.join(candidates)} "
            "(no such encoder in its FFmpeg, or a destination it cannot write, such as a device)"
        )

    def write(
        self,
        frame_rgb: np.ndarray,
        boxes_xywh: Sequence[Sequence[float] | np.ndarray | None] | np.ndarray | None = None,
        scores: Sequence[float | None] | None = None,
        *,
        frame_index: int | None = None,
        target_ids: Sequence[int | str] | None = None,
    ) -> None:
        """Annotate ``frame_rgb`` (``(H, W, 3)`` uint8 RGB matching ``frame_size``) with `annotate_frame`
        and append it. ``frame_index`` defaults to the number of frames written so far."""
        if self._closed:
            raise ValueError(f"AnnotatedVideoWriter for '{self.path}' is closed")
        frame = np.asarray(frame_rgb)
        expected = (*self.frame_size, 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise InputError(
                f"video '{self.path}': frame {self.frames_written} is {frame.shape} {frame.dtype}, "
                f"expected {expected} uint8 RGB"
            )
        index = self.frames_written if frame_index is None else frame_index
        image = annotate_frame(frame, boxes_xywh, scores, frame_index=index, target_ids=target_ids)
        # An interrupt between muxing a frame's packets would lose some, and later frames refer to them.
        with interrupts_deferred():
            self._encode(image)
            self.frames_written += 1

    def _encode(self, image: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` RGB image to the file."""
        height, width = self.frame_size
        if height % 2 or width % 2:
            image = cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        if self._stream is not None:
            video_frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            try:
                for packet in self._stream.encode(video_frame):
                    self._container.mux(packet)
            except (OSError, self._av.FFmpegError) as error:
                self._fail(error)
        else:
            assert self._cv_writer is not None
            with _opencv_errors_only():
                self._cv_writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    @property
    def failed(self) -> bool:
        """Whether writing or finishing the file failed (it is then incomplete)."""
        return self._failed

    def _fail(self, error: Exception) -> None:
        """Release the file after a failed write and raise the one-line error."""
        self._failed = True
        self.close()
        raise OutputError(
            f"could not write video {self.path} after {self.frames_written} frames: {_reason(error)} "
            "(the video is incomplete)"
        ) from None

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent).

        Raises:
            OutputError: the file could not be finished, or (OpenCV) holds fewer frames than were written.
        """
        if self._closed:
            return
        with interrupts_deferred():  # a second Ctrl-C waits until the file is finished
            self._finish()

    def _finish(self) -> None:
        """`close` itself: drain the encoder, write the index, release the file (once)."""
        self._closed = True
        if self._stream is not None:
            stream, container = self._stream, self._container
            self._stream = self._container = None
            try:
                if not self._failed:
                    for packet in stream.encode():  # drain frames the encoder still holds
                        container.mux(packet)
            except (OSError, self._av.FFmpegError) as error:
                self._failed = True
                raise OutputError(f"could not finish video {self.path}: {_reason(error)}") from None
            finally:
                self._close_container(container)  # even after an error or an interrupt: the MP4 index
        if self._cv_writer is not None:
            with _opencv_errors_only():
                self._cv_writer.release()
            self._cv_writer = None
            if not self._failed:
                self._check_opencv_file()

    def _close_container(self, container) -> None:
        """Close the PyAV container (writes the MP4 index); an error here is raised unless one already was."""
        try:
            container.close()
        except (OSError, self._av.FFmpegError) as error:
            if not self._failed:
                self._failed = True
                raise OutputError(f"could not finish video {self.path}: {_reason(error)}") from None

    def _check_opencv_file(self) -> None:
        """OpenCV's writer only logs failed writes: check the finished file holds the frames written."""
        if self.frames_written == 0:
            return
        capture = cv2.VideoCapture(str(self.path))
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT) if capture.isOpened() else 0.0
        capture.release()
        count = int(count) if math.isfinite(count) and count > 0 else 0
        # Where OpenCV only estimates the count (duration x fps), allow what the estimate may miss.
        exact = self.path.suffix.lower() in _EXACT_COUNT
        tolerance = 0 if exact else max(2, math.ceil(0.02 * self.frames_written))
        if count < self.frames_written - tolerance:
            self._failed = True
            raise OutputError(
                f"could not write video {self.path}: it holds {count} of the {self.frames_written} frames "
                "written (is the disk full?)"
            )
