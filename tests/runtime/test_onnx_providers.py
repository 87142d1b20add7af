"""ONNX Runtime execution providers from ``--device`` names (`seqtrack.runtime.onnx_providers`): the CUDA
provider is asked for only when this onnxruntime has it, and a session that dropped it is refused rather
than run on the CPU. This machine has the CPU build of onnxruntime: CUDA is simulated by monkeypatching
``get_available_providers`` and by fake sessions, and the real CPU build shows what a fallback does."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from seqtrack.errors import InputError
from seqtrack.runtime.onnx_errors import OnnxError
from seqtrack.runtime.onnx_providers import (
    check_session_providers,
    execution_providers,
    onnx_device_name,
    provider_label,
)
from support import REPO

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


@pytest.fixture()
def ort_with_cuda(monkeypatch):
    """onnxruntime as an onnxruntime-gpu install would list its providers."""
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["TensorrtExecutionProvider", CUDA, CPU])
    return ort


@pytest.fixture()
def ort_cpu_only(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["AzureExecutionProvider", CPU])
    return ort


class FakeSession:
    """The one method `check_session_providers` reads."""

    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    def get_providers(self) -> list[str]:
        return list(self.providers)


def test_cpu_needs_no_cuda(ort_cpu_only):
    assert execution_providers("cpu") == [CPU]
    assert execution_providers(" CPU ") == [CPU]


@pytest.mark.parametrize(("name", "index"), [("cuda", 0), (" cuda ", 0), ("CUDA:1", 1), ("cuda:12", 12)])
def test_cuda_names_give_the_cuda_provider_first(ort_with_cuda, name, index):
    assert execution_providers(name) == [(CUDA, {"device_id": index}), CPU]


@pytest.mark.parametrize("name", ["mps", "foo", "cuda:x", "cuda:", "cuda:-1", "auto", ""])
def test_unknown_names_list_the_accepted_ones(ort_with_cuda, name):
    with pytest.raises(InputError) as caught:
        execution_providers(name)
    message = str(caught.value)
    assert repr(name) in message and "cpu, cuda, cuda:N" in message


@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_the_gpu_package_says_how_to_get_it(ort_cpu_only, name):
    with pytest.raises(InputError) as caught:
        execution_providers(name)
    message = str(caught.value)
    assert f"device {name!r}" in message
    assert "AzureExecutionProvider, CPUExecutionProvider" in message  # what this onnxruntime has
    assert "onnxruntime-gpu" in message and "cuDNN" in message
    assert "\n" not in message


def test_the_real_cpu_build_is_refused_for_cuda():
    ort = pytest.importorskip("onnxruntime")
    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(InputError, match="onnxruntime-gpu"):
        execution_providers("cuda")


def test_session_that_dropped_cuda_is_refused():
    requested = [(CUDA, {"device_id": 0}), CPU]
    with pytest.raises(OnnxError) as caught:
        check_session_providers(FakeSession([CPU]), requested, "models/tiny.onnx")
    message = str(caught.value)
    assert (
        message.startswith("models/tiny.onnx: ") and "CUDA provider" in message and "on CPUExecutionProvider" in message
    )
    # the same with a plain name in place of the tuple
    with pytest.raises(OnnxError, match="CUDA provider"):
        check_session_providers(FakeSession([CPU]), [CUDA], "tiny.onnx")


def test_session_that_kept_its_providers_passes():
    check_session_providers(FakeSession([CUDA, CPU]), [(CUDA, {"device_id": 1}), CPU], "tiny.onnx")
    check_session_providers(FakeSession([CPU]), [CPU], "tiny.onnx")
    # the CPU provider ORT adds by itself is no reason to refuse
    check_session_providers(FakeSession([CUDA, CPU]), [CUDA], "tiny.onnx")


@pytest.mark.parametrize(
    ("providers", "label"),
    [
        ([CPU], "cpu"),
        ([(CUDA, {"device_id": 0}), CPU], "cuda:0"),
        ([(CUDA, {"device_id": "3"}), CPU], "cuda:3"),  # a session's get_provider_options holds strings
        ([CUDA, CPU], "cuda:0"),
        (["TensorrtExecutionProvider", CUDA, CPU], "tensorrt"),
        ([], "cpu"),
    ],
)
def test_provider_label(providers, label):
    assert provider_label(providers) == label


def test_real_cpu_session_reports_its_provider(onnx_file, golden_model_data):
    from seqtrack.runtime.onnxruntime import OnnxPredictor

    for predictor in (OnnxPredictor(onnx_file), OnnxPredictor(onnx_file, providers=execution_providers("cpu"))):
        assert predictor.providers == [CPU]
        assert str(predictor.device) == "cpu"
        assert repr(predictor).endswith(", cpu)")
        tokens, _ = predictor.generate(golden_model_data["templates"].unsqueeze(0), golden_model_data["search"])
        assert tokens.tolist() == golden_model_data["generated_tokens_window"].tolist()


def test_cuda_requested_on_the_cpu_build_never_gives_a_cpu_session(onnx_file):
    """What the real CPU build does with the CUDA provider (onnxruntime 1.32: a UserWarning and a CPU-only
    session; other versions may raise): either way one `OnnxError`, never a predictor."""
    ort = pytest.importorskip("onnxruntime")
    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    from seqtrack.runtime.onnxruntime import OnnxPredictor

    with warnings.catch_warnings(), pytest.raises(OnnxError) as caught:
        warnings.simplefilter("ignore")  # ORT's own "not in available provider names", before the fallback
        OnnxPredictor(onnx_file, providers=[(CUDA, {"device_id": 0}), CPU])
    assert str(onnx_file) in str(caught.value) and "CUDA provider" in str(caught.value)


def test_module_is_torch_free():
    code = (
        "import sys; import seqtrack.runtime.onnx_providers as p; p.execution_providers('cpu'); "
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules, sorted(sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr


def test_make_predictor_maps_devices_to_providers(model, ort_with_cuda, monkeypatch):
    """``auto`` asks ONNX Runtime (not torch) whether it has CUDA; the providers reach the session."""
    import seqtrack.runtime.factory as factory
    from seqtrack.runtime.factory import make_predictor

    made = []
    monkeypatch.setattr(
        "seqtrack.runtime.onnxruntime.OnnxPredictor",
        lambda path, providers=None, threads=None: made.append(providers) or "session",
    )
    assert make_predictor(model, backend="onnxruntime", device="auto") == "session"
    assert make_predictor(model, backend="onnxruntime", device="cuda:1") == "session"
    assert made == [[(CUDA, {"device_id": 0}), CPU], [(CUDA, {"device_id": 1}), CPU]]
    assert factory._onnx_providers("CPU") == [CPU]


@pytest.mark.parametrize(
    "name, rank, expected", [("cpu", 0, "cpu"), ("cuda", 0, "cuda:0"), ("cuda", 3, "cuda:3"), (" CUDA:2 ", 5, "cuda:2")]
)
def test_onnx_device_names_are_canonical_without_torch(ort_with_cuda, name, rank, expected):
    assert onnx_device_name(name, local_rank=rank) == expected


def test_auto_follows_the_cuda_provider(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    assert onnx_device_name("auto", local_rank=1) == "cuda:1"
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CPU])
    assert onnx_device_name("auto", local_rank=1) == "cpu"


def test_onnx_device_name_refuses_like_execution_providers(ort_cpu_only):
    with pytest.raises(InputError, match=r"device 'cuda': this onnxruntime \(.*\) has no CUDAExecutionProvider"):
        onnx_device_name("cuda")
    with pytest.raises(InputError, match=r"device 'Vulkan': the onnxruntime backend accepts cpu, cuda, cuda:N"):
        onnx_device_name("Vulkan")


def test_eval_places_onnx_workers_on_onnxruntimes_gpu_not_torchs(ort_with_cuda, monkeypatch):
    """onnxruntime-gpu beside a CPU-only torch: ``seqtrack eval --backend onnxruntime --device cuda`` asks
    ONNX Runtime, so torch's missing CUDA does not refuse it (``--devices`` lists work the same way)."""
    import argparse

    from seqtrack.cli.evaluate import _placement
    from seqtrack.evaluate.trackers import TrackerSpec
    from seqtrack.runtime.devices import resolve_device
    from seqtrack.runtime.options import PredictorOptions

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(InputError, match="device 'cuda'"):
        resolve_device("cuda")  # what torch says: the old path refused here
    weights = str(REPO / "src" / "seqtrack" / "assets" / "seqtrack_demo.safetensors")
    spec = TrackerSpec(weights=weights, predictor=PredictorOptions(backend="onnxruntime"))
    args = argparse.Namespace(device="cuda", devices=None, workers=None)
    assert _placement(args, spec)[1] == ["cuda:0"]
    args = argparse.Namespace(device=None, devices="cuda:0,cuda:1", workers=None)
    assert _placement(args, spec)[1:] == (["cuda:0", "cuda:1"], 2)
    with pytest.raises(InputError, match=r"list them instead: --devices cuda:0,cuda:1"):
        _placement(argparse.Namespace(device=None, devices="all", workers=None), spec)
    torch_spec = TrackerSpec(weights=weights)
    with pytest.raises(InputError, match="device 'cuda'"):
        _placement(argparse.Namespace(device="cuda", devices=None, workers=None), torch_spec)
