"""The whole per-frame read-out as one ONNX Runtime session, without torch (`OnnxReadout`): the engine of
the ``onnx-fp32`` plan of ``--fast``, fed with numpy crops by the tracker (`generate_arrays`) or with
tensors by any other caller (`generate`, which imports torch).

The graph (`seqtrack.runtime.encoder_onnx.write_readout_onnx`, traced from the model's own code):

    inputs   templates (B, T, 3, H, W) float32, search (B, 3, S, S) float32, prior (bins,) float64
             [history (B, 4K) int64, temporal models only]
    outputs  tokens (B, 4) int64, probs (B, 4) float64

``prior`` is the Hann window to the tracker's power (``np.hanning(bins) ** p``, ones for no window:
multiplying by 1.0 is exact), so one graph serves every window setting. numpy's ``pow`` may differ from
torch's in the last bit for powers other than 1 (a relative 1e-16 on a float64 prior, far below the fp32
network's own differences); the torch ONNX path and the torch-free path use this same class, so they agree
exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqtrack.config import ModelConfig
from seqtrack.geometry.window import hann_window

READOUT_INPUTS = ("templates", "search", "prior")  # + "history" for a temporal model
READOUT_OUTPUTS = ("tokens", "probs")


def cpu_session(
    path: str | Path,
    threads: int | None = None,
    spinning: bool = False,
    optimize: bool = True,
    save_optimized: str | Path | None = None,
):
    """An ONNX Runtime CPU session of ``path``: sequential execution, ``threads`` intra-op threads (None: one
    per physical core), idle pool threads sleeping unless ``spinning`` (spinning ones take the core from the
    rest of the tracker, or from other processes, between calls).

    Args:
        optimize: all of ONNX Runtime's graph optimisations (False: none, for a graph saved already optimised).
        save_optimized: also write the optimised graph there (`optimize_graph`).
    Raises:
        OnnxError: onnxruntime missing, or a file it cannot load.
    """
    from seqtrack.runtime.onnx_errors import OnnxError, require

    ort = require("onnxruntime")
    options = ort.SessionOptions()
    level = ort.GraphOptimizationLevel
    options.graph_optimization_level = level.ORT_ENABLE_ALL if optimize else level.ORT_DISABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = int(threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if save_optimized is not None:
        options.optimized_model_filepath = str(save_optimized)
        options.log_severity_level = 3  # its "hardware-specific graph" notice: the cache key holds the CPU flags
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT raises its own Fail/InvalidGraph/... types
        raise OnnxError(f"{path} could not be loaded by ONNX Runtime: {error}") from None


def optimize_graph(source: str | Path, target: str | Path) -> None:
    """Write ``source`` after all of ONNX Runtime's graph optimisations (fusions, this CPU's blocked layouts)
    to ``target``: loading that with ``optimize=False`` takes a third of the time (0.1 s against 0.3-0.4 s
    for the demo model) and runs the same kernels, so the graph cache keeps it, keyed by the CPU's flags."""
    cpu_session(source, threads=1, save_optimized=target)


def _f32(array: Any) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


class OnnxReadout:
    """A `BoxPredictor` (and a torch-free array predictor) running a read-out graph with a window prior.

    Args:
        config: the network's `ModelConfig` (or anything with a ``config`` attribute, e.g. the `SeqTrack`
            the graph was traced from).
        path: the graph (`write_readout_onnx`); the session holds it in memory, the file may go afterwards.
        threads: intra-op threads (None: ONNX Runtime's choice).
        optimized: ``path`` was written by `optimize_graph` (loaded without optimising it again).
    Attributes:
        config, path, session; plan: the `seqtrack.runtime.fast_plan.FastPlan` it serves (set by its maker);
        device / dtype: ``cpu`` / ``float32`` as torch objects (imported on first use).
    Raises:
        OnnxError: a graph that cannot be loaded or whose inputs are not those above.
    """

    def __init__(
        self, config: ModelConfig | Any, path: str | Path, threads: int | None = None, optimized: bool = False
    ) -> None:
        from seqtrack.runtime.onnx_errors import OnnxError

        self.config: ModelConfig = getattr(config, "config", config)
        self.path = Path(path)
        self.session = cpu_session(self.path, threads, optimize=not optimized)
        self.plan = None
        wanted = list(READOUT_INPUTS) + (["history"] if self.config.temporal_frames else [])
        names = [i.name for i in self.session.get_inputs()]
        if names != wanted:
            raise OnnxError(f"{self.path}: read-out graph inputs {names}, expected {wanted}")
        self._priors: dict[float, np.ndarray] = {}

    @property
    def device(self):
        """``torch.device("cpu")`` (imports torch: torch callers only)."""
        import torch

        return torch.device("cpu")

    @property
    def dtype(self):
        """``torch.float32`` (imports torch: torch callers only)."""
        import torch

        return torch.float32

    def prior(self, window: bool | float) -> np.ndarray:
        """``(bins,)`` float64: ``np.hanning(bins) ** power`` (``power = float(window)``), ones for 0.

        Raises:
            ValueError: a negative power.
        """
        power = float(window)
        if power < 0:
            raise ValueError(f"window power must be >= 0 (0 = no window), got {window}")
        table = self._priors.get(power)
        if table is None:
            table = self._priors[power] = hann_window(self.config.bins, power)  # the torch model's table too
        return table

    def generate_arrays(
        self, templates: np.ndarray, search: np.ndarray, window: bool | float = True, history: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """numpy in, numpy out: ``templates (B, T, 3, H, W)``, ``search (B, 3, S, S)`` float32 normalised crops,
        ``history (B, 4K)`` int64 (temporal models) → ``tokens (B, 4)`` int64, ``probs (B, 4)`` float64.

        Raises:
            ValueError: a temporal model without history.
        """
        feeds = {"templates": _f32(templates), "search": _f32(search), "prior": self.prior(window)}
        if self.config.temporal_frames:
            if history is None:
                raise ValueError("history is required for a temporal model")
            feeds["history"] = np.ascontiguousarray(history, dtype=np.int64)
        tokens, probs = self.session.run(list(READOUT_OUTPUTS), feeds)
        return tokens, probs

    def generate(self, templates, search, window: bool | float = True, history=None):
        """`SeqTrack.generate`'s contract with torch tensors: ``templates (B, T, 3, H, W)`` (or a list of T
        ``(B, 3, H, W)``), ``search (B, 3, S, S)``, ``history (B, 4K)`` → ``tokens (B, 4)`` int64, ``probs (B, 4)``
        float64 CPU tensors."""
        import torch

        from seqtrack.model.seqtrack import stack_templates

        def array(tensor):
            return tensor.detach().to(device="cpu").numpy()

        extra = None if history is None else array(history)
        tokens, probs = self.generate_arrays(
            array(stack_templates(templates).float()), array(search.float()), window, extra
        )
        return torch.from_numpy(tokens), torch.from_numpy(probs)

    def __repr__(self) -> str:
        return f"OnnxReadout({self.config.name}, {self.path.name})"


__all__ = ["OnnxReadout", "cpu_session", "optimize_graph", "READOUT_INPUTS", "READOUT_OUTPUTS"]
