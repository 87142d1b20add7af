"""seqtrack: the SeqTrack visual object tracker (CVPR 2023) — model, tracker, training, evaluation."""

from seqtrack.config import ExperimentConfig, ModelConfig, TrackerConfig, TrainConfig, model_preset
from seqtrack.model.seqtrack import SeqTrack
from seqtrack.model.weights import load_model, save_safetensors
from seqtrack.tracking.tracker import Tracker, TrackResult

__version__ = "0.1.0"

__all__ = ["SeqTrack", "Tracker", "TrackResult", "load_model", "save_safetensors", "model_preset", "ModelConfig", "TrackerConfig",
           "TrainConfig", "ExperimentConfig", "__version__"]
