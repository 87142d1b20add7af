"""Plain ViT encoder that attends jointly over the search image and the templates (docs/official-behaviour.md §1.2).

Token order is ``[search, template_1, ..., template_T]``. One position table of ``Nx + Nz`` rows is
shared: rows ``[0, Nx)`` go to the search patches, rows ``[Nx, Nx + Nz)`` to *every* template (the
official model has no per-template or token-type embedding).

With ``separate=True`` (paper Tab. 4 #3, Siamese encoding) the same blocks run on the search crop alone and
on each template alone, with the same position rows, and the outputs keep the joint layout.

Parameter names follow the official checkpoints (``pos_embed``, ``patch_embed.proj``,
``blocks.{i}.attn.qkv`` ...), so official state dicts load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from seqtrack.config import EncoderConfig


class PatchEmbed(nn.Module):
    """Non-overlapping patches → tokens: ``(B, 3, H, W)`` → ``(B, H/p * W/p, D)`` (row-major)."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(images).flatten(2).transpose(1, 2)


class ConvStem(nn.Module):
    """Early-convolution patch embedding: ``(B, 3, H, W)`` → ``(B, H/16 * W/16, D)`` (row-major).

    Four 3x3 stride-2 convolutions (BatchNorm + ReLU; widths D/8, D/4, D/2, D) then a 1x1 projection,
    after Xiao et al., "Early convolutions help transformers see better" (2021). The overlapping
    receptive fields are what let a small ViT learn to localise from scratch in CPU-hours; the last
    layer keeps the name ``proj`` so the file is still recognised as a SeqTrack checkpoint.
    """

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        widths = [3, embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Conv2d(embed_dim, embed_dim, kernel_size=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(self.stem(images)).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection and SDPA."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape  # x: (B, N, D)
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, head_dim)
        out = F.scaled_dot_product_attention(q, k, v)  # scale = head_dim ** -0.5, as officially
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


class Mlp(nn.Module):
    """Linear → exact (erf) GELU → Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)


class Block(nn.Module):
    """Pre-norm transformer block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, config: EncoderConfig, drop_path: float = 0.0) -> None:
        super().__init__()
        dim = config.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=config.norm_eps)
        self.attn = Attention(dim, config.num_heads, config.qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=config.norm_eps)
        self.mlp = Mlp(dim, int(dim * config.mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class VisionTransformer(nn.Module):
    """The joint template/search ViT (no cls token, no classifier head, final LayerNorm on all tokens).

    Args:
        config: encoder sizes.
        search_size, template_size: input sides in pixels (multiples of the patch size).
        separate: encode the search crop and each template on their own (no attention between them).
    """

    def __init__(self, config: EncoderConfig, search_size: int, template_size: int, separate: bool = False) -> None:
        super().__init__()
        self.separate = separate
        self.num_search_tokens = (search_size // config.patch_size) ** 2
        self.num_template_tokens = (template_size // config.patch_size) ** 2
        dim = config.embed_dim
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_search_tokens + self.num_template_tokens, dim))
        self.patch_embed = ConvStem(dim) if config.stem == "conv" else PatchEmbed(config.patch_size, dim)
        rates = [config.drop_path * i / max(config.depth - 1, 1) for i in range(config.depth)]
        self.blocks = nn.ModuleList(Block(config, rate) for rate in rates)
        self.norm = nn.LayerNorm(dim, eps=config.norm_eps)
        self.grad_checkpointing = False

    def forward(self, templates: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Encode templates and search jointly.

        Args:
            templates: ``(B, T, 3, Ht, Wt)`` normalised template crops.
            search: ``(B, 3, Hs, Ws)`` normalised search crop.
        Returns:
            ``(B, Nx + T * Nz, D)`` tokens: search first, then each template, after the final norm (the
            same layout when ``separate``).
        """
        batch, num_templates = templates.shape[:2]
        nx = self.num_search_tokens
        # One patch-embed call for all images; templates share the template rows of the table.
        z = self.patch_embed(templates.flatten(0, 1)) + self.pos_embed[:, nx:]  # (B*T, Nz, D)
        x = self.patch_embed(search) + self.pos_embed[:, :nx]  # (B, Nx, D)
        if self.separate:
            # Images never attend to each other: each template is its own batch item.
            z = self._blocks(z)
            return self.norm(torch.cat([self._blocks(x), z.reshape(batch, num_templates * z.shape[1], -1)], dim=1))
        tokens = torch.cat([x, z.reshape(batch, num_templates * z.shape[1], -1)], dim=1)
        return self.norm(self._blocks(tokens))

    def _blocks(self, tokens: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            if self.grad_checkpointing and self.training:
                tokens = checkpoint(block, tokens, use_reentrant=False)
            else:
                tokens = block(tokens)
        return tokens


class Encoder(nn.Module):
    """Holds the ViT as ``body`` so parameter names match the official ``encoder.body.*``."""

    def __init__(self, config: EncoderConfig, search_size: int, template_size: int, separate: bool = False) -> None:
        super().__init__()
        self.body = VisionTransformer(config, search_size, template_size, separate)

    def forward(self, templates: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """``(B, T, 3, H, W)``, ``(B, 3, H, W)`` → ``(B, Nx + T*Nz, D)``; see `VisionTransformer`."""
        return self.body(templates, search)
