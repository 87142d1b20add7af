"""`resolve_device`: one check of ``--device`` for every command (issue 18), tested on any machine by
pretending to have, or not have, GPUs."""

from __future__ import annotations

import pytest
import torch

from seqtrack.errors import InputError
from seqtrack.runtime.devices import available_devices, resolve_device
from seqtrack.runtime.factory import make_predictor


@pytest.fixture
def gpus(monkeypatch):
    """``gpus(n, built=True)``: torch reports ``n`` visible CUDA devices (a CUDA build without a GPU
    when ``n == 0``; a CPU-only build when ``built`` is False)."""

    def pretend(count: int, built: bool = True) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.version, "cuda", "12.4" if built else None)

    return pretend


def test_names_on_a_machine_with_two_gpus(gpus):
    gpus(2)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CUDA ") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert available_devices()[:3] == ["cpu", "cuda:0", "cuda:1"]
    with pytest.raises(InputError, match=r"^device 'cuda:2': there is no CUDA device 2 \(2 visible\); available: cpu"):
        resolve_device("cuda:2")


@pytest.mark.parametrize(
    "name, built, message",
    [
        ("cuda", False, "device 'cuda': this PyTorch build has no CUDA support; available: cpu"),
        ("cuda:0", True, "device 'cuda:0': no CUDA device is visible"),
        ("foo", True, "unknown device 'foo'; expected one of auto, cpu, cuda, cuda:N, mps; available: cpu"),
        ("cuda:x", True, "unknown device 'cuda:x'"),
        ("", True, "unknown device ''"),
    ],
)
def test_absent_or_unknown_devices_are_one_line(gpus, name, built, message):
    gpus(0, built=built)
    with pytest.raises(InputError) as info:
        resolve_device(name)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_auto_without_a_gpu_is_the_cpu(gpus):
    gpus(0)
    assert resolve_device("auto") == torch.device("cpu")


def test_make_predictor_checks_the_device_before_reading_the_weights(gpus, tmp_path):
    gpus(0, built=False)
    missing = tmp_path / "missing.safetensors"  # never opened: the device is refused first
    with pytest.raises(InputError, match="^unknown device 'foo'"):
        make_predictor(missing, device="foo")
    with pytest.raises(InputError, match="^device 'cuda': this PyTorch build has no CUDA support"):
        make_predictor(missing, device="cuda")
    # The onnxruntime backend asks ONNX Runtime, not torch: this CPU build has no CUDA provider.
    gpus(1)
    with pytest.raises(InputError, match="has no CUDAExecutionProvider.*onnxruntime-gpu"):
        make_predictor(missing, backend="onnxruntime", device="cuda")
    with pytest.raises(InputError, match="the onnxruntime backend accepts cpu, cuda, cuda:N"):
        make_predictor(missing, backend="onnxruntime", device="mps")


def test_the_tracker_and_training_use_the_same_check(gpus, monkeypatch):
    from seqtrack.tracking.tracker import Tracker
    from seqtrack.train import distributed

    gpus(0, built=False)
    with pytest.raises(InputError, match="^unknown device 'gpu'"):
        Tracker.from_pretrained("demo", device="gpu")
    with pytest.raises(InputError, match="^device 'cuda'"):
        distributed.setup("cuda")
    gpus(2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InputError, match="--device cuda:1 names one GPU for 2 processes: pass --device cuda"):
        distributed.setup("cuda:1")
