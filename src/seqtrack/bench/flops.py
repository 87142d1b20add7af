"""Analytic floating-point operations of one tracked frame (for the GFLOP/s column)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqtrack.config import ModelConfig


def frame_flops(config: ModelConfig, targets: int = 1) -> float:
    """Analytic floating-point operations (2 per multiply-add) of one tracked frame.

    Counts every matrix product: patch embedding, all encoder linears *and* the attention products
    (unlike the official thop count, docs/official-behaviour.md §8, which misses them), the bottleneck, the decoder
    memory
    projections once, then four cached decoder steps with the vocabulary head. Element-wise work
    (norms, softmax, GELU) is left out. ``targets`` targets cost ``targets`` times one (one batch).
    """
    enc, dec = config.encoder, config.decoder
    patch = enc.patch_size
    nx, nz = config.num_search_tokens, config.num_template_tokens
    n = nx + config.num_templates * nz
    dim, hidden = enc.embed_dim, int(enc.embed_dim * enc.mlp_ratio)
    flops = 2.0 * n * (3 * patch * patch) * dim  # patch embedding
    per_block = 2.0 * n * dim * 3 * dim + 2.0 * n * dim * dim + 2.0 * 2 * n * dim * hidden + 2.0 * 2 * n * n * dim
    flops += enc.depth * per_block
    memory = config.num_memory_tokens
    d, ff, layers = dec.hidden_dim, dec.dim_feedforward, dec.num_layers
    flops += 2.0 * memory * dim * d  # bottleneck
    flops += layers * 2 * (2.0 * memory * d * d)  # cross-attention keys and values, once per frame
    for step in range(4):
        length = step + 1
        per_layer = (
            3 * 2.0 * d * d
            + 2 * 2.0 * length * d
            + 2.0 * d * d  # self-attention
            + 2.0 * d * d
            + 2 * 2.0 * memory * d
            + 2.0 * d * d  # cross-attention
            + 2 * 2.0 * d * ff
        )  # FFN
        flops += layers * per_layer + 2.0 * (2 * d * d + d * config.vocab_size)
    return flops * targets


__all__ = ["frame_flops"]
