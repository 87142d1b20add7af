"""Operation counts: MACs in the paper's (thop) convention from module hooks, FLOPs of a tracked frame from
torch's FlopCounterMode, and ``seqtrack macs``."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from seqtrack.bench.flops import frame_flops
from seqtrack.bench.macs import (
    MacCounter,
    attention_rule,
    counted_frame_flops,
    paper_macs,
    resolve_model_config,
)
from seqtrack.cli import main
from seqtrack.config import model_preset
from seqtrack.errors import InputError
from seqtrack.model.decoder import MultiheadAttention as DecoderAttention

# Tab. 1 of the paper as measured with the official tracking/profile_model.py (docs/official-behaviour.md §8):
# (issue 21's acceptance figure in G MACs, the measured figure in G MACs, thop's "params" in M).
OFFICIAL = {
    "b256": (65.9, 65.86, 89.11),
    "b384": (148.2, 148.19, 89.11),
    "l256": (232.8, 232.82, 306.63),
    "l384": (523.9, 523.85, 306.63),
}


@pytest.mark.parametrize("preset", list(OFFICIAL))
def test_paper_convention_reproduces_the_official_measurement(preset):
    accepted, measured, thop_params = OFFICIAL[preset]
    count = paper_macs(model_preset(preset))
    assert count.total == count.encoder + count.decoder_step
    assert count.total / 1e9 == pytest.approx(accepted, rel=0.02)
    assert count.total / 1e9 == pytest.approx(measured, abs=0.01)
    assert count.thop_params / 1e6 == pytest.approx(thop_params, abs=0.01)
    if preset == "b256":  # the split the docs give: 65.74 G encoder, 0.12 G for one decoder step
        assert count.encoder / 1e9 == pytest.approx(65.74, abs=0.01)
        assert count.decoder_step / 1e9 == pytest.approx(0.12, abs=0.005)


def test_counter_counts_a_tiny_models_leaves_by_thops_rules():
    model = nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=2, stride=2),  # (1, 3, 4, 4) -> (1, 4, 2, 2)
        nn.Flatten(2),
        nn.LayerNorm(4),  # over (1, 4, 4)
        nn.Linear(4, 6),
        nn.GELU(),
        nn.Dropout(0.1),
        nn.Linear(6, 3, bias=False),
    )
    with MacCounter(model) as counter:
        model(torch.randn(1, 3, 4, 4))
    conv = 16 * 3 * 4  # output elements x in_channels x kernel area (no bias)
    norm = 2 * 16 * 2  # 2 per input element, doubled by the affine transform
    linears = 4 * (4 * 6) + 6 * (4 * 3)  # in_features x output elements
    assert counter.count(model[3]) == 96 and counter.count(model[4]) == 0  # GELU: no rule in thop
    assert counter.count() == conv + norm + linears
    assert counter.thop_params() == sum(p.numel() for p in model.parameters())
    embedding = nn.Embedding(10, 4)  # no rule: zero MACs and zero "params", as in thop
    with MacCounter(embedding) as counter:
        embedding(torch.tensor([[1, 2]]))
    assert counter.count() == 0 and counter.thop_params() == 0


class _CrossAttention(nn.Module):
    """Drives the decoder attention the way `DecoderLayer` does: three projections, then attend."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attn = DecoderAttention(dim, heads)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        q, k, v = self.attn.project(x, 0), self.attn.project(memory, 1), self.attn.project(memory, 2)
        return self.attn.attend(q, k, v)


class _OfficialCrossAttention(nn.Module):
    """``torch.nn.MultiheadAttention`` as the official decoder holds it: a child (thop never applies the
    root module's own rule), called with the value as a keyword as DETR does."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return self.attn(x, memory, value=memory)[0]


@pytest.mark.parametrize("batch", [1, 2])
def test_both_attention_classes_get_the_official_custom_rule_without_the_output_projection(batch):
    x, memory = torch.randn(batch, 3, 8), torch.randn(batch, 5, 8)
    expected = attention_rule(8, 8, 3, 5, batch)
    assert expected == 8 * 8 * 3 * batch + 2 * 8 * 8 * 5 * batch + 2 * 3 * 5 * 8

    ours = _CrossAttention(8, 2).eval()
    reference = ours(x, memory)
    with MacCounter(ours) as counter:
        counted = ours(x, memory)
    assert counter.count() == expected
    assert counter.ops[ours.attn.out_proj] == 8 * 3 * 8 * batch  # it ran, but thop does not descend there
    assert torch.equal(counted, reference)  # counting leaves the computation alone
    assert "project" not in vars(ours.attn) and "attend" not in vars(ours.attn)  # class methods again

    official = _OfficialCrossAttention(8, 2).eval()
    with MacCounter(official) as counter:
        official(x, memory)
    assert counter.count() == expected


def test_counted_frame_flops_agree_with_the_analytic_formula():
    for preset in ("t128", "b256"):
        config = model_preset(preset)
        assert counted_frame_flops(config) == pytest.approx(frame_flops(config), rel=0.01)
    # The demo model's conv stem is more than the one strided conv the formula assumes: the count sees it.
    demo = resolve_model_config("demo")
    assert demo.encoder.stem == "conv"
    assert counted_frame_flops(demo) > 1.05 * frame_flops(demo)


def test_counts_follow_the_encoding_ablation():
    small = dataclasses.replace(model_preset("t128").encoder, depth=2)
    joint = dataclasses.replace(model_preset("t128"), encoder=small, feature_type="xz")
    separate = dataclasses.replace(joint, encoding="separate")
    # thop sees the same linears on the same tokens; only the attention products (invisible to it) shrink:
    # 4 d per pair of tokens per block (scores and weighted sum), (Nx + 2 Nz)^2 pairs jointly, Nx^2 + 2 Nz^2 apart.
    assert paper_macs(separate).total == paper_macs(joint).total
    pairs = 192**2 - 3 * 64**2
    assert counted_frame_flops(joint) - counted_frame_flops(separate) == 2 * 4 * 192 * pairs


def test_model_names_resolve_without_weights_files():
    assert resolve_model_config("b256_got") == model_preset("b256")
    assert resolve_model_config("SEQTRACK_L384") == model_preset("l384")
    with pytest.raises(InputError, match="unknown model 'b512'.*b256, b384"):
        resolve_model_config("b512")


def test_cli_prints_the_table(capsys):
    assert main(["macs", "t128"]) == 0
    out = capsys.readouterr().out
    assert "| model | enc G MACs | dec step G MACs | total G MACs (paper convention)" in out
    row = next(line for line in out.splitlines() if line.startswith("| t128 |"))
    t128 = paper_macs(model_preset("t128"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == [
        "t128",
        f"{t128.encoder / 1e9:.2f}",
        f"{t128.decoder_step / 1e9:.3f}",
        f"{t128.total / 1e9:.2f}",
        f"{frame_flops(model_preset('t128')) / 1e9:.2f}",
        "7.14",
    ]
    assert "thop 0.1.1" in out


def test_cli_refuses_bad_names_in_one_line_before_counting(capsys, tmp_path):
    assert main(["macs", "t128", "nosuch"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing measured: every name is checked first
    assert captured.err.startswith("seqtrack: error: unknown model 'nosuch'") and captured.err.count("\n") == 1
    assert main(["macs", str(tmp_path / "absent.safetensors")]) == 2
    assert "weights file not found" in capsys.readouterr().err
    official = tmp_path / "SEQTRACK_ep0500.pth.tar"
    official.write_bytes(b"PK\x03\x04 not a safetensors file")
    assert main(["macs", str(official)]) == 2
    assert "does not store its model config" in capsys.readouterr().err
