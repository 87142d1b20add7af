"""Causal transformer decoder that reads the box out as tokens (docs/official-behaviour.md §1.4), with a KV cache.

Also the paper's ablations: learned query tokens without a causal mask (bidirectional decoding, Tab. 4 #2),
and the cross-attention maps of the last layer on request (Fig. 7).

DETR-style layers (post-norm by default, pre-norm as an option). Positions enter inside every layer:
queries and self-attention keys get ``query_pos`` added, cross-attention keys get the memory position
table added; values never carry positions. The token embedding is ``LayerNorm(word_embedding(token))``
only (no position added there), as in the official model.

Tensors are batch-first here: ``tgt (B, L, d)``, ``memory (B, N, d)``. Parameter names match the official
``nn.MultiheadAttention`` layout (``in_proj_weight`` rows q | k | v, ``out_proj``) so checkpoints load
unchanged, but attention runs through ``scaled_dot_product_attention`` and supports incremental decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from seqtrack.config import DecoderConfig


class MultiheadAttention(nn.Module):
    """Attention with separate query/key/value inputs and official parameter names."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dim, self.num_heads, self.dropout = dim, num_heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def project(self, x: torch.Tensor, which: int) -> torch.Tensor:
        """Project ``x (B, L, d)`` with the q (0), k (1) or v (2) rows → heads ``(B, h, L, d/h)``."""
        rows = slice(which * self.dim, (which + 1) * self.dim)
        y = F.linear(x, self.in_proj_weight[rows], self.in_proj_bias[rows])
        return y.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
        """Heads ``(B, h, Lq, d/h)`` x ``(B, h, Lk, d/h)`` → ``(B, Lq, d)`` after the output projection."""
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=causal)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    @staticmethod
    def weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Attention weights averaged over heads, ``(B, Lq, Lk)`` float32, each row summing to 1 (no mask).

        Computed beside SDPA, never instead of it: the attended values stay bit-identical to the normal
        path, and the extra product is paid only when a caller asks for the maps (paper Fig. 7).
        """
        scores = (q.float() @ k.float().transpose(-2, -1)) * q.shape[-1] ** -0.5
        return scores.softmax(dim=-1).mean(dim=1)


@dataclass
class DecoderCache:
    """Per-frame decoding state, kept outside the module.

    ``cross[i]`` = (keys, values) of layer i over the memory, computed once per frame;
    ``keys[i]``/``values[i]`` = self-attention keys/values of the tokens decoded so far.
    """

    cross: list[tuple[torch.Tensor, torch.Tensor]]
    keys: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)
    length: int = 0


class DecoderLayer(nn.Module):
    """Self-attention (causal) → cross-attention over the memory → FFN, post- or pre-norm."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        d = config.hidden_dim
        self.pre_norm = config.pre_norm
        self.self_attn = MultiheadAttention(d, config.num_heads, config.dropout)
        self.multihead_attn = MultiheadAttention(d, config.num_heads, config.dropout)
        self.linear1 = nn.Linear(d, config.dim_feedforward)
        self.linear2 = nn.Linear(config.dim_feedforward, d)
        self.norm1 = nn.LayerNorm(d, eps=config.norm_eps)
        self.norm2 = nn.LayerNorm(d, eps=config.norm_eps)
        self.norm3 = nn.LayerNorm(d, eps=config.norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)
        self.dropout3 = nn.Dropout(config.dropout)

    def memory_kv(self, memory: torch.Tensor, memory_pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention keys (memory + position) and values (memory) as heads."""
        return self.multihead_attn.project(memory + memory_pos, 1), self.multihead_attn.project(memory, 2)

    def forward(
        self,
        tgt: torch.Tensor,
        query_pos: torch.Tensor,
        cross_kv: tuple[torch.Tensor, torch.Tensor],
        cache: DecoderCache | None = None,
        index: int = 0,
        causal: bool = True,
        attention: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Args:
            tgt: ``(B, L, d)`` token states (``L = 1`` new token when decoding with a cache).
            query_pos: ``(1, L, d)`` position rows for those tokens.
            cross_kv: this layer's memory keys/values from `memory_kv`.
            cache: when given, ``tgt`` holds only new tokens; their keys/values are appended to the cache.
            index: this layer's index in the cache.
            causal: mask later tokens of ``tgt`` from earlier ones. A Python bool chosen by the caller, not
                derived from ``tgt.shape``: under ONNX tracing shapes are tensors, and SDPA needs a bool.
                False for one new token after the cache (it may attend to every cached one).
            attention: when given, this layer's cross-attention weights ``(B, L, N)`` (averaged over heads)
                are appended to it.
        Returns:
            ``(B, L, d)``.
        """
        x = self.norm1(tgt) if self.pre_norm else tgt
        qk_in = x + query_pos
        q, k, v = self.self_attn.project(qk_in, 0), self.self_attn.project(qk_in, 1), self.self_attn.project(x, 2)
        if cache is not None:
            if cache.keys[index] is not None:
                k = torch.cat([cache.keys[index], k], dim=2)
                v = torch.cat([cache.values[index], v], dim=2)
            cache.keys[index], cache.values[index] = k, v
        tgt = tgt + self.dropout1(self.self_attn.attend(q, k, v, causal=causal))
        if not self.pre_norm:
            tgt = self.norm1(tgt)

        x = self.norm2(tgt) if self.pre_norm else tgt
        q = self.multihead_attn.project(x + query_pos, 0)
        if attention is not None:
            attention.append(self.multihead_attn.weights(q, cross_kv[0]))
        tgt = tgt + self.dropout2(self.multihead_attn.attend(q, *cross_kv))
        if not self.pre_norm:
            tgt = self.norm2(tgt)

        x = self.norm3(tgt) if self.pre_norm else tgt
        tgt = tgt + self.dropout3(self.linear2(self.dropout(F.relu(self.linear1(x)))))
        return tgt if self.pre_norm else self.norm3(tgt)


class DecoderStack(nn.Module):
    """The layers plus the final LayerNorm (``decoder.body.*``)."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.hidden_dim, eps=config.norm_eps)


class TokenEmbedding(nn.Module):
    """``LayerNorm(word_embedding(token))`` + dropout; position rows live here but are used in the layers.

    With ``num_queries > 0`` (bidirectional decoding, paper Tab. 4 #2) it also holds ``query_embeddings``,
    learned input tokens that go through the same LayerNorm as words. Absent otherwise, so the default
    state dict is the official one.
    """

    def __init__(
        self, vocab_size: int, max_positions: int, dim: int, dropout: float, eps: float, num_queries: int = 0
    ) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, dim)
        self.position_embeddings = nn.Embedding(max_positions, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)  # official parameter name
        self.dropout = nn.Dropout(dropout)
        self.query_embeddings = nn.Embedding(num_queries, dim) if num_queries else None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` int64 → ``(B, L, d)``."""
        return self.dropout(self.LayerNorm(self.word_embeddings(tokens)))

    def queries(self, batch: int) -> torch.Tensor:
        """The learned query tokens for ``batch`` samples: ``(B, num_queries, d)``."""
        if self.query_embeddings is None:
            raise ValueError("this decoder has no query tokens (decoding 'autoregressive')")
        rows = self.LayerNorm(self.query_embeddings.weight).unsqueeze(0)
        return self.dropout(rows.expand(batch, -1, -1))


class SeqTrackDecoder(nn.Module):
    """Embedding + decoder stack. `forward` is the teacher-forced pass; `start`/`step` decode incrementally."""

    def __init__(self, config: DecoderConfig, vocab_size: int, max_positions: int = 5, num_queries: int = 0) -> None:
        super().__init__()
        self.embedding = TokenEmbedding(
            vocab_size, max_positions, config.hidden_dim, config.dropout, config.norm_eps, num_queries
        )
        self.body = DecoderStack(config)
        for p in self.parameters():  # official init: xavier on every matrix of the decoder
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(
        self,
        tokens: torch.Tensor | None,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        causal: bool = True,
        queries: bool = False,
        attention: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Teacher-forced decoding, causally masked by default.

        Args:
            tokens: ``(B, L)`` int64 input sequence (the official one starts with START; with temporal
                history, the ``4 K`` history tokens come first); None (no tokens) when ``queries``.
            memory: ``(B, N, d)`` encoder features after the bottleneck.
            memory_pos: ``(1, N, d)`` memory position table.
            causal: mask later positions from earlier ones (False for bidirectional decoding).
            queries: append the learned query tokens after ``tokens`` (bidirectional decoding).
            attention: when given, the *last* layer's cross-attention weights ``(B, L', N)`` averaged over
                heads are appended to it (``L'`` = all input positions).
        Returns:
            ``(B, L', d)`` final-normed states, ``L' = L`` (+ the number of queries).
        """
        x = None if tokens is None else self.embedding(tokens)
        if queries:
            extra = self.embedding.queries(memory.shape[0])
            x = extra if x is None else torch.cat([x, extra], dim=1)
        query_pos = self.embedding.position_embeddings.weight[: x.shape[1]].unsqueeze(0)
        last = len(self.body.layers) - 1
        for index, layer in enumerate(self.body.layers):
            maps = attention if index == last else None
            x = layer(x, query_pos, layer.memory_kv(memory, memory_pos), causal=causal, attention=maps)
        return self.body.norm(x)

    def start(self, memory: torch.Tensor, memory_pos: torch.Tensor) -> DecoderCache:
        """A fresh cache for one frame: memory keys/values of every layer, computed once."""
        n = len(self.body.layers)
        return DecoderCache(
            cross=[layer.memory_kv(memory, memory_pos) for layer in self.body.layers],
            keys=[None] * n,
            values=[None] * n,
        )

    def step(
        self,
        tokens: torch.Tensor,
        cache: DecoderCache,
        causal: bool = False,
        attention: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Decode new token(s) given the cache; equal to the uncached pass at those positions.

        Traceable (`seqtrack.runtime.onnxruntime` exports the greedy loop that calls it): every Python
        value it branches or slices on is a bool or an int, never a shape, which tracing turns into a tensor.

        Args:
            tokens: ``(B, 1)`` int64, the token at position ``cache.length``; with ``causal``, ``(B, l)``
                tokens that fill an empty cache (positions ``0 .. l - 1``, masked causally).
            cache: from `start`; extended in place.
            causal: a multi-token prefill (see ``tokens``) rather than one new token.
            attention: when given, the last layer's cross-attention weights of these positions,
                ``(B, 1, N)`` (``(B, l, N)`` with ``causal``) averaged over heads, are appended to it.
        Returns:
            ``(B, 1, d)`` (``(B, l, d)`` with ``causal``) final-normed states of those positions.
        """
        if causal and cache.length > 0:
            raise ValueError("several tokens at once can only start an empty cache (causal prefill)")
        # Checked in eager mode only: a traced shape is a tensor, and the traced loop passes one token.
        if not causal and not torch.jit.is_tracing() and tokens.shape[1] != 1:
            raise ValueError(f"a step after the prefill decodes one token, got {tokens.shape[1]} (use causal=True)")
        count = tokens.shape[1] if causal else 1
        x = self.embedding(tokens)
        positions = self.embedding.position_embeddings.weight[cache.length : cache.length + count].unsqueeze(0)
        last = len(self.body.layers) - 1
        for index, layer in enumerate(self.body.layers):
            maps = attention if index == last else None
            x = layer(x, positions, cache.cross[index], cache=cache, index=index, causal=causal, attention=maps)
        cache.length += count
        return self.body.norm(x)
