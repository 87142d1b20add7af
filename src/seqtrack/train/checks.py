"""What a training run checks before it writes anything: the run folder can be written, the initial
weights exist, and the recipe fits the processes and the device.

The config checks its own values (`seqtrack.config.train.TrainConfig`); these are the checks that need
to know the run: the number of processes, the device, the files named by the options.
"""

from __future__ import annotations

from pathlib import Path

from seqtrack.config import ExperimentConfig
from seqtrack.errors import InputError
from seqtrack.io.files import check_destination
from seqtrack.train.distributed import DistContext
from seqtrack.train.options import TrainOptions


def check_before_writing(config: ExperimentConfig, options: TrainOptions, context: DistContext) -> None:
    """Every check on user input that `Trainer.fit` makes before the run folder is touched.

    Raises:
        InputError: one line naming the option or setting at fault.
    """
    # A file where the folder should be, a read-only place, a name over 255 bytes: refused now, not
    # after the datasets were indexed.
    check_destination(options.out, "--out", folder=True)
    check_initial_weights(options)
    check_recipe(config, context)


def check_initial_weights(options: TrainOptions) -> None:
    """``--mae`` / ``--init`` / ``--init-encoder``: the files exist, and at most one of them is given."""
    given = {
        flag: path
        for flag, path in (("--mae", options.mae), ("--init", options.init), ("--init-encoder", options.init_encoder))
        if path is not None
    }
    for flag, path in given.items():
        if not Path(path).is_file():
            what = "MAE pre-training file" if flag == "--mae" else f"{flag} weights file"
            raise InputError(f"{what} not found: {path}")
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} all initialise the encoder; give one of them")
    from seqtrack.model.weights import read_state_dict

    for path in given.values():  # read now through the safe loader: a hostile or broken file fails before any write
        read_state_dict(path)


def check_recipe(config: ExperimentConfig, context: DistContext) -> None:
    """Refuse an epoch shorter than one global batch (the config alone does not know the number of
    processes) and an AMP mode the device cannot run (`autocast_context` raises for fp16 off CUDA)."""
    from seqtrack.train.step import autocast_context

    train = config.train
    global_batch = train.batch_size * context.world_size
    if train.samples_per_epoch // global_batch < 1:
        raise InputError(
            f"samples_per_epoch {train.samples_per_epoch} is smaller than the global batch "
            f"{global_batch} ({train.batch_size} x {context.world_size} processes)"
        )
    autocast_context(context.device, train.amp)


__all__ = ["check_before_writing", "check_initial_weights", "check_recipe"]
