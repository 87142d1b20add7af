"""Screenshots of ``seqtrack app`` before, during and after tracking the demo clip, taken in headless Chromium
(Debian's ``chromium`` + ``chromium-driver``, ``make browser``), and the frame rate the page shows.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/app_screenshots.py --out docs/screenshots

Writes ``app-before.png`` (the box drawn with the mouse), ``app-during.png`` (paused half-way through the live
stream) and ``app-after.png`` (playback with the score plot and the downloads); prints the fps the page shows
(the tracker's frames/s, as ``seqtrack track`` counts it) and the CPU's model name.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

from seqtrack.bench.machine import cpu_model

DEMO_BOX = (376, 52, 144, 218)


def serve(work: Path, threads: int):
    """The app on a free port of 127.0.0.1 in a thread: ``(url, server)``."""
    import uvicorn

    from seqtrack.app.options import AppConfig, DemoClip
    from seqtrack.app.server import create_app
    from seqtrack.cli.demo import DEMO_FRAMES, DEMO_START_FRAME, bikes_clip
    from seqtrack.model.registry import resolve_weights

    demo = DemoClip(bikes_clip(), DEMO_START_FRAME, DEMO_FRAMES, tuple(float(v) for v in DEMO_BOX))
    config = AppConfig(weights=resolve_weights("demo"), work_dir=work, demo=demo, threads=threads)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def wait(driver, condition, timeout: float = 120) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)


def state_is(*states: str):
    return lambda d: d.execute_script("return document.body.dataset.state") in states


def draw_box(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "canvas")
    scale = canvas.rect["width"] / driver.execute_script("return arguments[0].width", canvas)
    x, y, w, h = (v * scale for v in DEMO_BOX)
    start = (round(x - canvas.rect["width"] / 2), round(y - canvas.rect["height"] / 2))
    chain = ActionChains(driver).move_to_element_with_offset(canvas, *start).click_and_hold()
    chain.move_by_offset(round(w / 2), round(h / 2)).move_by_offset(round(w / 2), round(h / 2)).release().perform()


def take(driver, out: Path, threads: int) -> str:
    """Drive the page through a run, saving the three screenshots; the status line at the end."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "open-demo").click()
    wait(driver, state_is("ready"))
    draw_box(driver)
    driver.save_screenshot(str(out / "app-before.png"))
    driver.find_element(By.ID, "run").click()
    wait(driver, lambda d: d.execute_script("return state.results.length") >= 30)
    driver.find_element(By.ID, "pause").click()
    wait(driver, state_is("paused"))
    time.sleep(0.5)  # the last streamed frame is drawn
    driver.save_screenshot(str(out / "app-during.png"))
    driver.find_element(By.ID, "pause").click()  # resume
    wait(driver, state_is("done", "stopped", "error"))
    driver.execute_script("showResult(50)")  # playback: the cyclist after the occlusion, cursor on the plot
    time.sleep(0.5)
    driver.save_screenshot(str(out / "app-after.png"))
    return driver.find_element(By.ID, "status").text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1, as seqtrack demo)")
    parser.add_argument("--size", default="1400x960", help="browser window WIDTHxHEIGHT")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as work:
        url, server = serve(Path(work), args.threads)
        driver = browser(width, height)
        try:
            driver.get(url)
            wait(driver, lambda d: d.execute_script("return state.info !== null"))
            status = take(driver, args.out, args.threads)
        finally:
            driver.quit()
            server.should_exit = True
    print(f"page: {status}")
    print(f"CPU: {cpu_model()}, {args.threads} thread(s); screenshots in {args.out}")


if __name__ == "__main__":
    main()
