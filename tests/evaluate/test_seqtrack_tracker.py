"""`seqtrack eval` with the real SeqTrack tracker (a tiny randomly initialised model, saved as safetensors)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from seqtrack.cli import main
from seqtrack.evaluate.results import read_numbers


def test_eval_runs_the_real_tracker(bench_roots, tmp_path, capsys):
    from seqtrack import SeqTrack, model_preset, save_safetensors

    config = model_preset("t128")
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, depth=1))
    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_safetensors(SeqTrack(config).eval(), weights)
    status = main(["eval", "lasot", "--root", str(bench_roots["lasot"]), "--weights", str(weights),
                   "--sequences", "airplane-1", "--results", str(tmp_path / "r"), "--no-progress"])
    assert status == 0
    assert "updates preset 'lasot'" in capsys.readouterr().out
    boxes = read_numbers(tmp_path / "r" / "airplane-1.txt", columns=4)
    assert boxes.shape == (12, 4) and np.isfinite(boxes).all()
