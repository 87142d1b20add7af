"""Training: loss, optimiser, distributed trainer with exact resume, and the ``seqtrack train`` command.

* `loss.SequenceLoss`: weighted cross-entropy over the ``bins + 2`` vocabulary (docs/official-behaviour.md §5.4).
* `optim.build_optimizer` / `optim.build_scheduler`: AdamW with the encoder group, StepLR (docs/official-behaviour.md
  §5.5).
* `trainer.train`: the training loop (DDP under ``torchrun``, AMP, checkpoints, exact resume).
* `datasets.build_training_dataset`: `TrainConfig.datasets` names → a `PairDataset` under a data root.
"""
