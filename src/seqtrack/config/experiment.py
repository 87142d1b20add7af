"""A whole experiment: the network, how it tracks and how it trains, and the named experiment presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from seqtrack.config.check import build_config
from seqtrack.config.model import OFFICIAL_CROP_FACTOR, ModelConfig, model_preset
from seqtrack.config.tracker import TrackerConfig, update_presets_for
from seqtrack.config.train import TrainConfig
from seqtrack.errors import InputError

# The crop factors a network is trained with, in the train block and in the model block.
_CROP_FACTORS = ("template_factor", "search_factor")


@dataclass
class ExperimentConfig:
    """A whole experiment: the network, how it tracks and how it trains.

    Each section may be given as a dict of its fields (checked against their types, `seqtrack.config.check`).
    The network is what the train block's crops
    made it: ``model.template_factor`` / ``model.search_factor`` (which checkpoints keep) are the train
    block's. A model block left at the official factor (4.0) takes the train block's; one that states
    other factors than the train block is refused (it cannot be both).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        # Dict sections (untyped data) are checked field by field against their types (`build_config`).
        if isinstance(self.model, dict):
            self.model = build_config(ModelConfig, self.model, root="model")
        if isinstance(self.tracker, dict):
            self.tracker = build_config(TrackerConfig, self.tracker, root="tracker")
        if isinstance(self.train, dict):
            self.train = build_config(TrainConfig, self.train, root="train")
        if self.train.center_loss_weight > 0 and not self.model.center_head:
            raise InputError("train.center_loss_weight > 0 needs model.center_head: true")
        for name in _CROP_FACTORS:
            stated, trained = getattr(self.model, name), float(getattr(self.train, name))
            # The official value is also the default: the only one that may stand for "not stated".
            if stated != trained and stated != OFFICIAL_CROP_FACTOR:
                raise InputError(
                    f"model.{name} {stated} differs from train.{name} {trained}: a network's crop "
                    f"factors are the ones it is trained with (set train.{name})"
                )
        # A copy, so that the caller's ModelConfig is not changed behind its back.
        trained_factors = {name: float(getattr(self.train, name)) for name in _CROP_FACTORS}
        self.model = dataclasses.replace(self.model, **trained_factors)


def experiment_preset(name: str) -> ExperimentConfig:
    """Model preset plus the official tracker settings for that model."""
    model = model_preset(name)
    return ExperimentConfig(model=model, tracker=TrackerConfig(update_presets=update_presets_for(model.name)))
