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
    p.add_argument("--mae", type=Path, help="MAE pre-training file to initialise the encoder (mae_pretrain_vit_*.pth)")
    p.add_argument(
        "--init",
        type=Path,
        metavar="WEIGHTS",
        help="initialise the whole network from a weights file (fine-tuning; fresh runs only)",
    )
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
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
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


def _positive(name: str, value: int | None) -> None:
    from seqtrack.errors import InputError

    if value is not None and value < 1:
        raise InputError(f"{name} must be at least 1, got {value}")


def experiment_from_args(args: argparse.Namespace):
    """The experiment config: the YAML, then the flags (``--lr``, ...), then the ``--set`` assignments,
    every value checked against its field's type (a bad one is an `InputError`: nothing is written)."""
    from seqtrack.config import apply_overrides, load_yaml

    config = load_yaml(args.config)
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "samples_per_epoch": args.samples_per_epoch,
        "lr": args.lr,
        "amp": args.amp,
        "grad_checkpointing": args.grad_checkpointing,
        "num_workers": args.workers,
        "seed": args.seed,
        "save_every": args.save_every,
    }
    for name in ("epochs", "batch_size", "samples_per_epoch", "save_every"):
        _positive(f"--{name.replace('_', '-')}", overrides[name])
    if args.workers is not None and args.workers < 0:
        from seqtrack.errors import InputError

        raise InputError(f"--workers must be >= 0, got {args.workers}")
    config.train = dataclasses.replace(config.train, **{k: v for k, v in overrides.items() if v is not None})
    config = apply_overrides(config, args.set, root="")
    _check_recipe(config)
    return config


def _check_recipe(config) -> None:
    """The training recipe's counts, whatever set them (file, flag or ``--set``), refused before the run
    folder is made: the trainer would only find some of them out after writing it."""
    from seqtrack.errors import InputError

    train = config.train
    for name in ("epochs", "batch_size", "samples_per_epoch", "save_every"):
        if getattr(train, name) < 1:
            raise InputError(f"train.{name} must be at least 1, got {getattr(train, name)}")
    if train.num_workers < 0:
        raise InputError(f"train.num_workers must be >= 0, got {train.num_workers}")


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
