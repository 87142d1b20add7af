"""Deployment: ONNX export with validation.

`seqtrack.export.onnx`: `export_onnx` (write the graph of `seqtrack.runtime.onnxruntime` and check it
against PyTorch) and `validate_onnx` (need the ``export`` extra: ``onnx`` and ``onnxruntime``, imported
lazily). The speed benchmark is `seqtrack.bench`.

The predictors themselves (`OnnxPredictor`, `TorchPredictor`, `make_predictor`) live in `seqtrack.runtime`.
Nothing is imported eagerly here so that ``import seqtrack.export`` works without the extra.
"""
