"""The web app's server without a browser (FastAPI TestClient): what it serves, and what it refuses.

Security rules: names under ``--videos`` only (no absolute path, no ``..``, no symlink out), uploads with a size
limit and a type check (a file that is not a video, or a truncated MP4, is refused and deleted), requests
addressed to another host or sent from another site refused; each refusal is one line and the server keeps
serving.
"""

from __future__ import annotations

import os

import pytest


def error_of(response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


def test_page_and_its_files_are_served(client_for):
    client = client_for()
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/app.js"' in page.text
    for name, kind in (("app.js", "javascript"), ("editor.js", "javascript"), ("plot.js", "javascript")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    for name in ("server.py", "..%2Fserver.py", "index.htm"):
        assert client.get(f"/static/{name}").status_code == 404
    info = client.get("/api/info").json()
    assert info["weights"] == "demo" and "torch" in info["backends"] and "lasot" in info["presets"]
    assert "lost_search_factor" in info["fields"] and info["videos"] is False


@pytest.fixture
def videos(tmp_path, write_video):
    """A --videos folder: two videos (one in a sub-folder), a text file, and a symlink that leads out."""
    root = tmp_path / "videos"
    (root / "sub").mkdir(parents=True)
    write_video(root / "a.avi")
    write_video(root / "sub" / "b.mp4")
    (root / "notes.txt").write_text("not a video")
    outside = write_video(tmp_path / "secret.avi")
    os.symlink(outside, root / "link.avi")
    return root


def test_only_videos_under_the_folder_are_listed_and_opened(client_for, videos):
    client = client_for(videos=videos)
    assert client.get("/api/videos").json()["videos"] == ["a.avi", "sub/b.mp4"]
    opened = client.post("/api/open", json={"source": "videos", "name": "sub/b.mp4"})
    assert opened.status_code == 200, opened.text
    video = opened.json()
    assert video["frames"] == 12 and video["size"] == [48, 64] and video["label"] == "sub/b.mp4"
    frame = client.get(f"/api/frame/{video['id']}/3")
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"  # a JPEG
    message = error_of(client.get(f"/api/frame/{video['id']}/40"))
    assert message == "start_frame 40 is past the end of video 'sub/b.mp4' (12 frames)"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../secret.avi", "'..' is not allowed"),
        ("sub/../../secret.avi", "'..' is not allowed"),
        ("link.avi", "leads outside --videos"),
        ("{secret}", "absolute paths are not allowed"),
        ("C:\\videos\\a.avi", "absolute paths are not allowed"),
        ("notes.txt", "not a video file"),
        ("missing.avi", "no video 'missing.avi' under --videos"),
    ],
)
def test_paths_outside_the_folder_are_refused(client_for, videos, name, expected):
    client = client_for(videos=videos)
    name = name.format(secret=videos.parent / "secret.avi")
    message = error_of(client.post("/api/open", json={"source": "videos", "name": name}))
    assert expected in message and str(videos.parent) not in message.replace(name, "")
    assert client.get("/api/info").status_code == 200  # still serving


def test_without_videos_folder_no_server_video_opens(client_for):
    client = client_for()
    assert client.get("/api/videos").json() == {"videos": []}
    assert "without --videos" in error_of(client.post("/api/open", json={"source": "videos", "name": "a.avi"}))


def upload(client, name: str, body: bytes):
    return client.post(
        f"/api/upload?filename={name}", content=body, headers={"Content-Type": "application/octet-stream"}
    )


def test_a_good_upload_opens(client_for, tmp_path, write_video):
    client = client_for()
    video = upload(client, "my clip.avi", write_video(tmp_path / "clip.avi").read_bytes()).json()
    assert video["label"] == "my clip.avi" and video["frames"] == 12
    assert client.get(f"/api/frame/{video['id']}/0").status_code == 200


def test_bad_uploads_are_refused_and_deleted(client_for, tmp_path, write_video):
    client = client_for(max_upload_bytes=50_000)
    mp4 = write_video(tmp_path / "clip.mp4", frames=30).read_bytes()
    assert len(mp4) < 50_000
    assert "cannot be read as a video" in error_of(upload(client, "notes.mp4", b"hello, not a video" * 10))
    # OpenCV's MP4 keeps its index at the end: cut, the file cannot be opened at all.
    message = error_of(upload(client, "cut.mp4", mp4[: len(mp4) // 2]))
    assert message.startswith("upload 'cut.mp4' cannot be read as a video") and "uploads" not in message
    assert "not a video file" in error_of(upload(client, "notes.txt", b"text"))
    assert "empty" in error_of(upload(client, "empty.mp4", b""))
    assert "larger than the limit of 0.05 MB" in error_of(upload(client, "big.mp4", b"\0" * 60_000), 413)
    uploads = client.app.state.seqtrack.library.uploads
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing refused is kept
    assert client.get("/api/info").status_code == 200


def test_requests_for_another_host_or_from_another_site_are_refused(client_for):
    client = client_for()
    assert "answers only to localhost" in error_of(client.get("/api/info", headers={"Host": "evil.example"}), 403)
    refused = client.post("/api/open", json={"source": "demo"}, headers={"Origin": "http://evil.example"})
    assert "another web site" in error_of(refused, 403)


def test_bad_run_requests_get_one_line(client_for, tmp_path, write_video):
    client = client_for()
    video = upload(client, "clip.avi", write_video(tmp_path / "clip.avi").read_bytes()).json()

    def run(**changes):
        return error_of(client.post("/api/track", json={"video": video["id"], "boxes": [[10, 10, 8, 8]], **changes}))

    assert "lies outside the first frame (64x48)" in run(boxes=[[100, 10, 8, 8]])
    assert "box 2 11,10,0,8 must have positive width" in run(boxes=[[10, 10, 8, 8], [11, 10, 0, 8]])
    assert "draw a box" in run(boxes=[])
    assert "lost_search_factor must be in [1, 16]" in run(fields={"lost_search_factor": 40})
    assert "unknown tracker setting: nope" in run(fields={"nope": 1})
    assert "template updates must be one of" in run(updates="fast")
    assert "no such video" in run(video="0123")
    assert "no run in progress" in error_of(client.post("/api/control", json={"action": "stop"}))
    assert "finish a run first" in error_of(client.get("/api/download/boxes.txt"))
    assert client.get("/api/state").json() == {"busy": False, "state": None}
