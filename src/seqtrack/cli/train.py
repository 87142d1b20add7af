"""``seqtrack train``: train a SeqTrack model from a YAML config (one process, or DDP under ``torchrun``).

Examples::

    seqtrack train configs/cpu_t128.yaml --data-root data --out runs/t128
    seqtrack train configs/cpu_t128.yaml --data-root data --out runs/t128b --set train.lr=2e-4 \\
        --set model.encoder.depth=6
    torchrun --nproc-per-node 8 -m seqtrack train configs/seqtrack_b256.yaml --data-root /data \\
        --out runs/b256 --mae mae_pretrain_vit_base.pth
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from seqtrack.config import AMP_MODES, add_set_argument

DATA_LAYOUT = """data layout under --data-root DIR (each folder can also be given on its own):
  DIR/lasot/<class>/<class>-<n>/...         LASOT              (--lasot)
  DIR/got10k/train/list.txt, <seq>/...      GOT10K_vottrain, GOT10K_votval, GOT10K_train_full (--got10k)
  DIR/coco/images/train2017, annotations/   COCO17             (--coco)
  DIR/trackingnet/TRAIN_0..TRAIN_11/        TRACKINGNET        (--trackingnet)
  DIR/synthetic/list.txt, <seq>/...         SYNTHETIC          (--synthetic; GOT-10k layout, seqtrack.data.synthetic)

run folder (--out): config.yaml, metrics.jsonl, checkpoint_epXXXX.safetensors, resume.pt, finished.json.
An unfinished run in --out is resumed exactly where its last resume point left it."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a SeqTrack model (resumable; DDP under torchrun)",
        description="Train SeqTrack from an experiment YAML (ours, a preset with overrides, or an official one). "
        "Run under `torchrun --nproc-per-node N -m seqtrack train ...` for DDP; --batch-size is per process.",
        epilog=DATA_LAYOUT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", type=Path, help="experiment YAML (e.g. configs/seqtrack_b256.yaml)")
    p.add_argument(
        "--data-root",
        type=Path,
        default=os.environ.get("SEQTRACK_DATA_ROOT"),
        help="folder holding lasot/, got10k/train/, coco/, trackingnet/, synthetic/ (default: $SEQTRACK_DATA_ROOT)",
    )
    for name in ("lasot", "got10k", "coco", "trackingnet", "synthetic"):
        p.add_argument(
            f"--{name}",
            type=Path,
            metavar="DIR",
            help=f"the {name} folder (default: DATA_ROOT/" + ("got10k/train" if name == "got10k" else name) + ")",
        )
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, resume file, metrics)")
    _add_initialisation_flags(p)
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--batch-size", type=int, help="override train.batch_size (per process)")
    p.add_argument("--samples-per-epoch", type=int, help="override train.samples_per_epoch")
    p.add_argument("--lr", type=float, help="override train.lr")
    p.add_argument("--amp", choices=AMP_MODES, help="mixed precision: off, fp16 (GPU, with GradScaler), bf16")
    p.add_argument(
        "--grad-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="recompute encoder activations in the backward pass (less memory; for L384)",
    )
    p.add_argument(
        "--workers", type=int, help="data-loading processes per training process (override train.num_workers)"
    )
    p.add_argument("--seed", type=int, help="override train.seed")
    p.add_argument("--save-every", type=int, help="weights checkpoint every N epochs (override train.save_every)")
    p.add_argument(
        "--checkpoint-every-steps",
        type=int,
        default=500,
        metavar="K",
        help="also write a resume point every K steps inside an epoch (0: only at epoch ends; default 500)",
    )
    p.add_argument(
        "--log-every", type=int, default=10, metavar="N", help="a metrics.jsonl line every N steps (default 10)"
    )
    p.add_argument(
        "--device",
        default="auto",
        help="auto (default: a GPU when one is visible), cpu, cuda (one GPU per process under torchrun), cuda:N, mps",
    )
    p.add_argument("--force", action="store_true", help="discard a run already in --out and start over")
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an unfinished run found in --out (default); --no-resume refuses to touch it",
    )
    p.add_argument("--deterministic", action="store_true", help="deterministic GPU kernels (slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard events even if installed")
    p.add_argument("--threads", type=int, help="torch CPU threads per process (default: torch's choice)")
    add_set_argument(
        p,
        help="override any config field, after the YAML and the other flags (repeatable; the value is YAML, "
        "checked against the field's type): --set train.lr=2e-4 --set model.encoder.depth=6",
    )
    p.set_defaults(handler=run_train)


# The flags that set a train field, by field: a value the config refuses is reported with the flag.
_TRAIN_FLAGS = {
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "samples_per_epoch": "--samples-per-epoch",
    "lr": "--lr",
    "amp": "--amp",
    "grad_checkpointing": "--grad-checkpointing",
    "num_workers": "--workers",
    "seed": "--seed",
    "save_every": "--save-every",
}


def _add_initialisation_flags(p: argparse.ArgumentParser) -> None:
    """``--mae`` / ``--init`` / ``--init-encoder``: where a fresh run's weights start (at most one)."""
    p.add_argument("--mae", type=Path, help="MAE pre-training file to initialise the encoder (mae_pretrain_vit_*.pth)")
    p.add_argument(
        "--init",
        type=Path,
        metavar="WEIGHTS",
        help="initialise the whole network from a weights file (fine-tuning; fresh runs only)",
    )
    p.add_argument(
        "--init-encoder",
        type=Path,
        metavar="WEIGHTS",
        help="initialise only the encoder from a trained network's weights file (fresh runs only)",
    )


def experiment_from_args(args: argparse.Namespace):
    """The experiment config: the YAML, then the flags (``--lr``, ...), then the ``--set`` assignments,
    every value checked against its field's type and range (`TrainConfig`: a bad one is an `InputError`
    naming the flag or the ``--set`` argument, and nothing is written). What the config cannot know (the
    number of processes) is checked by the trainer, also before the run folder is made."""
    from seqtrack.config import ConfigError, apply_overrides, load_yaml

    config = load_yaml(args.config)
    given = {field: getattr(args, dest) for field, dest in _flag_destinations().items()}
    given = {field: value for field, value in given.items() if value is not None}
    try:
        config.train = dataclasses.replace(config.train, **given)
    except ConfigError as error:
        field = error.key.removeprefix("train.")
        source = f"{_TRAIN_FLAGS[field]} {given[field]}" if field in given else ""
        raise ConfigError(source, error.key, error.detail) from None
    return apply_overrides(config, args.set, root="")


def _flag_destinations() -> dict[str, str]:
    """train field -> the argparse destination of its flag (``num_workers`` -> ``workers``)."""
    return {field: flag.removeprefix("--").replace("-", "_") for field, flag in _TRAIN_FLAGS.items()}


def run_train(args: argparse.Namespace) -> int:
    import torch

    from seqtrack.train.datasets import DataRoots
    from seqtrack.train.options import TrainOptions
    from seqtrack.train.trainer import train

    if args.threads:
        torch.set_num_threads(args.threads)
    config = experiment_from_args(args)
    roots = DataRoots(
        root=args.data_root,
        lasot=args.lasot,
        got10k=args.got10k,
        coco=args.coco,
        trackingnet=args.trackingnet,
        synthetic=args.synthetic,
    )
    options = TrainOptions(
        out=args.out,
        roots=roots,
        mae=args.mae,
        init=args.init,
        init_encoder=args.init_encoder,
        force=args.force,
        resume=args.resume,
        device=args.device,
        checkpoint_every_steps=max(0, args.checkpoint_every_steps),
        log_every=max(0, args.log_every),
        progress=not args.no_progress,
        tensorboard=not args.no_tensorboard,
        deterministic=args.deterministic,
    )
    train(config, options)
    return 0
