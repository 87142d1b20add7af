"""Frame sources: ordering, RGB conversion, start/max, and every error path (with its message)."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest

from seqtrack.errors import InputError
from seqtrack.io.sources import FrameSource, natural_key, open_source


def read_all(source: FrameSource) -> list[tuple[int, np.ndarray]]:
    with source:
        return list(source)


def read_until_error(spec, **kwargs) -> tuple[list[int], InputError | None]:
    """Open and iterate like a tracker would: keep every yielded index, stop at the error (which
    comes from open_source itself when frame 0 is already unreadable)."""
    indices: list[int] = []
    try:
        with open_source(spec, **kwargs) as source:
            for index, frame in source:
                assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
                indices.append(index)
    except InputError as error:
        return indices, error
    return indices, None


# ------------------------------------------------------------------------------------------------
# Image folders and globs
# ------------------------------------------------------------------------------------------------


def test_natural_key_orders_numbers_by_value():
    names = ["10.jpg", "2.jpg", "1.jpg", "img_100.png", "img_9.png", "B.jpg", "a.jpg"]
    assert sorted(names, key=natural_key) == ["1.jpg", "2.jpg", "10.jpg", "a.jpg", "B.jpg", "img_9.png", "img_100.png"]


def test_folder_natural_sort_rgb_and_ignored_files(tmp_path, make_images, clip):
    folder = tmp_path / "seq"
    make_images(folder, ["1.png", "2.png", "10.png"])  # frames 0, 1, 2 in that order
    (folder / "groundtruth.txt").write_text("1,2,3,4\n")  # GOT-10k keeps these beside the frames
    (folder / "._1.png").write_bytes(b"macOS resource fork")
    (folder / "sub").mkdir()
    source = open_source(folder)
    assert (source.kind, source.fps, source.frame_size) == ("images", 30.0, clip.size)
    assert (source.num_frames, source.total_frames) == (3, 3)
    assert str(folder) in source.name
    frames = read_all(source)
    assert [i for i, _ in frames] == [0, 1, 2]
    # 10.png comes last and holds frame 2; frame 0 is pure red in RGB order.
    np.testing.assert_array_equal(frames[0][1], clip.frame(0))
    assert tuple(frames[0][1][0, 0]) == (255, 0, 0)
    assert clip.left_edge(frames[2][1]) == 4


def test_grayscale_and_alpha_images_become_rgb(tmp_path):
    folder = tmp_path / "gray"
    folder.mkdir()
    cv2.imwrite(str(folder / "0.png"), np.full((8, 10), 77, np.uint8))
    bgra = np.zeros((8, 10, 4), np.uint8)
    bgra[..., 2] = 200  # red in BGR(A)
    bgra[..., 3] = 255
    cv2.imwrite(str(folder / "1.png"), bgra)
    (_, gray), (_, rgba) = read_all(open_source(folder))
    assert gray.shape == (8, 10, 3) and (gray == 77).all()
    assert rgba.shape == (8, 10, 3) and tuple(rgba[0, 0]) == (200, 0, 0)


def test_glob_selects_matching_images_in_natural_order(tmp_path, make_images):
    folder = tmp_path / "frames"
    make_images(folder, ["f1.png", "f3.png", "f20.png"])
    make_images(folder, ["f2.jpg"])
    source = open_source(str(folder / "*.png"))
    assert source.name == f"images '{folder / '*.png'}'"
    assert [i for i, _ in read_all(source)] == [0, 1, 2]
    assert open_source(str(folder / "f*")).num_frames == 4


def test_folder_start_frame_and_max_frames(tmp_path, make_images, clip):
    make_images(tmp_path, [f"{i:04d}.jpg" for i in range(8)])
    frames = read_all(open_source(tmp_path, start_frame=3, max_frames=2))
    assert [i for i, _ in frames] == [3, 4]
    assert clip.left_edge(frames[0][1]) == 6
    source = open_source(tmp_path, start_frame=6)
    assert source.num_frames == 2
    assert open_source(tmp_path, max_frames=5).num_frames == 5
    with pytest.raises(InputError, match=r"start_frame 8 is past the end of image folder .* \(8 frames\)"):
        open_source(tmp_path, start_frame=8)


def test_single_image_file_is_a_one_frame_sequence(tmp_path, make_images):
    (path,) = make_images(tmp_path, ["one.bmp"])
    assert [i for i, _ in read_all(open_source(path))] == [0]


# ------------------------------------------------------------------------------------------------
# Videos
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["clip.mp4", "clip.avi"])
def test_video_read_count_fps_and_rgb(tmp_path, make_video, clip, name):
    path = make_video(tmp_path / name, num_frames=20)
    source = open_source(path)
    assert (source.kind, source.fps, source.frame_size) == ("video", 30.0, clip.size)
    assert (source.num_frames, source.total_frames) == (20, 20)
    assert name in source.name
    frames = read_all(source)
    assert [i for i, _ in frames] == list(range(20))
    red = frames[0][1].reshape(-1, 3).mean(axis=0)
    assert red[0] > 230 and red[1] < 25 and red[2] < 25, f"frame 0 is not red in RGB order: {red}"
    for index, frame in frames[1:]:
        assert abs(clip.left_edge(frame) - 2 * index) <= 1


def test_video_start_frame_and_max_frames_are_exact(tmp_path, make_video, clip):
    path = make_video(tmp_path / "clip.mp4", num_frames=20)
    source = open_source(path, start_frame=7, max_frames=5)
    assert source.num_frames == 5
    frames = read_all(source)
    assert [i for i, _ in frames] == [7, 8, 9, 10, 11]
    assert [round(clip.left_edge(f) / 2) for _, f in frames] == [7, 8, 9, 10, 11]
    assert open_source(path, start_frame=15).num_frames == 5
    past_end = r"start_frame 20 is past the end of video .*clip\.mp4.* \(20 frames\)"
    with pytest.raises(InputError, match=past_end):
        open_source(path, start_frame=20)


def test_iteration_stops_after_close(tmp_path, make_video):
    source = open_source(make_video(tmp_path / "clip.avi", num_frames=5))
    assert next(source)[0] == 0
    source.close()
    source.close()
    assert list(source) == []


# ------------------------------------------------------------------------------------------------
# Errors that stop a source before it starts
# ------------------------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(InputError, match=rf"no such file or folder: '{missing}'"):
        open_source(missing)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"unsupported file type '\.txt' for '.*notes\.txt'"):
        open_source(path)


def test_empty_folder_and_hint_to_subfolder(tmp_path, make_images):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "groundtruth.txt").write_text("")
    with pytest.raises(InputError, match=rf"folder '{empty}' contains no images"):
        open_source(empty)
    make_images(tmp_path / "lasot" / "img", ["00000001.jpg"])
    with pytest.raises(InputError, match=r"did you mean '.*lasot/img'\?"):
        open_source(tmp_path / "lasot")


def test_glob_without_match_or_without_images(tmp_path):
    with pytest.raises(InputError, match=r"glob '.*\*\.png' matches no file"):
        open_source(str(tmp_path / "*.png"))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match=r"matches 1 file\(s\) but no image"):
        open_source(str(tmp_path / "*"))


def test_video_that_cannot_be_opened(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"this is not a video" * 50)
    with pytest.raises(InputError, match=r"video '.*fake\.mp4' cannot be opened"):
        open_source(path)


@pytest.mark.parametrize("spec", [99, "99"])
def test_camera_that_cannot_be_opened(spec):
    with pytest.raises(InputError, match=r"camera 99 cannot be opened"):
        open_source(spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"start_frame": -1}, "start_frame must be"), ({"max_frames": -2}, "max_frames must be")],
)
def test_bad_arguments(tmp_path, make_images, kwargs, message):
    make_images(tmp_path, ["0.png"])
    with pytest.raises(InputError, match=message):
        open_source(tmp_path, **kwargs)


# ------------------------------------------------------------------------------------------------
# Sources that turn unreadable part-way: earlier frames first, then an error naming frame k
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_image_at_frame_k(tmp_path, make_images, damage):
    paths = make_images(tmp_path, [f"{i}.jpg" for i in range(6)])
    bad = paths[3]
    data = bad.read_bytes()
    damaged = {"garbage": b"not a jpeg at all", "truncated": data[: len(data) // 2], "empty": b""}
    bad.write_bytes(damaged[damage])
    indices, error = read_until_error(tmp_path)
    assert indices == [0, 1, 2]
    assert error is not None
    assert f"image folder '{tmp_path}' is unreadable at frame 3" in str(error)
    assert "3.jpg" in str(error) and "cannot be decoded" in str(error)


def test_corrupt_first_frame_fails_at_open(tmp_path, make_images):
    paths = make_images(tmp_path, ["0.png", "1.png"])
    paths[0].write_bytes(b"broken")
    with pytest.raises(InputError, match="unreadable at frame 0"):
        open_source(tmp_path)


def test_image_of_another_size_names_the_file(tmp_path, make_images):
    make_images(tmp_path, ["0.png", "1.png", "2.png"])
    cv2.imwrite(str(tmp_path / "2.png"), np.zeros((10, 12, 3), np.uint8))
    indices, error = read_until_error(tmp_path)
    assert indices == [0, 1]
    assert error is not None
    assert "frame 2" in str(error) and "2.png" in str(error) and "10x12 (HxW)" in str(error)


def test_truncated_avi_yields_readable_frames_then_names_frame_k(tmp_path, make_video, clip):
    # AVI keeps its header (with the frame count) at the front, so a cut file still opens and the
    # premature end is detectable against the announced count.
    path = make_video(tmp_path / "clip.avi", num_frames=30)
    full = read_all(open_source(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    source = open_source(path)
    assert source.total_frames == 30
    kept: list[np.ndarray] = []
    with pytest.raises(InputError) as caught, source:
        for _, frame in source:
            kept.append(frame)
    k = len(kept)
    assert 0 < k < 30
    assert str(caught.value) == (
        f"video '{path}' is unreadable at frame {k}: the container announces 30 frames but decoding "
        f"stopped after {k} (truncated or corrupt file)"
    )
    # The last kept frame may be only partly decoded; the ones before it are intact.
    for (_, expected), got in zip(full[: k - 1], kept[: k - 1], strict=True):
        np.testing.assert_array_equal(got, expected)


def test_truncated_mkv_is_detected_against_the_estimated_count(tmp_path, make_video):
    path = make_video(tmp_path / "clip.mkv", num_frames=30, fourcc="mp4v")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    indices, error = read_until_error(path)
    assert error is not None and f"unreadable at frame {len(indices)}" in str(error)


def test_truncated_mp4_without_its_index_cannot_be_opened(tmp_path, make_video):
    # OpenCV (like most writers) puts the MP4 'moov' index at the end: half a file has no index, no
    # frame can be located, and the only honest report is that the file cannot be opened.
    path = make_video(tmp_path / "clip.mp4", num_frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"video '.*clip\.mp4' cannot be opened .*truncated"):
        open_source(path)


def test_truncated_faststart_mp4_names_frame_k(tmp_path, make_h264):
    # A fast-start MP4 has its index at the front, so a cut one opens and the shortfall shows.
    # OpenCV cannot write one; PyAV (optional) can.
    path = make_h264(tmp_path / "fast.mp4", num_frames=30, faststart=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    indices, error = read_until_error(path)
    assert indices == list(range(len(indices))) and len(indices) < 30
    assert error is not None
    assert f"unreadable at frame {len(indices)}: the container announces 30 frames" in str(error)


# ------------------------------------------------------------------------------------------------
# Paths the OS refuses, symlinks, files that change under a running source
# ------------------------------------------------------------------------------------------------

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")


@pytest.mark.parametrize(
    ("tail", "longest"),
    [("{name}.mp4", 304), ("{name}/0.png", 300), ("{name}/*.png", 300)],
    ids=["file", "nested", "glob"],
)
def test_name_over_255_bytes_is_one_clear_error(tmp_path, tail, longest):
    spec = tmp_path / tail.format(name="é" * 150)  # 300 bytes in UTF-8
    with pytest.raises(InputError) as caught:
        open_source(str(spec))
    assert str(caught.value) == (
        f"source path is too long: a file or folder name in it is {longest} bytes, file systems allow 255 ('{spec}')"
    )


@needs_symlinks
def test_source_path_that_is_a_symlink_loop(tmp_path):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop.name)
    with pytest.raises(InputError, match=r"source path '.*loop\.mp4' cannot be resolved: .*\(symlink loop\)$"):
        open_source(loop)


@needs_symlinks
@pytest.mark.parametrize("link", ["loop", "dangling"])
def test_broken_symlink_among_frames_is_named_at_its_frame(tmp_path, make_images, link):
    # Dropping the entry would shift every later frame's index: it is read, and fails, in its place.
    make_images(tmp_path, ["0.png", "1.png", "2.png", "4.png"])
    bad = tmp_path / "3.png"
    bad.symlink_to("3.png" if link == "loop" else "gone.png")
    indices, error = read_until_error(tmp_path)
    assert indices == [0, 1, 2]
    reason = "Too many levels of symbolic links" if link == "loop" else "No such file or directory"
    assert str(error) == f"image folder '{tmp_path}' is unreadable at frame 3: cannot read '{bad}' ({reason})"


@needs_symlinks
def test_recursive_glob_through_a_symlink_loop_lists_each_frame_once(tmp_path, make_images):
    make_images(tmp_path / "seq", ["0.png", "1.png"])
    make_images(tmp_path / "seq" / "sub", ["2.png"])
    (tmp_path / "seq" / "sub" / "up").symlink_to("..")  # seq/sub/up/sub/up/... down to the OS's limit
    source = open_source(str(tmp_path / "seq" / "**" / "*.png"))
    assert source.num_frames == 3
    assert [i for i, _ in read_all(source)] == [0, 1, 2]


def test_file_that_disappears_mid_run_is_named(tmp_path, make_images):
    paths = make_images(tmp_path, [f"{i}.png" for i in range(5)])
    indices: list[int] = []
    with pytest.raises(InputError) as caught, open_source(tmp_path) as source:
        for index, _ in source:
            indices.append(index)
            if index == 1:
                paths[3].unlink()  # deleted (or moved) by someone else while we track
    assert indices == [0, 1, 2]
    assert str(caught.value) == (
        f"image folder '{tmp_path}' is unreadable at frame 3: '{paths[3]}' disappeared after the source was opened"
    )


def test_folders_and_other_files_named_like_frames_are_ignored(tmp_path, make_images):
    make_images(tmp_path, ["0.png", "1.png"])
    (tmp_path / "5.png").mkdir()  # a folder with an image's name
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "Thumbs.db").write_bytes(b"\0")
    (tmp_path / ".2.png").write_bytes(b"hidden")
    assert [i for i, _ in read_all(open_source(tmp_path))] == [0, 1]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file; no chmod on Windows")
def test_unreadable_file_in_the_middle_is_named(tmp_path, make_images):
    paths = make_images(tmp_path, ["0.png", "1.png", "2.png"])
    paths[1].chmod(0)
    indices, error = read_until_error(tmp_path)
    assert indices == [0]
    assert (
        str(error)
        == f"image folder '{tmp_path}' is unreadable at frame 1: cannot read '{paths[1]}' (Permission denied)"
    )
