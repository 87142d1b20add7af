import numpy as np
import pytest
import torch

from seqtrack.geometry.tokens import (
    box_to_tokens,
    end_token,
    start_token,
    teacher_forcing_pair,
    tokens_to_box,
    window_steps,
)
from seqtrack.geometry.window import hann_window


def test_special_tokens():
    assert end_token(4000) == 4000 and start_token(4000) == 4001
    assert end_token(10) == 10 and start_token(10) == 11


def test_centre_format_truncates():
    # box x1=0.1, y1=0.2, w=0.3, h=0.4 -> cx=0.25, cy=0.4
    tokens = box_to_tokens([[0.1, 0.2, 0.3, 0.4]], bins=4000, seq_format="xywh")
    expected = [
        int(np.float32(0.25) * 3999),
        int(np.float32(0.4) * 3999),
        int(np.float32(0.3) * 3999),
        int(np.float32(0.4) * 3999),
    ]
    assert tokens.tolist() == [expected]
    assert tokens.dtype == torch.int64


def test_edge_values():
    # Whole crop: corners 0 and 1 -> cx = 0.5 -> trunc(1999.5) = 1999; w = 1 -> 3999 = bins - 1.
    assert box_to_tokens([0.0, 0.0, 1.0, 1.0]).tolist() == [1999, 1999, 3999, 3999]
    # Out of range corners are clamped into [0, 1] before conversion.
    assert box_to_tokens([-0.5, -0.5, 3.0, 3.0]).tolist() == [1999, 1999, 3999, 3999]
    assert box_to_tokens([1.5, 1.5, 1.0, 1.0]).tolist() == [3999, 3999, 0, 0]
    assert box_to_tokens([0.0, 0.0, 0.0, 0.0]).tolist() == [0, 0, 0, 0]
    # Corner format keeps corners; any bins.
    assert box_to_tokens([0.0, 0.0, 1.0, 1.0], seq_format="corner").tolist() == [0, 0, 3999, 3999]
    assert box_to_tokens([0.0, 0.0, 1.0, 1.0], bins=10, seq_format="corner").tolist() == [0, 0, 9, 9]


def test_whxy_order():
    assert box_to_tokens([0.0, 0.0, 1.0, 1.0], seq_format="whxy").tolist() == [3999, 3999, 1999, 1999]


@pytest.mark.parametrize("fmt", ["xywh", "whxy", "corner"])
def test_round_trip_within_one_bin(fmt):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 0.5, size=(50, 2))
    wh = rng.uniform(0.05, 0.5, size=(50, 2))
    boxes = np.concatenate([xy, wh], axis=1)
    cxcywh = tokens_to_box(box_to_tokens(boxes, seq_format=fmt), seq_format=fmt).numpy()
    truth = np.concatenate([xy + wh / 2, wh], axis=1)
    assert np.abs(cxcywh - truth).max() <= 2.0 / 3999


def test_tokens_to_box_extremes():
    out = tokens_to_box(torch.tensor([0, 3999, 3999, 0]))
    assert out.tolist() == [0.0, 1.0, 1.0, 0.0]
    corner = tokens_to_box(torch.tensor([0, 0, 3999, 3999]), seq_format="corner")
    assert torch.allclose(corner, torch.tensor([0.5, 0.5, 1.0, 1.0]))


def test_teacher_forcing_pair():
    inputs, targets = teacher_forcing_pair(torch.tensor([[1, 2, 3, 4]]), bins=4000)
    assert inputs.tolist() == [[4001, 1, 2, 3, 4]]
    assert targets.tolist() == [[1, 2, 3, 4, 4000]]


def test_window_steps_and_window():
    assert window_steps("xywh") == (0, 1) and window_steps("whxy") == (2, 3) and window_steps("corner") == (0, 1)
    w = hann_window(4000)
    assert w[0] == 0 and w[-1] == 0 and w.argmax() in (1999, 2000)
    assert (hann_window(7, 0.0) == 1).all() and hann_window(7, 0.0).dtype == np.float64
    assert np.array_equal(hann_window(4000, 4.0), np.hanning(4000) ** 4)  # numpy's pow, on every backend


def test_the_torch_model_multiplies_by_the_shared_window_table():
    """The torch model and the ONNX read-out (`OnnxReadout.prior`) both take `hann_window`'s bits for any
    power (torch's own ``pow`` differs in the last bit of some entries: a near-tie could resolve differently)."""
    from seqtrack.config import model_preset
    from seqtrack.model.seqtrack import SeqTrack

    model = SeqTrack(model_preset("t128"))
    for power in (0.0, 1.0, 2.5, 4.0):
        assert np.array_equal(model.hann_window(torch.device("cpu"), power).numpy(), hann_window(4000, power))
    with pytest.raises(ValueError, match="unknown sequence format"):
        window_steps("yxhw")
