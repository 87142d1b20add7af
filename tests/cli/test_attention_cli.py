"""`seqtrack attention` (the paper's Fig. 7) end to end on the golden tiny model, its picture and its errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from seqtrack.cli import main
from seqtrack.config import DecoderConfig, EncoderConfig, ModelConfig
from seqtrack.io.attention_figure import MARGIN, TITLE_HEIGHT, figure_size
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.model.weights import save_safetensors
from support import golden_file


@pytest.fixture(scope="module")
def data():
    return dict(np.load(golden_file("tiny_tracker.npz")))


@pytest.fixture(scope="module")
def weights(tmp_path_factory, golden_model):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_safetensors(golden_model, path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory, data):
    """The first five golden frames as 0.png .. 4.png."""
    path = tmp_path_factory.mktemp("frames")
    for i, frame in enumerate(data["frames"][:5]):
        cv2.imwrite(str(path / f"{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def _box(data) -> str:
    return ",".join(repr(float(v)) for v in data["init_box"])


def _run(source, weights, box, out, *extra) -> int:
    return main(["attention", str(source), "--weights", str(weights), "--box", box, "--out", str(out), *extra])


def test_writes_the_picture_for_the_asked_frame(tmp_path, folder, weights, data, capsys):
    out = tmp_path / "attention.png"
    assert _run(folder, weights, _box(data), out, "--frame", "3", "--panel", "64", "--threads", "1") == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape == (*figure_size(64), 3)
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "frame 3" in printed and "8x8 search grid" in printed
    panels = [image[TITLE_HEIGHT:-MARGIN, MARGIN + i * 72 : MARGIN + i * 72 + 64] for i in range(5)]
    assert all(p.shape == (64, 64, 3) for p in panels)
    crop = panels[0].astype(int)
    assert all(np.abs(p.astype(int) - crop).mean() > 5 for p in panels[1:])  # heat maps laid over the crop


def test_default_frame_is_the_one_after_init_and_an_image_is_its_own_frame(tmp_path, folder, weights, data, capsys):
    assert _run(folder, weights, _box(data), tmp_path / "a.png", "--start-frame", "1") == 0
    assert "frame 2," in capsys.readouterr().out
    assert _run(folder / "0.png", weights, _box(data), tmp_path / "b.png", "--panel", "40") == 0
    assert "frame 0," in capsys.readouterr().out
    assert cv2.imread(str(tmp_path / "b.png")).shape == (*figure_size(40), 3)


@pytest.mark.parametrize(
    "box, extra, message",
    [
        ("500,500,10,10", (), "lies outside the first frame"),
        (None, ("--frame", "9"), "--frame 9 is past the end"),
        (None, ("--frame", "2", "--start-frame", "2"), "must come after the init frame"),
        (None, ("--backend", "onnxruntime"), "--backend onnxruntime: attention maps come from the torch model"),
        (None, ("--panel", "8"), "--panel must be 32..2048"),
        (None, ("--update-mode", "always"), "--update-mode must be one of likelihood, naive"),
    ],
)
def test_errors_are_one_line_and_write_nothing(tmp_path, folder, weights, data, capsys, box, extra, message):
    out = tmp_path / "attention.png"
    assert _run(folder, weights, box or _box(data), out, *extra) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not out.exists()


def test_bad_box_text_and_output_type(tmp_path, folder, weights, data, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(folder, weights, "1,2,3", tmp_path / "a.png")
    assert exit_info.value.code == 2 and "x,y,w,h" in capsys.readouterr().err
    assert _run(folder, weights, _box(data), tmp_path / "a.jpg") == 2
    assert "--out must end in .png" in capsys.readouterr().err


def test_a_pooled_token_memory_has_no_map(tmp_path, folder, data, capsys):
    config = ModelConfig(
        encoder=EncoderConfig(embed_dim=32, depth=1, num_heads=2),
        decoder=DecoderConfig(hidden_dim=16, num_heads=2, num_layers=1, dim_feedforward=32),
        template_size=32,
        search_size=64,
        bins=64,
        feature_type="token",
        name="tiny",
    )
    torch.manual_seed(0)
    path = tmp_path / "token.safetensors"
    save_safetensors(SeqTrack(config), path)
    assert _run(folder, path, _box(data), tmp_path / "a.png") == 2
    assert "feature_type 'token'" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()
