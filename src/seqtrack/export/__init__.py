"""Deployment: ONNX export, ONNX Runtime / fast PyTorch predictors, and the speed benchmark.

* `seqtrack.export.onnx`: `export_onnx`, `OnnxPredictor`, `quantize_int8` (needs the ``export`` extra:
  ``onnx`` and ``onnxruntime``, imported lazily);
* `seqtrack.export.backends`: `make_predictor` — one call that gives the tracker a predictor for a
  backend (``torch`` / ``onnxruntime``), precision, ``torch.compile`` and int8 options;
* `seqtrack.export.bench`: the end-to-end speed benchmark behind ``seqtrack bench`` and
  ``benchmarks/speed.py``.

Nothing is imported eagerly here so that ``import seqtrack.export`` works without the extra.
"""
