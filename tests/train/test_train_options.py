"""Training options: MAE encoder initialisation, bf16 autocast, gradient checkpointing, frozen encoder."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from seqtrack.cli import main
from seqtrack.config import load_yaml
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.model.weights import load_mae_encoder
from seqtrack.train.metrics import read_metrics
from seqtrack.train.options import TrainOptions
from seqtrack.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _losses(config, squares, out, steps=3, batch=2):
    config.train = dataclasses.replace(config.train, samples_per_epoch=steps * batch, batch_size=batch, epochs=1)
    train(
        config,
        TrainOptions(out=out, log_every=1, progress=False, tensorboard=False, print_fn=lambda *_: None),
        dataset=squares(64, config.model.bins, 2, steps * batch),
    )
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "step"]


def test_grad_checkpointing_changes_nothing_but_memory(write_config, squares, tmp_path):
    config = load_yaml(write_config(overrides={"model": {"encoder": {"depth": 2}}}))
    plain = _losses(config, squares, tmp_path / "plain")
    config.train = dataclasses.replace(config.train, grad_checkpointing=True)
    checkpointed = _losses(config, squares, tmp_path / "ckpt")
    assert checkpointed == pytest.approx(plain, rel=1e-6)


def test_bf16_autocast_trains(write_config, squares, tmp_path):
    config = load_yaml(write_config())
    fp32 = _losses(config, squares, tmp_path / "fp32")
    config.train = dataclasses.replace(config.train, amp="bf16")
    bf16 = _losses(config, squares, tmp_path / "bf16")
    assert all(torch.isfinite(torch.tensor(bf16)))
    assert bf16[0] == pytest.approx(fp32[0], rel=0.05)  # same weights and data, bf16 matmuls


def test_frozen_encoder_stays_put(write_config, squares, tmp_path):
    config = load_yaml(write_config(overrides={"train": {"encoder_lr_multiplier": 0.0}}))
    _losses(config, squares, tmp_path / "run")
    torch.manual_seed(config.train.seed)
    initial = SeqTrack(config.model).state_dict()
    trained = load_file(tmp_path / "run" / "checkpoint_ep0001.safetensors")
    assert all(torch.equal(trained[k], initial[k]) for k in trained if k.startswith("encoder."))
    assert not torch.equal(trained["bottleneck.weight"], initial["bottleneck.weight"])


def test_mae_initialisation(write_config, data_root, tmp_path):
    config_path = write_config(overrides={"train": {"samples_per_epoch": 2, "epochs": 1}})
    config = load_yaml(config_path)
    body = SeqTrack(config.model).encoder.body
    generator = torch.Generator().manual_seed(7)
    mae = {k: torch.randn(v.shape, generator=generator) for k, v in body.state_dict().items()}
    dim = config.model.encoder.embed_dim
    mae["pos_embed"] = torch.randn(1, 1 + 14 * 14, dim, generator=generator)  # cls row + 14 x 14 (ViT/16 at 224)
    mae["cls_token"] = torch.randn(1, 1, dim, generator=generator)
    path = tmp_path / "mae_pretrain_vit_tiny.pth"
    torch.save({"model": mae}, path)

    out = tmp_path / "run"
    # lr ~ 0: the saved weights are the initial ones (up to 1e-12 updates)
    assert (
        main(
            [
                "train",
                str(config_path),
                "--data-root",
                str(data_root),
                "--out",
                str(out),
                "--no-progress",
                "--mae",
                str(path),
                "--lr",
                "1e-12",
            ]
        )
        == 0
    )
    expected = SeqTrack(config.model)
    load_mae_encoder(expected, path)
    trained = load_file(out / "checkpoint_ep0001.safetensors")
    for key, value in expected.encoder.state_dict().items():
        assert torch.allclose(trained[f"encoder.{key}"], value, atol=1e-6), key
    assert torch.allclose(trained["encoder.body.blocks.0.attn.qkv.weight"], mae["blocks.0.attn.qkv.weight"], atol=1e-6)


def test_init_from_trained_weights_then_refusals(write_config, data_root, tmp_path, capsys):
    config_path = write_config(overrides={"train": {"samples_per_epoch": 2, "epochs": 1}})
    config = load_yaml(config_path)
    torch.manual_seed(123)  # not the run's seed: the initial weights must come from the file
    source = SeqTrack(config.model)
    from seqtrack.model.weights import save_safetensors

    path = tmp_path / "stage1.safetensors"
    save_safetensors(source, path)
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(config_path),
                "--data-root",
                str(data_root),
                "--out",
                str(out),
                "--no-progress",
                "--init",
                str(path),
                "--lr",
                "1e-12",
            ]
        )
        == 0
    )
    trained = load_file(out / "checkpoint_ep0001.safetensors")
    for key, value in source.state_dict().items():
        assert torch.allclose(trained[key], value, atol=1e-6), key

    # A network of another shape is refused with one line naming the file and the keys that do not fit.
    other = write_config("wide.yaml", overrides={"model": {"bins": 64}})
    code = main(
        [
            "train",
            str(other),
            "--data-root",
            str(data_root),
            "--out",
            str(tmp_path / "r2"),
            "--no-progress",
            "--init",
            str(path),
        ]
    )
    message = capsys.readouterr().err
    assert code != 0 and "stage1.safetensors" in message and "mis-shaped" in message
    code = main(
        [
            "train",
            str(config_path),
            "--data-root",
            str(data_root),
            "--out",
            str(tmp_path / "r3"),
            "--no-progress",
            "--init",
            str(tmp_path / "missing.safetensors"),
        ]
    )
    assert code != 0 and "missing.safetensors" in capsys.readouterr().err


def test_init_encoder_copies_only_the_encoder(write_config, data_root, tmp_path, capsys):
    config_path = write_config(overrides={"train": {"samples_per_epoch": 2, "epochs": 1}})
    config = load_yaml(config_path)
    torch.manual_seed(321)
    source = SeqTrack(config.model)
    from seqtrack.model.weights import save_safetensors

    path = tmp_path / "pretrained.safetensors"
    save_safetensors(source, path)
    # Another decoder side (bins, sequence format): only the encoder must fit.
    other = write_config("bins.yaml", overrides={"model": {"bins": 64, "seq_format": "corner"}})
    out = tmp_path / "run"
    args = ["train", str(other), "--data-root", str(data_root), "--out", str(out), "--no-progress"]
    assert main(args + ["--init-encoder", str(path), "--lr", "1e-12"]) == 0
    assert "encoder initialised from" in capsys.readouterr().out
    trained = load_file(out / "checkpoint_ep0001.safetensors")
    for key, value in source.state_dict().items():
        if key.startswith("encoder."):
            assert torch.allclose(trained[key], value, atol=1e-6), key
    fresh = trained["decoder.body.layers.0.linear1.weight"]
    assert fresh.shape == source.state_dict()["decoder.body.layers.0.linear1.weight"].shape
    assert not torch.allclose(fresh, source.state_dict()["decoder.body.layers.0.linear1.weight"])

    # An encoder of another shape is refused in one line naming the file; two initialisations at once too.
    wide = write_config("deep.yaml", overrides={"model": {"encoder": {"depth": config.model.encoder.depth + 1}}})
    code = main(
        ["train", str(wide), "--data-root", str(data_root), "--out", str(tmp_path / "r2"), "--no-progress"]
        + ["--init-encoder", str(path)]
    )
    assert code != 0 and "pretrained.safetensors" in capsys.readouterr().err
    both = args[:-3] + [
        "--out",
        str(tmp_path / "r3"),
        "--no-progress",
        "--init",
        str(path),
        "--init-encoder",
        str(path),
    ]
    assert main(both) != 0 and "give one of them" in capsys.readouterr().err
