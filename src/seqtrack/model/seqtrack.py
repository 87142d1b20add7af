"""SeqTrack: ViT encoder → bottleneck → causal decoder → vocabulary head (docs/official-behaviour.md §1).

Two entry points:
    * ``model(templates, search, sequence) -> logits`` — teacher forcing, for training;
    * ``model.generate(templates, search, window=True) -> (tokens, probs)`` — greedy box read-out.

The paper's ablations are `ModelConfig` fields (defaults = the official network, bit for bit):
``decoding="bidirectional"`` (Tab. 4 #2), ``encoding="separate"`` (Tab. 4 #3), ``temporal_frames`` K
(Tab. 5: ``history (B, 4K)`` tokens before START). ``return_attention=True`` adds the last decoder layer's
cross-attention maps (Fig. 7).

Submodule and parameter names equal the official checkpoint keys (``pos_embed``, ``encoder.body.*``,
``bottleneck.*``, ``decoder.*``, ``vocab_embed.layers.*``), in the official order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqtrack.config import ModelConfig
from seqtrack.geometry.tokens import start_token, window_steps
from seqtrack.geometry.window import hann_window
from seqtrack.model.decoder import SeqTrackDecoder
from seqtrack.model.vit import Encoder

NUM_COORDINATES = 4


def sinusoid_table(length: int, dim: int) -> torch.Tensor:
    """``(1, length, dim)`` float32 1-D sinusoid table, sin on even channels and cos on odd ones,
    angle ``p / 10000 ** (2 * (j // 2) / dim)`` (the initial value of the decoder memory positions)."""
    position = np.arange(length, dtype=np.float64)[:, None]
    channel = np.arange(dim)[None, :]
    angle = position / np.power(10000.0, 2 * (channel // 2) / dim)
    table = np.where(channel % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.from_numpy(table).float().unsqueeze(0)


class VocabHead(nn.Module):
    """3-layer MLP ``d → d → d → vocab`` with ReLU between (``vocab_embed.layers.{0,1,2}``)."""

    def __init__(self, dim: int, vocab_size: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, vocab_size)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def stack_templates(templates: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Templates as ``(B, T, 3, H, W)``: accepts that tensor, a ``(B, 3, H, W)`` tensor (T = 1) or a
    list of T ``(B, 3, H, W)`` tensors."""
    if isinstance(templates, torch.Tensor):
        if templates.dim() == 4:
            return templates.unsqueeze(1)
        if templates.dim() == 5:
            return templates
        raise ValueError(f"templates must be (B, T, 3, H, W) or (B, 3, H, W), got {tuple(templates.shape)}")
    return torch.stack(list(templates), dim=1)


class SeqTrack(nn.Module):
    """The SeqTrack network for one `ModelConfig` (see `seqtrack.config.MODEL_PRESETS`)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.decoder.hidden_dim
        # Registration order = official state-dict order.
        self.pos_embed = nn.Parameter(sinusoid_table(config.num_memory_tokens, hidden))
        self.encoder = Encoder(
            config.encoder, config.search_size, config.template_size, separate=config.encoding == "separate"
        )
        self.bottleneck = nn.Linear(config.encoder.embed_dim, hidden)
        self.decoder = SeqTrackDecoder(
            config.decoder,
            config.vocab_size,
            max_positions=config.num_decoder_positions,
            num_queries=NUM_COORDINATES if config.decoding == "bidirectional" else 0,
        )
        self.vocab_embed = VocabHead(hidden, config.vocab_size)
        # Training-only auxiliary (ModelConfig.center_head); Identity keeps the official state dict.
        self.center_head = nn.Linear(config.encoder.embed_dim, 1) if config.center_head else nn.Identity()
        self._init_encoder()
        self._windows: dict[tuple[torch.device, float], torch.Tensor] = {}

    def _init_encoder(self) -> None:
        body = self.encoder.body
        nn.init.trunc_normal_(body.pos_embed, std=0.02)
        for module in body.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    # ------------------------------------------------------------------ predictor contract
    @property
    def device(self) -> torch.device:
        """Device of the parameters: where the tracker builds its crops (`seqtrack.runtime.BoxPredictor`)."""
        return self.pos_embed.device

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the parameters: the dtype of the crops the model expects."""
        return self.pos_embed.dtype

    # ------------------------------------------------------------------ encoder side
    def forward_encoder(self, templates, search: torch.Tensor) -> torch.Tensor:
        """Raw encoder tokens.

        Args:
            templates: ``(B, T, 3, H, W)`` (or a list of T ``(B, 3, H, W)``), normalised crops.
            search: ``(B, 3, S, S)`` normalised search crop.
        Returns:
            ``(B, Nx + T * Nz, C_enc)``: search tokens, then the templates'.
        """
        return self.encoder(stack_templates(templates), search)

    def encode(self, templates, search: torch.Tensor) -> torch.Tensor:
        """Decoder memory ``(B, N_mem, d)``: the tokens chosen by ``feature_type``, through the bottleneck."""
        return self._memory(self.forward_encoder(templates, search))

    def _memory(self, tokens: torch.Tensor) -> torch.Tensor:
        kind = self.config.feature_type
        if kind == "x":
            tokens = tokens[:, : self.config.num_search_tokens]
        elif kind == "token":
            tokens = tokens.mean(dim=1, keepdim=True)
        return self.bottleneck(tokens)

    # ------------------------------------------------------------------ decoder side
    def forward(
        self,
        templates,
        search: torch.Tensor,
        sequence: torch.Tensor | None,
        return_center: bool = False,
        history: torch.Tensor | None = None,
    ):
        """Teacher-forced logits.

        Args:
            templates: ``(B, T, 3, H, W)`` or list; search: ``(B, 3, S, S)``.
            sequence: ``(B, L)`` int64 decoder input, ``[START, t1, ...]``, ``L <= 5``. Bidirectional
                decoding reads no input tokens: ``sequence`` may then be anything (or None).
            return_center: also return the auxiliary centre scores (needs ``config.center_head``).
            history: ``(B, 4K)`` int64 tokens of the K previous boxes (`seqtrack.geometry.tokens.history_tokens`),
                required iff ``config.temporal_frames = K > 0``.
        Returns:
            ``(B, L, bins + 2)`` logits (before softmax); position i predicts token i + 1 (history positions
            are not returned). Bidirectional: ``(B, 4, bins + 2)``, position i predicting coordinate i. So
            the loss takes ``targets[:, :logits.shape[1]]``. With ``return_center``: ``(logits, center)``,
            ``center (B, Nx)`` one score per search token (row-major over the ``S/p x S/p`` grid).
        """
        tokens = self.forward_encoder(templates, search)
        logits = self.decode(self._memory(tokens), sequence, history)
        if not return_center:
            return logits
        if not self.config.center_head:
            raise ValueError("return_center needs a model built with center_head=True")
        return logits, self.center_head(tokens[:, : self.config.num_search_tokens]).squeeze(-1)

    def decode(
        self,
        memory: torch.Tensor,
        sequence: torch.Tensor | None,
        history: torch.Tensor | None = None,
        attention: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits ``(B, L, bins + 2)`` (bidirectional: ``(B, 4, bins + 2)``) from a memory
        ``(B, N_mem, d)``; ``sequence`` and ``history`` as in `forward`. ``attention``: when given, the last
        layer's cross-attention weights ``(B, 4K + L, N_mem)`` (all input positions) are appended to it."""
        memory_pos = self.pos_embed[:, : memory.shape[1]]
        history = self._check_history(history, memory)
        if self.config.decoding == "bidirectional":
            states = self.decoder(history, memory, memory_pos, causal=False, queries=True, attention=attention)
            return self.vocab_embed(states[:, -NUM_COORDINATES:])
        if history is None:
            return self.vocab_embed(self.decoder(sequence, memory, memory_pos, attention=attention))
        # One causal pass over [history, START, ...]: every history token is visible to every later token.
        states = self.decoder(torch.cat([history, sequence], dim=1), memory, memory_pos, attention=attention)
        return self.vocab_embed(states[:, NUM_COORDINATES * self.config.temporal_frames :])

    def _check_history(self, history: torch.Tensor | None, memory: torch.Tensor) -> torch.Tensor | None:
        """``history`` as int64 on the memory's device, or None without temporal tokens; ValueError when it
        is missing, unexpected or mis-shaped."""
        width = NUM_COORDINATES * self.config.temporal_frames
        if width == 0:
            if history is not None and not torch.jit.is_tracing() and history.numel() > 0:
                raise ValueError("history given, but this model has no temporal tokens (temporal_frames 0)")
            return None
        if history is None:
            raise ValueError(f"this model needs history: (B, {width}) tokens of its {width // 4} previous boxes")
        # Checked in eager mode only: a traced shape is a tensor.
        if not torch.jit.is_tracing() and tuple(history.shape) != (memory.shape[0], width):
            raise ValueError(f"history must be (B, {width}) = ({memory.shape[0]}, {width}), got {tuple(history.shape)}")
        return history.to(device=memory.device, dtype=torch.long)

    def hann_window(self, device: torch.device, power: float = 1.0) -> torch.Tensor:
        """``np.hanning(bins) ** power`` as a float64 tensor on ``device``, cached (kept off the state dict
        on purpose: a dtype change of the model must not round it)."""
        key = (device, power)
        window = self._windows.get(key)
        if window is None:
            window = torch.from_numpy(hann_window(self.config.bins, power)).to(device)
            self._windows[key] = window
        return window

    @torch.inference_mode()
    def generate(
        self,
        templates,
        search: torch.Tensor,
        window: bool | float = True,
        history: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """Greedy read-out of the four box tokens, with a KV cache.

        Each step: softmax over all ``bins + 2`` logits (float32), keep the ``bins`` coordinate entries,
        multiply the two centre steps of the sequence format by the Hann window when ``window`` is on
        (float64, as officially), take the arg-max. END is never generated. Bidirectional decoding reads
        all four steps from one pass.

        Args:
            templates: ``(B, T, 3, H, W)`` or list; search: ``(B, 3, S, S)``; normalised crops.
            window: True / False (official), or a power ``p > 0`` of the Hann window (``True`` = 1): a
                larger ``p`` trusts the previous position more (our option, `TrackerConfig.window_power`).
            history: ``(B, 4K)`` int64 tokens of the K previous boxes, oldest first, normalised to this
                search crop (`seqtrack.geometry.tokens.history_tokens`); required iff ``temporal_frames > 0``.
            return_attention: also return the cross-attention maps (paper Fig. 7).
        Returns:
            ``tokens (B, 4)`` int64 in the order of ``config.seq_format`` (``(cx, cy, w, h)`` by default),
            ``probs (B, 4)`` float64: the chosen tokens' (windowed) probabilities; with ``return_attention``
            also ``attention (B, 4, N_mem)`` float32: the last decoder layer's cross-attention weights
            (softmax over the memory tokens, averaged over heads) of the step that generated each token.
        """
        memory = self.encode(templates, search)
        return self.generate_from_memory(memory, window=window, history=history, return_attention=return_attention)

    def generate_from_memory(
        self,
        memory: torch.Tensor,
        window: bool | float = True,
        prior: torch.Tensor | None = None,
        history: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """`generate` after the encoder: ``memory (B, N_mem, d)`` → ``(tokens (B, 4), probs (B, 4))``
        (plus ``attention (B, 4, N_mem)`` with ``return_attention``).

        Traceable: this loop, run on ``encode``'s output, is the exported ONNX graph
        (`seqtrack.runtime.onnxruntime.ReadoutGraph`), which passes its window switch as ``prior``.

        Args:
            memory: ``(B, N_mem, d)`` decoder memory from `encode`.
            window: as in `generate`; ignored when ``prior`` is given.
            prior: ``(bins,)`` float64 values multiplied into the centre steps' probabilities instead of
                the Hann window, e.g. ``where(switch, hann, 1)`` for a window chosen by a tensor
                (multiplying by 1.0 is exact, so that equals ``window=False``).
            history, return_attention: as in `generate`.
        """
        if prior is None:
            power = float(window)
            if power < 0:
                raise ValueError(f"window power must be >= 0 (0 = no window), got {window}")
            prior = self.hann_window(memory.device, power) if power > 0 else None
        centre_steps = window_steps(self.config.seq_format) if prior is not None else ()
        maps: list[torch.Tensor] | None = [] if return_attention else None
        if self.config.decoding == "bidirectional":
            logits = self.decode(memory, None, history, attention=maps)
            picked = [self._pick(logits[:, step], step, centre_steps, prior) for step in range(NUM_COORDINATES)]
        else:
            picked = self._greedy(memory, history, centre_steps, prior, maps)
        tokens = torch.stack([index for index, _ in picked], dim=1)
        probs = torch.stack([value for _, value in picked], dim=1)
        if maps is None:
            return tokens, probs
        if self.config.decoding == "bidirectional":
            attention = maps[0][:, -NUM_COORDINATES:]
        else:  # the last row of each step is the position that produced that step's token
            attention = torch.cat([step_maps[:, -1:] for step_maps in maps], dim=1)
        return tokens, probs, attention.float()

    def _greedy(
        self,
        memory: torch.Tensor,
        history: torch.Tensor | None,
        centre_steps: tuple[int, ...],
        prior: torch.Tensor | None,
        maps: list[torch.Tensor] | None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Autoregressive read-out with the KV cache: ``[(token (B,), prob (B,))]`` for the four steps."""
        history = self._check_history(history, memory)
        cache = self.decoder.start(memory, self.pos_embed[:, : memory.shape[1]])
        token = torch.full((memory.shape[0], 1), start_token(self.config.bins), dtype=torch.long, device=memory.device)
        # With history the first step is a causal prefill of [history, START] into the empty cache.
        prefill = history is not None
        if prefill:
            token = torch.cat([history, token], dim=1)
        picked = []
        for step in range(NUM_COORDINATES):
            state = self.decoder.step(token, cache, causal=prefill, attention=maps)[:, -1]  # (B, d)
            index, value = self._pick(self.vocab_embed(state), step, centre_steps, prior)
            picked.append((index, value))
            token, prefill = index.unsqueeze(1), False
        return picked

    def _pick(
        self, logits: torch.Tensor, step: int, centre_steps: tuple[int, ...], prior: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step's choice from ``logits (B, bins + 2)``: ``(token (B,) int64, prob (B,) float64)``."""
        p = logits.float().softmax(dim=-1)[:, : self.config.bins]
        if step in centre_steps:
            p = p.double() * prior
        value, index = p.max(dim=-1)
        return index, value.double()
