"""`GraphedPredictor`: the whole read-out replayed as CUDA graphs, one per input shape (issue 22 item 4).

On a large GPU one B256 frame is a few hundred small kernels (12 encoder blocks, the bottleneck, the
decoder's memory keys and values, four cached decoding steps, softmax, window and arg-max), and the host
spends longer launching them than the GPU spends running them (about 9 ms a frame measured on an H200, in
every precision). A CUDA graph records those launches once and replays them with one call.

What is captured is `SeqTrack.generate` itself, unchanged: the encoder, the bottleneck and the four greedy
steps with their growing KV cache. Within one graph every shape is fixed (the cache grows 1, 2, 3, 4 the same
way every frame), so one graph per input shape is enough: per number of targets ``B``, templates ``T``,
history width, window power and dtype. The kernels are the ones eager mode runs, so the tokens are those of
the eager model (the GPU check, ``benchmarks/gpu_speed.py``, compares them).

The inputs are copied into static buffers that the graph reads; the outputs are cloned after each replay,
because the next replay writes into the same memory. How a graph is recorded is a `GraphCapture`: the CUDA
one here, or in tests a stand-in that re-runs the function on replay, which checks the same contract
(the function reads only the static buffers; returned tensors outlive the next call) on a CPU.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from seqtrack.config import ModelConfig
from seqtrack.errors import InputError, SeqTrackError
from seqtrack.model.seqtrack import SeqTrack, stack_templates

Outputs = tuple[torch.Tensor, torch.Tensor]


class GraphCaptureError(SeqTrackError):
    """Recording the read-out as a CUDA graph failed (an operation that cannot be captured, out of GPU memory):
    one line naming the input shape, instead of a traceback from inside the capture."""


class GraphCapture(Protocol):
    """Records ``function`` once; returns its output tensors and a ``replay()`` that refreshes them in place."""

    def __call__(self, function: Callable[[], Outputs]) -> tuple[Outputs, Callable[[], None]]: ...


class CudaGraphCapture:
    """`GraphCapture` with ``torch.cuda.CUDAGraph``: warm-up runs on a side stream (they fill lazy caches,
    such as the Hann window on the device and cuBLAS workspaces, which must not be created during capture),
    then one capture. Each graph keeps its own memory pool: graphs of different batch sizes are replayed in
    any order, which a shared pool would not allow.

    Args:
        device: the CUDA device of the model.
        warmup: eager runs before the capture (PyTorch's documentation uses 3).
    """

    def __init__(self, device: torch.device, warmup: int = 3) -> None:
        if device.type != "cuda":
            raise InputError(f"CUDA graphs need a CUDA device, got {device}")
        self.device, self.warmup = device, warmup

    def __call__(self, function: Callable[[], Outputs]) -> tuple[Outputs, Callable[[], None]]:
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                function()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = function()
        return outputs, graph.replay


class RerunCapture:
    """`GraphCapture` without a GPU: runs the function when recording, and again on every ``replay()``,
    writing the results into the tensors returned at recording time. Same contract as a CUDA graph (a
    function that read anything but its static buffers would give the recorded frame's answer again), so
    the tests and ``benchmarks/gpu_graphs.py --device cpu`` check the graph bookkeeping on a CPU.

    Attributes:
        recorded: how many functions were recorded.
    """

    def __init__(self) -> None:
        self.recorded = 0

    def __call__(self, function: Callable[[], Outputs]) -> tuple[Outputs, Callable[[], None]]:
        self.recorded += 1
        outputs = function()

        def replay() -> None:
            for target, value in zip(outputs, function(), strict=True):
                target.copy_(value)

        return outputs, replay


@dataclass
class _Recorded:
    """One captured shape: the buffers the graph reads, the tensors it writes, and how to replay it."""

    templates: torch.Tensor  # (B, T, 3, H, W)
    search: torch.Tensor  # (B, 3, S, S)
    history: torch.Tensor | None  # (B, 4K) int64
    outputs: Outputs  # tokens (B, 4) int64, probs (B, 4) float64
    replay: Callable[[], None]


class GraphedPredictor:
    """A `SeqTrack` whose `generate` replays a recorded graph per input shape (`BoxPredictor` contract).

    Args:
        model: the network, on a CUDA device, in the dtype to run (fp32, bf16 or fp16 weights).
        capture: how graphs are recorded (default `CudaGraphCapture` on the model's device).
        max_graphs: recorded shapes kept (least recently used dropped first): a tracker whose number of
            targets keeps changing must not grow GPU memory without bound.

    Attributes:
        model, config, device, dtype: as the tracker expects (crops are built on ``device`` in ``dtype``).
        captures: how many graphs were recorded so far (a new shape records one).
    """

    def __init__(self, model: SeqTrack, capture: GraphCapture | None = None, max_graphs: int = 8) -> None:
        if max_graphs < 1:
            raise InputError(f"max_graphs must be >= 1, got {max_graphs}")
        self.model = model.eval()
        self.config: ModelConfig = model.config
        self.device, self.dtype = model.device, model.dtype
        self._capture = capture if capture is not None else CudaGraphCapture(self.device)
        self._graphs: OrderedDict[tuple, _Recorded] = OrderedDict()
        self.max_graphs = max_graphs
        self.captures = 0

    @torch.inference_mode()
    def generate(
        self,
        templates,
        search: torch.Tensor,
        window: bool | float = True,
        history: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """Same contract as `SeqTrack.generate`: ``templates (B, T, 3, H, W)`` (or a list of T
        ``(B, 3, H, W)``), ``search (B, 3, S, S)`` on ``device`` → ``tokens (B, 4)`` int64, ``probs (B, 4)``
        float64 (fresh tensors). Attention maps (``return_attention``) come from the eager model: they are
        for looking at, not for speed."""
        if return_attention:
            return self.model.generate(templates, search, window=window, history=history, return_attention=True)
        templates = stack_templates(templates)
        power = float(window)
        if power < 0:
            raise ValueError(f"window power must be >= 0 (0 = no window), got {window}")
        if history is not None:
            history = history.to(device=self.device, dtype=torch.long)
        key = (
            tuple(templates.shape),
            tuple(search.shape),
            None if history is None else tuple(history.shape),
            power,
            templates.dtype,
        )
        recorded = self._graphs.get(key)
        if recorded is None:
            recorded = self._record(key, templates, search, history, power)
        else:
            self._graphs.move_to_end(key)
        recorded.templates.copy_(templates)
        recorded.search.copy_(search)
        if history is not None:
            recorded.history.copy_(history)
        recorded.replay()
        tokens, probs = recorded.outputs
        return tokens.clone(), probs.clone()

    def _record(self, key: tuple, templates, search, history, power: float) -> _Recorded:
        """Static buffers shaped like these inputs, and the graph of `SeqTrack.generate` reading them."""
        static_templates = torch.empty_like(templates, device=self.device)
        static_search = torch.empty_like(search, device=self.device)
        static_history = None if history is None else torch.empty_like(history)
        # Real values for the warm-up runs: the first replay overwrites them anyway.
        static_templates.copy_(templates)
        static_search.copy_(search)
        if static_history is not None:
            static_history.copy_(history)
        model = self.model

        def readout() -> Outputs:
            return model.generate(static_templates, static_search, window=power, history=static_history)

        try:
            outputs, replay = self._capture(readout)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise GraphCaptureError(
                f"recording the read-out as a CUDA graph failed for {templates.shape[0]} target(s) "
                f"(templates {tuple(templates.shape)}, search {tuple(search.shape)}, {templates.dtype}): {first}; "
                "run without --cuda-graphs / --fast on this GPU"
            ) from None
        recorded = _Recorded(static_templates, static_search, static_history, outputs, replay)
        self._graphs[key] = recorded
        self.captures += 1
        while len(self._graphs) > self.max_graphs:
            self._graphs.popitem(last=False)
        return recorded

    def __repr__(self) -> str:
        return f"GraphedPredictor({self.config.name}, {self.dtype}, {len(self._graphs)} graphs)"


__all__ = ["CudaGraphCapture", "GraphCapture", "GraphCaptureError", "GraphedPredictor", "RerunCapture"]
