"""End-to-end tracker speed benchmark (``seqtrack bench``, ``benchmarks/speed.py``, ``python -m seqtrack.bench``).

Every configuration (preset x backend x precision x threads x number of targets) runs in a fresh
worker process, so that peak memory figures never mix. The parts, one concern each:

* `seqtrack.bench.video`: `SyntheticVideo`, the generated video every configuration tracks;
* `seqtrack.bench.flops`: `frame_flops`, the analytic FLOPs of one tracked frame;
* `seqtrack.bench.cases`: what is measured (`BenchSettings`, `BenchCase`, `InterleavedCase`) and what a
  measurement gives (`CaseResult`, `InterleavedResult`);
* `seqtrack.bench.workers`: the worker processes (``python -m seqtrack.bench.workers``) and peak RSS;
* `seqtrack.bench.agreement`: agreement with the torch fp32 run and with the official golden outputs;
* `seqtrack.bench.machine`: the CPU, core count and library versions recorded with the results;
* `seqtrack.bench.driver`: `run_speed_benchmark`, which measures everything and returns a `BenchReport`;
* `seqtrack.bench.report`: `BenchReport`, its Markdown tables and the ``speed.json`` / ``speed.md`` files;
* `seqtrack.bench.arguments`: the command-line flags and `main`.

Nothing is imported here, so that a worker process started with ``-m`` loads only what it runs.
"""
