"""Training data from `TrainConfig.datasets` names, under one data root (docs/official-behaviour.md §5.6).

Names (case-insensitive) and where they are looked for under ``--data-root DIR``:

==================== ================================ ==========================================
name                 folder (override option)          content
==================== ================================ ==========================================
LASOT                ``DIR/lasot`` (``--lasot``)       LaSOT, official 1120-video train split
GOT10K_vottrain      ``DIR/got10k/train`` (``--got10k``) GOT-10k train folder, 7086-video split
GOT10K_votval        same                              the 1249-video split
GOT10K_train_full    same                              all 9335 train videos (the ``_got`` configs)
COCO17               ``DIR/coco`` (``--coco``)         ``images/train2017``, ``annotations/instances_train2017.json``
TRACKINGNET          ``DIR/trackingnet`` (``--trackingnet``) ``TRAIN_0`` .. ``TRAIN_11``
SYNTHETIC            ``DIR/synthetic`` (``--synthetic``) generated GOT-10k-layout data (`seqtrack.data.synthetic`)
==================== ================================ ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqtrack.config import ExperimentConfig
from seqtrack.errors import DatasetError, InputError


@dataclass(frozen=True)
class DataRoots:
    """Where the training datasets are: one root with the standard sub-folders, or explicit folders.

    Attributes:
        root: the ``--data-root`` folder (may be None when every dataset used has its own folder).
        lasot, got10k, coco, trackingnet, synthetic: explicit folders (``got10k`` = the GOT-10k *train*
            folder holding ``list.txt``); None → the sub-folder of ``root``.
    """

    root: Path | None = None
    lasot: Path | None = None
    got10k: Path | None = None
    coco: Path | None = None
    trackingnet: Path | None = None
    synthetic: Path | None = None

    def folder(self, key: str, default: str) -> Path:
        explicit = getattr(self, key)
        if explicit is not None:
            return Path(explicit)
        if self.root is None:
            raise InputError(
                f"no folder for the {key} dataset: pass --data-root (expects {default}/ inside) or --{key}"
            )
        return Path(self.root) / default


def _lasot(roots: DataRoots):
    from seqtrack.data.lasot import LasotTrain

    return LasotTrain(roots.folder("lasot", "lasot"), split="train")


def _got10k(split: str):
    def build(roots: DataRoots):
        from seqtrack.data.got10k import Got10kTrain

        return Got10kTrain(roots.folder("got10k", "got10k/train"), split=split)

    return build


def _coco(roots: DataRoots):
    from seqtrack.data.coco import CocoTrain

    return CocoTrain(roots.folder("coco", "coco"), split="train", version="2017")


def _trackingnet(roots: DataRoots):
    from seqtrack.data.trackingnet import TrackingNetTrain

    return TrackingNetTrain(roots.folder("trackingnet", "trackingnet"))


def _synthetic(roots: DataRoots):
    from seqtrack.data.synthetic import synthetic_dataset

    folder = roots.folder("synthetic", "synthetic")
    if not (folder / "list.txt").is_file():
        raise DatasetError(
            f"missing synthetic dataset: expected {folder}/list.txt; generate one with\n"
            f'  python -c "from seqtrack.data.synthetic import write_dataset; '
            f"write_dataset('{folder}', 200, 100, progress=True)\""
        )
    return synthetic_dataset(folder)


# Official yaml names (and ours) → builder; data, not an if-chain.
DATASET_BUILDERS = {
    "lasot": _lasot,
    "got10k_vottrain": _got10k("vottrain"),
    "got10k_votval": _got10k("votval"),
    "got10k_train_full": _got10k("train_full"),
    "coco17": _coco,
    "trackingnet": _trackingnet,
    "synthetic": _synthetic,
}


def build_datasets(names: list[str], roots: DataRoots) -> list:
    """One `TrainingDataset` per name (see the module table); unknown names raise `InputError`."""
    out = []
    for name in names:
        builder = DATASET_BUILDERS.get(name.lower())
        if builder is None:
            raise InputError(
                f"unknown training dataset {name!r}; known: LASOT, GOT10K_vottrain, GOT10K_votval, "
                "GOT10K_train_full, COCO17, TRACKINGNET, SYNTHETIC"
            )
        out.append(builder(roots))
    return out


def build_training_dataset(config: ExperimentConfig, roots: DataRoots, seed: int):
    """The `PairDataset` of an experiment: its datasets, ratios, sampler and processing settings.

    Items are dicts of ``templates (T, 3, S, S)``, ``search (3, S, S)`` float32 and ``seq_input`` /
    ``seq_target (5,)`` int64 (plus ``history (4 K,)`` int64 when ``model.temporal_frames`` K > 0), pure
    functions of ``(seed, epoch, index)``.
    """
    from seqtrack.data.pair_dataset import PairDataset
    from seqtrack.data.processing import ProcessingConfig
    from seqtrack.data.sampler import SamplerConfig

    train, model = config.train, config.model
    if train.sampler_mode != "order":
        raise InputError(f"sampler_mode {train.sampler_mode!r} is not implemented (only 'order', the released one)")
    if len(train.dataset_ratios) != len(train.datasets):
        raise InputError(f"{len(train.dataset_ratios)} dataset_ratios for {len(train.datasets)} datasets")
    processing = ProcessingConfig(
        template_size=model.template_size,
        search_size=model.search_size,
        template_factor=train.template_factor,
        search_factor=train.search_factor,
        template_center_jitter=train.template_center_jitter,
        template_scale_jitter=train.template_scale_jitter,
        search_center_jitter=train.search_center_jitter,
        search_scale_jitter=train.search_scale_jitter,
        bins=model.bins,
        seq_format=model.seq_format,
        history_jitter=train.history_jitter,
    )
    sampler = SamplerConfig(
        num_templates=model.num_templates,
        max_interval=train.max_sample_interval,
        history_frames=model.temporal_frames,
    )
    return PairDataset(
        build_datasets(train.datasets, roots),
        train.dataset_ratios,
        processing,
        samples_per_epoch=train.samples_per_epoch,
        seed=seed,
        sampler=sampler,
    )


__all__ = ["DataRoots", "DATASET_BUILDERS", "build_datasets", "build_training_dataset"]
