"""Every way to run a SeqTrack network behind one contract, `BoxPredictor`: torch eager (fp32, bf16,
autocast, compiled) and ONNX Runtime (fp32, int8).

* `seqtrack.runtime.protocol`: `BoxPredictor`, what the `Tracker` needs (a `SeqTrack` is one);
* `seqtrack.runtime.torch_predictor`: `TorchPredictor` (``torch.autocast`` / ``torch.compile``);
* `seqtrack.runtime.onnxruntime`: the read-out as one ONNX graph (`write_onnx`, `quantize_int8`,
  `read_config`) and `OnnxPredictor`, which runs it (needs the ``export`` extra, imported lazily);
* `seqtrack.runtime.options`: `PredictorOptions` and their command-line flags (torch-free);
* `seqtrack.runtime.factory`: `make_predictor`, one call from weights and options to a predictor.

Nothing is imported eagerly so that ``seqtrack --help`` does not load torch.
"""
