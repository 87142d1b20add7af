"""``metrics.jsonl``: one JSON object a line, kept consistent with the resume file.

Line kinds (every line has ``kind`` and ``step`` = optimiser steps done when it was written):

* ``start`` / ``resume``: run facts (world size, device, global batch, torch version);
* ``step``: every ``log_every`` steps: ``epoch``, ``batch`` (batches done in the epoch), ``loss`` (mean
  of the step losses since the previous line, averaged over ranks), ``iou`` (status only), ``lr``,
  ``lr_encoder``, ``grad_norm``, ``samples_per_s`` (global), ``time`` (unix seconds);
* ``epoch``: epoch means and throughput.

After a restart the log is cut back to the resume point (`truncate_after`), so lines written after the
last resume point by the killed process are replaced, not duplicated: the file reads as if the run
had never stopped. TensorBoard scalars are written too when ``torch.utils.tensorboard`` imports.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqtrack.io.files import OutputError, atomic_write_text, os_error_text


class MetricsLog:
    """Appends JSON lines (rank 0 only; other ranks pass ``enabled=False``).

    Args:
        path: the ``metrics.jsonl`` file; enabled: write or not; tensorboard_dir: folder for TensorBoard
            events (None: off; silently off when TensorBoard is not installed).
        purge_step: on a resumed run, TensorBoard events after this step are discarded.
    """

    def __init__(
        self, path: Path, enabled: bool = True, tensorboard_dir: Path | None = None, purge_step: int | None = None
    ) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._handle = None
        if enabled:
            try:
                self._handle = open(self.path, "a", encoding="utf-8")
            except OSError as error:
                raise self._error(error) from None
        self._tb = None
        if enabled and tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                SummaryWriter = None
            if SummaryWriter is not None:
                self._tb = SummaryWriter(log_dir=str(tensorboard_dir), purge_step=purge_step)

    def write(self, record: dict) -> None:
        """Append one record (flushed to the OS at once: a killed process loses nothing written)."""
        if not self.enabled:
            return
        try:
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._handle.flush()
        except OSError as error:
            # A full disk: at most a torn last line, which `read_metrics` skips and a resume cuts off.
            raise self._error(error) from None
        if self._tb is not None:
            kind = record.get("kind")
            step = record.get("step", 0)
            for key, value in record.items():
                if (
                    kind in ("step", "epoch")
                    and key not in ("kind", "step", "epoch", "batch", "time")
                    and isinstance(value, (int, float))
                ):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def _error(self, error: OSError) -> OutputError:
        return OutputError(f"could not write the metrics log {self.path}: {os_error_text(error)}")

    def close(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:  # the data that failed to flush was reported by `write`
                pass
            self._handle = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_metrics(path: Path) -> list[dict]:
    """All complete records of a ``metrics.jsonl`` (a torn last line is ignored)."""
    records = []
    path = Path(path)
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def truncate_after(path: Path, step: int) -> int:
    """Keep the records with ``step <= step`` (and drop a torn last line); returns how many were dropped.
    The file is rewritten atomically."""
    path = Path(path)
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if int(record.get("step", 0)) <= step:
            kept.append(line)
    atomic_write_text(path, "".join(f"{line}\n" for line in kept), what="the metrics log")
    return len(lines) - len(kept)


__all__ = ["MetricsLog", "read_metrics", "truncate_after"]
