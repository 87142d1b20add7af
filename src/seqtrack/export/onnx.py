"""ONNX export: write the read-out graph of `seqtrack.runtime.onnxruntime` and check it against PyTorch.

`export_onnx` writes the file (optionally int8-quantised) through `write_onnx`, runs it under ONNX
Runtime on seeded random inputs, window on and off, compares with the eager model
(`validate_onnx`), and only then moves it to its target name. The graph contract and the predictor
that runs it live in the runtime (`OnnxPredictor`); ``onnx`` and ``onnxruntime`` are imported only
when used.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqtrack.io.files import atomic_path, os_error_text
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.runtime.onnxruntime import (
    OnnxError,
    OnnxPredictor,
    example_history,
    example_inputs,
    float32_copy,
    quantize_int8,
    require,
    write_onnx,
)

PROB_TOLERANCE = 1e-5  # validation: |probs_onnx - probs_torch| (the golden tolerance for confidences)


class ExportError(OnnxError):
    """An export failed: bad options or output folder, or ONNX Runtime disagrees with PyTorch."""


@dataclass
class ValidationResult:
    """ONNX Runtime against the eager PyTorch model on the same inputs, for one window setting.

    ``token_agreement`` is the share of the ``B x 4`` tokens that are equal; ``max_prob_diff`` the largest
    absolute difference of the chosen probabilities (meaningful where tokens agree).
    """

    window: bool
    batch: int
    token_agreement: float
    max_prob_diff: float

    @property
    def exact(self) -> bool:
        """Tokens identical and probabilities within `PROB_TOLERANCE`."""
        return self.token_agreement == 1.0 and self.max_prob_diff <= PROB_TOLERANCE


@dataclass
class ExportResult:
    """What `export_onnx` wrote and how it compared with PyTorch."""

    path: Path
    precision: str  # "fp32" or "int8"
    size_bytes: int
    validation: list[ValidationResult]

    def summary(self) -> str:
        checks = ", ".join(
            f"window {'on' if v.window else 'off'}: tokens {v.token_agreement:.0%} equal, "
            f"max |dprob| {v.max_prob_diff:.1e}"
            for v in self.validation
        )
        return f"{self.path} ({self.precision}, {self.size_bytes / 2**20:.1f} MiB){'; ' + checks if checks else ''}"


def export_onnx(
    model: SeqTrack,
    path: str | Path,
    batch: int = 1,
    opset: int = 17,
    dynamic_batch: bool = True,
    quantize: str | None = None,
    validate: bool = True,
    strict: bool = True,
    threads: int | None = None,
) -> ExportResult:
    """Export ``model`` (float32, CPU) as one ONNX graph and check it against PyTorch.

    Args:
        model: a `SeqTrack`; it is traced on a float32 CPU copy, the caller's model is left untouched.
        path: output ``.onnx`` file (written atomically: a temporary file, then a rename; a failure, a full
            disk included, is one `ExportError` or `InputError` and leaves no file behind).
        batch: batch used for tracing and validation; with ``dynamic_batch=False`` the only batch accepted.
        opset: ONNX opset (17 has LayerNormalization; lower ones decompose it).
        dynamic_batch: make ``B`` a dynamic axis (one session serves 1..N targets).
        quantize: ``None`` or ``"int8"`` (dynamic int8 encoder MatMuls, see `quantize_int8`).
        validate: run ONNX Runtime on seeded random inputs, window on and off, and compare.
        strict: with ``validate``, raise `ExportError` when an fp32 export is not exact (tokens equal,
            probabilities within 1e-5). int8 exports are never exact; their agreement is only reported.
        threads: ONNX Runtime threads for the validation session.
    Returns:
        An `ExportResult` (path, size, validation numbers).
    """
    require("onnx")
    if quantize not in (None, "int8"):
        raise ExportError(f"unknown quantisation {quantize!r}; supported: int8")
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ExportError(f"output folder does not exist: {path.parent}")
    # The graph must be fp32 whatever the caller's model is, and neither tracing nor validation may touch
    # the caller's module: both run on this copy.
    source = float32_copy(model)
    precision = "int8" if quantize else "fp32"
    try:
        # The work files lie beside the target (one file system: the final move is a rename), hidden and
        # named after it; the folder goes whatever happens.
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as work:
            final = write_onnx(source, Path(work) / "model.onnx", batch=batch, opset=opset, dynamic_batch=dynamic_batch)
            if quantize == "int8":
                final = quantize_int8(final, Path(work) / "model.int8.onnx")
            # Checked before it takes the target name: a failed check leaves no file behind.
            checks = validate_onnx(source, final, batch=batch, threads=threads) if validate else []
            _refuse_disagreement(path, checks, strict and precision == "fp32")
            with atomic_path(path, "the ONNX file") as temp:  # fsync'ed, then renamed over ``path``
                os.replace(final, temp)
    except OSError as error:  # a full disk while tracing or quantising, a folder that became read-only
        raise ExportError(f"could not write {path}: {os_error_text(error)}; file not written") from None
    return ExportResult(path=path, precision=precision, size_bytes=path.stat().st_size, validation=checks)


def _refuse_disagreement(path: Path, checks: list[ValidationResult], strict: bool) -> None:
    """With ``strict``, raise `ExportError` for the first check that is not exact."""
    bad = [c for c in checks if not c.exact]
    if strict and bad:
        c = bad[0]
        raise ExportError(
            f"{path}: ONNX Runtime disagrees with PyTorch (window {'on' if c.window else 'off'}: "
            f"{c.token_agreement:.0%} tokens equal, max |dprob| {c.max_prob_diff:.2e}); "
            "file not written"
        )


def validate_onnx(
    model: SeqTrack, path: str | Path, batch: int = 1, seed: int = 0, threads: int | None = None
) -> list[ValidationResult]:
    """Compare a written file with the eager model on seeded random inputs, window on and off (and, for a
    temporal model, seeded random history tokens ``(B, 4K)``: the same for both).

    ``model`` must be a float32 CPU model (the inputs are built there) and is put in eval mode.
    """
    predictor = OnnxPredictor(path, threads=threads)
    model = model.eval()
    templates, search = example_inputs(model.config, batch, seed)
    # Only a temporal model is given a history: the default model's call stays what it always was.
    extra = {} if model.config.temporal_frames == 0 else {"history": example_history(model.config, batch, seed)}
    results = []
    for window in (True, False):
        ref_tokens, ref_probs = model.generate(templates, search, window=window, **extra)
        tokens, probs = predictor.generate(templates, search, window=window, **extra)
        same = tokens == ref_tokens
        diff = (probs - ref_probs).abs()[same]
        results.append(
            ValidationResult(
                window=window,
                batch=batch,
                token_agreement=float(same.double().mean()),
                max_prob_diff=float(diff.max()) if diff.numel() else float("nan"),
            )
        )
    return results


__all__ = ["export_onnx", "validate_onnx", "ExportError", "ExportResult", "ValidationResult", "PROB_TOLERANCE"]
