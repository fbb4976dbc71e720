"""The Keras callback that keeps a run's history: rows per epoch with elapsed time, the moments
validation accuracy reached 0.999 and the target, stopping at the target, and what a resumed run
restored. Its rows are kept in the backup folder, so a resumed run's history goes on where it stopped.
Each row names the sequence length the epoch trained and validated on; under a curriculum only an
epoch at the full length counts toward the target."""
import json
import time
from pathlib import Path

import click

from pipeline.backend import keras
from pipeline.files import write_text_atomic

HISTORY_FIELDS = ("epoch", "length", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


class History(keras.callbacks.Callback):
    def __init__(self, target: float, stop_at_target: bool, backup: Path | None, restored_rows=(),
                 settle_epochs: int = 0, full_length: int | None = None, lengths=None):
        """backup: the folder BackupAndRestore uses (the chief's; None on other workers), where the
        rows are kept for a resumed run; restored_rows: those a killed run left there; settle_epochs:
        how many epochs to go on after first reaching the target before stopping there; lengths: a
        curriculum's callback (its epoch_length), or None when every epoch runs at full_length."""
        super().__init__()
        self.full_length, self.lengths = full_length, lengths
        self.target, self.stop_at_target, self.backup = target, stop_at_target, backup
        self.settle_epochs = settle_epochs
        self.rows, self.train_seconds = list(restored_rows), []
        self.reached, self.reached_epoch = {}, {}  # "0.999" and "target": seconds, epoch
        self.restored = len(self.rows)
        self.first_epoch = None  # where fit started: BackupAndRestore's last completed epoch
        self.t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:  # keep the rows of restored epochs only; elapsed time goes on from them
            self.first_epoch = epoch
            self.rows = [r for r in self.rows if r["epoch"] <= epoch]
            self.t0 -= self.rows[-1]["seconds"] if self.rows else 0
            if epoch and self.backup:
                click.echo(f"resuming from epoch {epoch + 1} (epochs 1-{epoch} restored from {self.backup})",
                           err=True)
        self.epoch_t = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.train_seconds.append(time.perf_counter() - self.epoch_t)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.perf_counter() - self.t0
        length = self.lengths.epoch_length if self.lengths else self.full_length
        row = {"epoch": epoch + 1, "length": length, **{k: logs.get(k) for k in HISTORY_FIELDS[2:6]},
               "seconds": round(now, 4)}
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if self.backup:
            write_text_atomic(self.backup / "history.json", json.dumps(self.rows))
        accuracy = logs.get("val_accuracy", 0.0) if length == self.full_length else 0.0
        for name, level in (("0.999", 0.999), ("target", self.target)):
            if accuracy >= level and name not in self.reached:
                self.reached[name], self.reached_epoch[name] = round(now, 4), epoch + 1
        settled = epoch + 1 - self.reached_epoch.get("target", epoch + 1) >= self.settle_epochs
        if self.stop_at_target and accuracy >= self.target and settled:
            self.model.stop_training = True

    @property
    def resumed_after(self) -> int | None:
        """The epochs restored from a backup, or None for a fresh run."""
        return (self.restored if self.first_epoch is None else self.first_epoch) or None
