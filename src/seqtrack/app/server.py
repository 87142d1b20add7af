"""The web app's HTTP server (FastAPI): the page, the videos, one tracking run at a time, the downloads.

Endpoints (JSON unless said otherwise; a refusal is ``{"error": "one line"}`` with a 4xx status):

* ``GET /``, ``GET /static/NAME``: the page (HTML, JS, CSS shipped in the package; no network needed).
* ``GET /api/info``: weights, backends, presets, tracker settings, limits, whether the demo and ``--videos``
  are available. ``GET /api/videos``: the videos under ``--videos``.
* ``POST /api/open`` ``{"source": "demo"}`` or ``{"source": "videos", "name": "rel/path.mp4"}``;
  ``POST /api/upload?filename=NAME`` with the file as the raw body: both answer the video (`VideoEntry`).
* ``GET /api/frame/ID/INDEX``: frame INDEX of a video as JPEG (the page draws boxes on it).
* ``POST /api/track`` (a `RunRequest` as JSON): the run's events as they happen, one JSON object per line
  (``application/x-ndjson``), the annotated frames as base64 JPEG. A client that disconnects stops its run.
  ``POST /api/control`` ``{"action": "pause" | "resume" | "stop"}``. ``GET /api/state``.
* ``GET /api/download/NAME``: a file of the last finished run (``boxes.txt`` ... and ``tracked.mp4``).

Bound to a loopback address, the server answers only requests addressed to localhost (a web page elsewhere
cannot reach it through DNS rebinding), and refuses state-changing requests sent from another origin.
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

# FastAPI reads the routes' annotations by name from this module: its names must be imported here (the
# `app` extra; `seqtrack.cli.app` names the extra before importing this module when FastAPI is missing).
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from seqtrack.app.media import VideoLibrary, jpeg_bytes, list_videos, read_frame
from seqtrack.app.options import SETTING_FIELDS, AppConfig, is_loopback, parse_run_request
from seqtrack.app.runner import END, TrackerCache, TrackingRun
from seqtrack.errors import InputError, SeqTrackError, safe_text

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
HEARTBEAT_S = 0.5  # a quiet stream (loading, paused) still writes this often, so a client that left is seen


class Busy(SeqTrackError):
    """Another run is in progress (one run at a time)."""


class AppState:
    """What the server holds between requests: the videos, the current run and the tracker cache."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.library = VideoLibrary(config)
        self.cache = TrackerCache()
        self.run: TrackingRun | None = None
        self.lock = threading.Lock()
        self.runs = 0

    def start_run(self, data: object) -> TrackingRun:
        """Check ``data`` (a run request) and start it; `Busy` while another run is going."""
        from seqtrack.config.tracker import UPDATE_PRESETS
        from seqtrack.runtime.options import BACKENDS
        from seqtrack.tracking.tracker import validate_init_box

        request = parse_run_request(data, backends=BACKENDS, presets=list(UPDATE_PRESETS))
        video = self.library.get(request.video)
        for k, box in enumerate(request.boxes):  # the page hears about a box outside the frame at once
            validate_init_box(box, video.size, f"box {k + 1}" if len(request.boxes) > 1 else "box")
        with self.lock:
            if self.run is not None and not self.run.finished:
                raise Busy("busy: another run is in progress (stop it, or wait for it to end)")
            previous = self.run
            self.runs += 1
            folder = self.config.work_dir / f"run{self.runs}"
            self.run = TrackingRun(self.config, request, video, folder, self.cache)
        if previous is not None:  # only the last run's files are kept for download
            shutil.rmtree(previous.outputs.folder, ignore_errors=True)
        self.run.start()
        return self.run

    def close(self) -> None:
        """Stop the run and delete the uploads."""
        if self.run is not None:
            self.run.stop()
            self.run.join(10)
        self.library.close()


def _info(config: AppConfig) -> dict:
    from seqtrack.config.tracker import UPDATE_PRESETS
    from seqtrack.runtime.options import BACKENDS

    return {
        "weights": config.weights_label,
        "backend": config.backend,
        "backends": list(BACKENDS),
        "presets": list(UPDATE_PRESETS),
        "fields": {name: {"kind": kind.__name__, "label": label} for name, (kind, label) in SETTING_FIELDS.items()},
        "demo": config.demo is not None,
        "videos": config.videos is not None,
        "max_upload_bytes": config.max_upload_bytes,
    }


async def _events(run: TrackingRun):
    """The run's events as JSON lines; a heartbeat line while nothing happens."""
    while True:
        try:
            event = await asyncio.to_thread(run.events.get, True, HEARTBEAT_S)
        except queue.Empty:
            yield b'{"type": "heartbeat"}\n'
            continue
        if event is END:
            return
        yield json.dumps(event).encode("utf-8") + b"\n"


def _guard(config: AppConfig):
    """The middleware that refuses requests to another host name (loopback only) or from another origin."""
    local = is_loopback(config.host)

    async def guard(request, call_next):
        host = (urlsplit(f"//{request.headers.get('host', '')}").hostname or "").lower()
        if local and host not in LOCAL_NAMES:
            return JSONResponse({"error": f"this app answers only to localhost, not {safe_text(host)[:80]!r}"}, 403)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD") and origin is not None:
            if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
                return JSONResponse({"error": "requests from another web site are refused"}, 403)
        return await call_next(request)

    return guard


def create_app(config: AppConfig):
    """The FastAPI application serving ``config`` (run it with uvicorn; see `seqtrack.cli.app`)."""
    state = AppState(config)

    @asynccontextmanager
    async def lifespan(app):
        yield
        state.close()

    app = FastAPI(title="seqtrack app", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.seqtrack = state
    app.middleware("http")(_guard(config))

    @app.exception_handler(SeqTrackError)
    async def refused(request: Request, error: SeqTrackError):
        return JSONResponse({"error": safe_text(error)}, status_code=409 if isinstance(error, Busy) else 400)

    _page_routes(app)
    _video_routes(app, state)
    _run_routes(app, state)
    return app


def _page_routes(app) -> None:
    shipped = {p.name: p for p in STATIC.iterdir() if p.suffix in STATIC_TYPES}

    @app.get("/")
    def index():
        return FileResponse(shipped["index.html"], media_type="text/html", headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str):
        if name not in shipped:  # only the files shipped with the page: no path is ever built from `name`
            raise HTTPException(404)
        path = shipped[name]
        return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-store"})


def _video_routes(app, state: AppState) -> None:
    config = state.config

    @app.get("/api/info")
    def info():
        return _info(config)

    @app.get("/api/videos")
    def videos():
        return {"videos": list_videos(config.videos) if config.videos is not None else []}

    @app.post("/api/open")
    async def open_video(request: Request):
        data = await _json(request)
        if data.get("source") == "demo":
            return (await run_in_threadpool(state.library.open_demo)).to_json()
        if data.get("source") == "videos":
            return (await run_in_threadpool(state.library.open_named, str(data.get("name") or ""))).to_json()
        raise InputError("source must be 'demo' or 'videos'")

    @app.post("/api/upload")
    async def upload(request: Request, filename: str = ""):
        limit = config.max_upload_bytes
        announced = request.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            return JSONResponse({"error": _too_large(filename, limit)}, status_code=413)
        path = state.library.upload_path(filename)  # refuses an extension that is not a video's
        size = 0
        try:
            with open(path, "wb") as file:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise InputError(_too_large(filename, limit))
                    file.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise InputError(f"upload '{safe_text(filename)[:100]}' is empty")
        return (await run_in_threadpool(state.library.add_upload, path, filename)).to_json()

    @app.get("/api/frame/{video_id}/{index}")
    async def frame(video_id: str, index: int):
        entry = state.library.get(video_id)
        image = await run_in_threadpool(read_frame, entry, index)
        return Response(await run_in_threadpool(jpeg_bytes, image), media_type="image/jpeg")


def _too_large(filename: str, limit: int) -> str:
    return f"upload '{safe_text(filename)[:100]}' is larger than the limit of {limit / 1e6:g} MB (--max-upload-mb)"


async def _json(request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise InputError("the request body must be JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    return data


def _run_routes(app, state: AppState) -> None:
    class RunStream(StreamingResponse):
        """The run's events; when the response ends for any reason (the client left), the run stops."""

        def __init__(self, run: TrackingRun) -> None:
            super().__init__(_events(run), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})
            self.run = run

        async def __call__(self, scope, receive, send) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.run.stop()

    @app.post("/api/track")
    async def track(request: Request):
        return RunStream(state.start_run(await _json(request)))

    @app.post("/api/control")
    async def control(request: Request):
        action = (await _json(request)).get("action")
        run = state.run
        if action not in ("pause", "resume", "stop"):
            raise InputError("action must be pause, resume or stop")
        if run is None or run.finished:
            raise InputError("no run in progress")
        getattr(run, action)()
        return {"state": run.state, "action": action}

    @app.get("/api/state")
    def run_state():
        run = state.run
        return {"busy": run is not None and not run.finished, "state": run.state if run is not None else None}

    @app.get("/api/download/{name}")
    def download(name: str):
        run = state.run
        if run is None or not run.finished or name not in run.outputs.names():
            raise InputError(f"no file {safe_text(name)[:80]!r} to download: finish a run first")
        media = "video/mp4" if name.endswith(".mp4") else "text/plain"
        return FileResponse(run.outputs.folder / name, media_type=media, filename=name)


__all__ = ["AppState", "Busy", "create_app"]
