"""Evaluation: benchmark readers, a parallel resumable runner, metrics, reports, submission archives.

Modules (import what you need; nothing heavy is imported here):

* `seqtrack.evaluate.benchmarks`: ``get_benchmark(name, root)`` -> `Benchmark` (``sequences()``,
  ``update_preset``), one module per benchmark (LaSOT, LaSOT_ext, GOT-10k, TrackingNet, TNL2K, UAV123,
  NfS-30, OTB-100, VOT-ST).
* `seqtrack.evaluate.trackers`: `TrackerSpec` (picklable; with the backend, precision and device of the
  network) and `build_tracker`.
* `seqtrack.evaluate.runner`: ``run_benchmark(spec, sequences, RunOptions(...))`` -> `RunSummary`.
* `seqtrack.evaluate.results`: result-file layouts, atomic writes, reading other trackers' files.
* `seqtrack.evaluate.metrics`: IoU, success / precision / normalised precision, AUC, OP50/OP75,
  GOT-10k AO / SR (pure numpy; ``pytracking_compat`` reproduces pytracking's two defects).
* `seqtrack.evaluate.report` and `seqtrack.evaluate.plots`: tables, JSON, success / precision plots.
* `seqtrack.evaluate.submission`: GOT-10k and TrackingNet server archives.
* `seqtrack.evaluate.fixtures`: a small generated benchmark in every layout (tests, demos).
* `seqtrack.cli.evaluate`: the ``seqtrack eval``, ``report`` and ``pack`` subcommands.
"""
