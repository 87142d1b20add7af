"""Where tracking results go: box files (plain and benchmark layouts) and annotated videos.

Conventions: boxes are ``xywh`` (top-left x, y, width, height in frame pixels); frames are
``(H, W, 3)`` uint8 RGB; sizes are ``(H, W)``.

Box files
    `BoxWriter` writes one line per frame and flushes every line, so a run that is interrupted keeps
    every frame tracked so far. Numbers are written with Python's ``repr`` (the shortest text that
    reads back to the identical float64), so a file round-trips bit for bit through `read_boxes`.

    Layouts (``layout=``):

    * ``"plain"`` (``path`` is the file): ``x,y,w,h,score`` per line. The first line is the init
      box; its score is ``nan`` (the init box is given, not predicted), and so is any score the caller
      passes as ``None``. ``nan`` rather than an empty field keeps every line five numbers that
      ``float()``, ``numpy.loadtxt(delimiter=",")`` and spreadsheets read.
    * ``"pytracking"`` (``path`` is the results folder, ``sequence`` names the file): ``<seq>.txt``
      with tab-separated ``x y w h`` and ``<seq>_time.txt`` with one time in seconds per frame, as the
      pytracking / official SeqTrack evaluation code reads them.
    * ``"got10k"`` (``path`` is the results folder): ``<seq>/<seq>_001.txt`` comma-separated
      ``x,y,w,h`` and ``<seq>/<seq>_time.txt``, the GOT-10k toolkit's submission layout (``run=``
      picks ``_002``, ``_003`` for repeated runs).

    Multiple targets: one file per target, each in the single-target format, so every reader and
    evaluation tool applies to each file unchanged. ``targets=`` lists the ids (or gives a count,
    ids ``0..n-1``); the files are ``<stem>_t<id><suffix>`` for ``"plain"`` (``boxes.txt`` →
    ``boxes_t0.txt``, ``boxes_t1.txt``) and ``<seq>_<id>.txt`` for ``"pytracking"`` (its own
    multi-object naming; the time file stays one per frame). GOT-10k is single-target only.
    A target absent from a frame is written as a line of ``nan`` so line ``i`` is always frame ``i``.

Annotated video
    `AnnotatedVideoWriter` draws the boxes, scores and frame number on each frame and encodes at the
    source's fps: H.264 through PyAV/libx264 when ``av`` is importable, else OpenCV's ``avc1`` when its
    FFmpeg has an H.264 encoder, else MPEG-4 Part 2 (``mp4v``); ``.avi`` files get Motion-JPEG.
    ``writer.codec`` says which was used.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Literal

import cv2
import numpy as np

from seqtrack.errors import InputError

BoxLayout = Literal["plain", "pytracking", "got10k"]
_LAYOUTS = ("plain", "pytracking", "got10k")


def _number(value: float) -> str:
    """Full-precision text of a number: ``repr`` round-trips float64 exactly (``nan``/``inf`` as words)."""
    return repr(float(value))


def _box4(box_xywh: Sequence[float] | np.ndarray | None, what: str) -> tuple[float, float, float, float]:
    """Validate an ``xywh`` box (``None`` → a box of ``nan``) as four floats."""
    if box_xywh is None:
        return (math.nan,) * 4  # type: ignore[return-value]
    values = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if values.size != 4:
        raise InputError(f"{what}: expected a box of 4 numbers x,y,w,h, got {values.size}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# Box files
# ----------------------------------------------------------------------------------------------


class BoxWriter:
    """Write per-frame ``xywh`` boxes (and scores, times) to text files, one flushed line per frame.

    Args:
        path: ``"plain"``: the boxes file (e.g. ``tracked.txt``). Benchmark layouts: the results
            folder in which ``sequence``'s files are created. Parent folders are created; existing
            files are overwritten.
        layout: ``"plain"``, ``"pytracking"`` or ``"got10k"`` (see the module docstring).
        sequence: sequence name, required for the benchmark layouts (names their files).
        targets: ``None`` for one target; an int ``n`` (ids ``0..n-1``) or a list of ids for one
            file per target.
        run: GOT-10k repetition number (``<seq>_<run:03d>.txt``).

    Use it as a context manager. Call `write` (single target) or `write_frame` (all targets) once per
    frame, starting with the init frame.

    Attributes:
        paths: the box files, one per target, in target order.
        time_path: the time file, or ``None`` for ``"plain"`` (which has no time file).
        frames_written: number of frames (lines per file) written so far.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: BoxLayout = "plain",
        *,
        sequence: str | None = None,
        targets: int | Sequence[int | str] | None = None,
        run: int = 1,
    ) -> None:
        if layout not in _LAYOUTS:
            raise InputError(f"unknown box file layout {layout!r}; expected one of {', '.join(_LAYOUTS)}")
        if layout != "plain" and not sequence:
            raise InputError(f"box file layout {layout!r} needs a sequence name")
        if targets is None:
            ids: list[int | str] | None = None
        elif isinstance(targets, int) and not isinstance(targets, bool):
            if targets < 1:
                raise InputError(f"targets must be >= 1, got {targets}")
            ids = list(range(targets))
        else:
            ids = list(targets)
            if not ids or len(set(map(str, ids))) != len(ids):
                raise InputError(f"targets must be distinct ids, got {ids!r}")
        if layout == "got10k" and ids is not None and len(ids) > 1:
            raise InputError("the GOT-10k layout holds a single target per sequence")

        self.layout: BoxLayout = layout
        self.target_ids = ids
        root = Path(path).expanduser()
        self.time_path: Path | None
        if layout == "plain":
            if ids is None:
                self.paths = [root]
            else:
                self.paths = [root.with_name(f"{root.stem}_t{i}{root.suffix}") for i in ids]
            self.time_path = None
            self._sep = ","
        elif layout == "pytracking":
            if ids is None:
                self.paths = [root / f"{sequence}.txt"]
            else:
                self.paths = [root / f"{sequence}_{i}.txt" for i in ids]
            self.time_path = root / f"{sequence}_time.txt"
            self._sep = "\t"
        else:
            folder = root / str(sequence)
            self.paths = [folder / f"{sequence}_{run:03d}.txt"]
            self.time_path = folder / f"{sequence}_time.txt"
            self._sep = ","
        self.frames_written = 0
        self._files: list[IO[str]] = []
        self._time_file: IO[str] | None = None
        try:
            for p in self.paths:
                self._files.append(self._open(p))
            if self.time_path is not None:
                self._time_file = self._open(self.time_path)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _open(path: Path) -> IO[str]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # newline="\n": the same bytes on every platform, as the benchmark toolkits expect.
            return open(path, "w", encoding="utf-8", newline="\n")
        except OSError as error:
            raise InputError(f"cannot write box file '{path}' ({error.strerror or error})") from None

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return not self._files

    def write(
        self,
        box_xywh: Sequence[float] | np.ndarray | None,
        score: float | None = None,
        *,
        time_s: float | None = None,
    ) -> None:
        """Write one frame of a single-target run: ``box_xywh`` (4 numbers, pixels), its score
        (``None`` → ``nan``, e.g. for the init frame) and, for benchmark layouts, the frame's
        processing time in seconds (``None`` → ``nan``)."""
        if len(self.paths) != 1:
            raise InputError(f"this BoxWriter has {len(self.paths)} targets; use write_frame()")
        self.write_frame([box_xywh], [score], time_s=time_s)

    def write_frame(
        self,
        boxes_xywh: Sequence[Sequence[float] | np.ndarray | None] | np.ndarray,
        scores: Sequence[float | None] | None = None,
        *,
        time_s: float | None = None,
    ) -> None:
        """Write one frame for every target: ``boxes_xywh`` is ``(T, 4)`` (``None`` for a target
        absent from this frame), ``scores`` ``(T,)`` or ``None``; one line goes to each file and each
        is flushed before returning."""
        if self.closed:
            raise ValueError("BoxWriter is closed")
        frame = self.frames_written
        if len(boxes_xywh) != len(self.paths):
            raise InputError(f"frame {frame}: got {len(boxes_xywh)} boxes for {len(self.paths)} targets")
        if scores is not None and len(scores) != len(self.paths):
            raise InputError(f"frame {frame}: got {len(scores)} scores for {len(self.paths)} targets")
        lines = []
        for t, box in enumerate(boxes_xywh):
            values = list(_box4(box, f"frame {frame}, target {t}"))
            if self.layout == "plain":
                score = None if scores is None else scores[t]
                values.append(math.nan if score is None or box is None else float(score))
            lines.append(self._sep.join(_number(v) for v in values) + "\n")
        # Format everything first so a bad box leaves no file a line ahead of the others.
        for handle, line in zip(self._files, lines, strict=True):
            handle.write(line)
            handle.flush()
        if self._time_file is not None:
            self._time_file.write(_number(math.nan if time_s is None else time_s) + "\n")
            self._time_file.flush()
        self.frames_written += 1

    def close(self) -> None:
        """Close every file (idempotent)."""
        for handle in self._files:
            handle.close()
        self._files = []
        if self._time_file is not None:
            self._time_file.close()
            self._time_file = None

    def __enter__(self) -> BoxWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True)
class BoxTrack:
    """Boxes read back from a file by `read_boxes`.

    Attributes:
        boxes: ``(N, 4)`` float64 ``xywh`` pixels, one row per line (frame) of the file.
        scores: ``(N,)`` float64; ``nan`` where the line had no 5th column or ``nan`` in it.
        path: the file read.
    """

    boxes: np.ndarray
    scores: np.ndarray
    path: Path

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


_SEPARATORS = re.compile(r"[,\s]+")


def read_boxes(path: str | os.PathLike[str]) -> BoxTrack:
    """Read a boxes file: one ``x,y,w,h[,score]`` line per frame.

    Accepts what `BoxWriter` writes in any layout and hand-written files: fields separated by commas,
    tabs or spaces (in any mix), blank lines and ``#`` comment lines skipped, ``nan``/``NaN`` allowed.
    The CLI's ``--box-file`` takes ``read_boxes(p).boxes[0]``.

    Returns:
        `BoxTrack` with ``boxes`` ``(N, 4)`` and ``scores`` ``(N,)`` float64.

    Raises:
        InputError: the file is missing or unreadable, a line does not hold 4 or 5 numbers (the
            message names the file and line number), or there is no box at all.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise InputError(f"box file not found: '{file}'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read box file '{file}' ({error})") from None
    boxes: list[list[float]] = []
    scores: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        fields = [f for f in _SEPARATORS.split(content) if f]
        if len(fields) not in (4, 5):
            raise InputError(
                f"{file}:{number}: expected 4 numbers x,y,w,h (and optionally a score), got "
                f"{len(fields)} field(s): {content[:80]!r}"
            )
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise InputError(f"{file}:{number}: not a number in {content[:80]!r}") from None
        boxes.append(values[:4])
        scores.append(values[4] if len(values) == 5 else math.nan)
    if not boxes:
        raise InputError(f"box file '{file}' contains no box")
    return BoxTrack(
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        scores=np.asarray(scores, dtype=np.float64),
        path=file,
    )


# ----------------------------------------------------------------------------------------------
# Annotated video
# ----------------------------------------------------------------------------------------------

# Distinct RGB colours, target k gets PALETTE[k % len]: green first (the single-target case),
# then colours far apart in hue so neighbouring targets are easy to tell apart.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),
    (255, 64, 64),
    (64, 160, 255),
    (255, 220, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 140, 0),
    (170, 90, 255),
    (140, 255, 140),
    (255, 255, 255),
)

_H264_CONTAINERS = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
_MJPG_CONTAINERS = frozenset({".avi"})
Backend = Literal["auto", "pyav", "opencv"]


def annotate_frame(
    frame_rgb: np.ndarray,
    boxes_xywh: Sequence[Sequence[float] | np.ndarray | None] | np.ndarray | None = None,
    scores: Sequence[float | None] | None = None,
    *,
    frame_index: int | None = None,
    target_ids: Sequence[int | str] | None = None,
) -> np.ndarray:
    """Draw boxes, scores and the frame number on a copy of ``frame_rgb``.

    Args:
        frame_rgb: ``(H, W, 3)`` uint8 RGB; not modified.
        boxes_xywh: one box (4 numbers) or ``(T, 4)`` boxes in pixels; ``None`` entries and boxes with
            non-finite values are skipped. Target ``k`` is drawn in ``PALETTE[k % 10]``.
        scores: ``(T,)`` scores (or one number for one box) drawn above each box as ``0.87``
            (``None``/``nan`` → no score).
        frame_index: drawn in the top-left corner as ``#123`` when given.
        target_ids: labels prefixed to the scores (``"1: 0.87"``) when given.

    Returns:
        The annotated ``(H, W, 3)`` uint8 RGB frame.
    """
    image = np.array(frame_rgb, dtype=np.uint8, copy=True)
    height, width = image.shape[:2]
    short = min(height, width)
    thickness = max(1, round(short / 300))
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.3, short / 720)
    text_thickness = max(1, round(short / 500))

    def label(text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
        # Text on a dark plate so it stays legible on any background; kept inside the frame.
        (tw, th), base = cv2.getTextSize(text, font, font_scale, text_thickness)
        x = int(min(max(x, 0), max(width - tw - 2, 0)))
        y = int(min(max(y, th + base + 2), height - 1))
        cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 2, y), (0, 0, 0), cv2.FILLED)
        cv2.putText(image, text, (x + 1, y - base - 1), font, font_scale, colour, text_thickness, cv2.LINE_AA)

    if boxes_xywh is not None:
        # One box (4 scalars) or a list of boxes; a list of 4 boxes has non-scalar entries.
        if isinstance(boxes_xywh, np.ndarray):
            single = boxes_xywh.ndim == 1
        else:
            single = len(boxes_xywh) == 4 and all(b is not None and np.ndim(b) == 0 for b in boxes_xywh)
        boxes = [boxes_xywh] if single else list(boxes_xywh)
        if scores is not None and np.ndim(scores) == 0:  # one score for one box
            scores = [scores]  # type: ignore[list-item]
        for k, box in enumerate(boxes):
            if box is None:
                continue
            x, y, w, h = _box4(box, f"target {k}")
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                continue
            colour = PALETTE[k % len(PALETTE)]
            # shift=4: sub-pixel corners (1/16 px), so the drawn box is where the float box is.
            s = 16
            cv2.rectangle(
                image,
                (int(round(x * s)), int(round(y * s))),
                (int(round((x + w) * s)), int(round((y + h) * s))),
                colour,
                thickness,
                cv2.LINE_AA,
                shift=4,
            )
            score = None if scores is None else scores[k]
            parts = []
            if target_ids is not None:
                parts.append(str(target_ids[k]))
            if score is not None and math.isfinite(float(score)):
                parts.append(f"{float(score):.2f}")
            if parts:
                label(": ".join(parts), int(x), int(y) - thickness, colour)
    if frame_index is not None:
        label(f"#{frame_index}", 0, 0, (255, 255, 255))
    return image


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


class AnnotatedVideoWriter:
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
        self.path = Path(path).expanduser()
        suffix = self.path.suffix.lower()
        if suffix not in _H264_CONTAINERS | _MJPG_CONTAINERS:
            raise InputError(
                f"unsupported video file type '{self.path.suffix or '(none)'}' for '{self.path}': "
                f"expected one of {', '.join(sorted(_H264_CONTAINERS | _MJPG_CONTAINERS))}"
            )
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
            raise InputError(
                f"cannot create the folder of '{self.path}' ({error.strerror or error})"
            ) from None

        self.fps = fps
        self.frame_size = (height, width)
        self.frames_written = 0
        self._av: ModuleType | None = None  # the PyAV module, when it is the backend
        self._container = None  # PyAV output container
        self._stream = None  # PyAV video stream
        self._cv_writer: cv2.VideoWriter | None = None
        self._closed = False

        av = _import_av() if backend in ("auto", "pyav") and suffix in _H264_CONTAINERS else None
        if backend == "pyav" and av is None:
            raise InputError(
                "PyAV is not installed (pip install av)" if suffix in _H264_CONTAINERS
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
            raise InputError(f"cannot write video '{self.path}' ({error})") from None
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
        raise InputError(
            f"cannot write video '{self.path}': OpenCV has no encoder for {', '.join(candidates)}"
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
        self._encode(image)
        self.frames_written += 1

    def _encode(self, image: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` RGB image to the file."""
        height, width = self.frame_size
        if height % 2 or width % 2:
            image = cv2.copyMakeBorder(image, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        if self._stream is not None:
            video_frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        else:
            assert self._cv_writer is not None
            self._cv_writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._stream is not None:
            try:
                for packet in self._stream.encode():  # drain frames the encoder still holds
                    self._container.mux(packet)
            finally:
                self._container.close()
                self._stream = self._container = None
        if self._cv_writer is not None:
            self._cv_writer.release()
            self._cv_writer = None

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
