"""``seqtrack bench --device``: which backends run where, the GPU settings and report, on a CPU-only machine."""

from __future__ import annotations

import argparse

import pytest
import torch

from seqtrack.bench.arguments import add_bench_arguments, check_backends, settings_from_args
from seqtrack.bench.cases import GPU_DEFAULT_BACKENDS, GPU_SCALING_TARGETS, BenchCase, BenchSettings, CaseResult
from seqtrack.bench.report import BenchReport, render_markdown
from seqtrack.bench.workers import run_case
from seqtrack.cli import main
from seqtrack.errors import InputError
from support import bench_machine


def _parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    return parser.parse_args(list(flags))


def test_gpu_backends_are_refused_on_the_cpu_and_cpu_only_ones_on_a_gpu():
    with pytest.raises(InputError, match=r"--backends cuda-graphs,torch-fp16: GPU only, needs --device cuda"):
        check_backends(("torch-fp32", "cuda-graphs", "torch-fp16"), "cpu")
    with pytest.raises(InputError, match=r"--backends onnxruntime-int8: CPU only \(--device cpu\), not on cuda:0"):
        check_backends(("torch-fp32", "onnxruntime-int8"), "cuda:0")
    with pytest.raises(InputError, match="unknown backend"):
        check_backends(("torch-fp33",), "cpu")
    check_backends(GPU_DEFAULT_BACKENDS + ("fast", "onnxruntime-fp32"), "cuda:1")  # all of them run on a GPU
    with pytest.raises(InputError, match="GPU only"):
        settings_from_args(_parse("--backends", "torch-fp32,cuda-graphs"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer of a machine without CUDA")
def test_device_cuda_without_a_gpu_is_one_line(capsys):
    assert main(["bench", "--quick", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "device 'cuda'" in err[0] and "available: cpu" in err[0]


def test_cpu_device_keeps_the_cpu_defaults():
    settings = settings_from_args(_parse())
    assert settings.device == "cpu" and settings.backends == BenchSettings().backends and settings.thread_sweep
    assert settings_from_args(_parse("--device", "auto")).device == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_a_gpu_run_gets_the_gpu_backends_targets_and_no_thread_table(monkeypatch):
    # What a CUDA machine answers; the settings are all that is checked here (nothing runs on the device).
    monkeypatch.setattr("seqtrack.runtime.devices.resolve_device", lambda name: torch.device("cuda", 1))
    settings = settings_from_args(_parse("--device", "cuda:1"))
    assert settings.device == "cuda:1" and settings.backends == GPU_DEFAULT_BACKENDS
    assert settings.scaling_targets == GPU_SCALING_TARGETS and "cuda-graphs" in settings.scaling_backends
    assert not settings.thread_sweep
    quick = settings_from_args(_parse("--device", "cuda", "--quick"))
    assert quick.quick and quick.backends == ("torch-fp32", "cuda-graphs") and quick.device == "cuda:1"
    chosen = settings_from_args(_parse("--device", "cuda", "--backends", "cuda-graphs-fp16"))
    assert chosen.backends == ("torch-fp32", "cuda-graphs-fp16")  # the reference is always measured
    monkeypatch.setattr("seqtrack.runtime.devices.resolve_device", lambda name: torch.device("mps"))
    with pytest.raises(InputError, match="--device mps: the benchmark runs on the CPU or a CUDA device"):
        settings_from_args(_parse("--device", "mps"))


def test_a_cuda_graph_case_on_the_cpu_is_an_error_row_not_a_crash():
    case = BenchCase(preset="t128", cuda_graphs=True, warmup=0, frames=1, width=160, height=120)
    assert case.label == "torch fp32 cuda-graphs" and not case.is_reference
    result = run_case(case)
    assert result.error is not None and "--cuda-graphs needs a CUDA device" in result.error
    assert result.latencies_ms == []


def test_gpu_report_names_the_gpu_and_its_memory():
    settings = BenchSettings.quick_settings(device="cuda:0", backends=("torch-fp32", "cuda-graphs"))
    machine = bench_machine(device="cuda:0", gpu="Test GPU", gpu_memory_gib=80.0, cuda="12.8")
    case = BenchCase(preset="t128", device="cuda:0", cuda_graphs=True)
    row = CaseResult(case=case, latencies_ms=[2.0, 2.0, 4.0], peak_rss_mib=900.0, peak_gpu_mib=123.0)
    text = render_markdown(BenchReport(settings, machine, [row], [row], [], [], [], {}, [], 1.0))
    assert text.startswith("# SeqTrack tracker speed (GPU, end to end)")
    assert "- GPU: Test GPU (80.0 GiB; device cuda:0; CUDA 12.8)" in text
    assert "peak RSS / GPU MiB" in text and "| 900 / 123 |" in text
    assert "| t128 | torch fp32 cuda-graphs | 500.00 |" in text
    cpu_report = BenchReport(BenchSettings.quick_settings(), bench_machine(), [], [], [], [], [], {}, [], 1.0)
    cpu_text = render_markdown(cpu_report)
    assert cpu_text.startswith("# SeqTrack tracker speed (CPU, end to end)") and "GPU" not in cpu_text
