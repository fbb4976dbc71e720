"""The Keras callbacks of a training run: the epoch log, the backup a killed run resumes from, and the
length curriculum.

EpochLog keeps a row per epoch with elapsed time, the moments validation accuracy reached 0.999 and
the target, stops at the target, and what a resumed run restored. Its rows are kept in the backup
folder, so a resumed run's history goes on where it stopped. Each row names the sequence length the
epoch trained and validated on; under a curriculum only an epoch at the full length counts toward the
target.

Backup is Keras' BackupAndRestore, saving at most every few seconds instead of after every epoch.

Curriculum trains on prefixes of the stored sequences, moving to the next length once an epoch's
training accuracy reaches curriculum.ADVANCE_ACCURACY (the plan and its learning rates: curriculum.py).
"""
import json
import time
from pathlib import Path

import click

from pipeline import curriculum
from pipeline.backend import keras, tf
from pipeline.files import write_text_atomic

HISTORY_FIELDS = ("epoch", "length", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


class EpochLog(keras.callbacks.Callback):
    def __init__(self, settings: dict, backup: Path | None, restored_rows=(), full_length: int | None = None,
                 curriculum=None):
        """settings: the run's (target_accuracy, stop_at_target, settle_epochs); backup: the folder
        BackupAndRestore uses (the chief's; None on other workers), where the rows are kept for a resumed
        run; restored_rows: those a killed run left there; curriculum: the Curriculum (its epoch_length), or
        None when every epoch runs at full_length."""
        super().__init__()
        self.full_length, self.curriculum, self.backup = full_length, curriculum, backup
        self.target, self.stop_at_target = settings["target_accuracy"], settings["stop_at_target"]
        self.settle_epochs = settings["settle_epochs"]
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
        length = self.curriculum.epoch_length if self.curriculum else self.full_length
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


class Backup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore (the checkpoint kept after fit) that saves after the first epoch, then after an epoch
    only once `seconds` have passed since the last save, and at the end the last epoch if it was not saved:
    a killed run loses at most `seconds` of training, and short epochs do not each pay a checkpoint."""

    def __init__(self, folder: str, seconds: float):
        super().__init__(folder, delete_checkpoint=False)
        self.seconds, self.saved, self.unsaved = seconds, None, None

    def on_epoch_end(self, epoch, logs=None):
        if self.saved is not None and time.perf_counter() - self.saved < self.seconds:
            self.unsaved = epoch
            return
        super().on_epoch_end(epoch, logs)
        self.saved, self.unsaved = time.perf_counter(), None

    def on_train_end(self, logs=None):
        if self.unsaved is not None:  # a rerun after a failed write then resumes from the end
            super().on_epoch_end(self.unsaved, logs)
        super().on_train_end(logs)


class Curriculum(keras.callbacks.Callback):
    """Trains `net` on prefixes of growing length: trainer() is a variable-length model sharing net's
    layers and optimizer; feeds() cuts its batches to the current length (and, for half the training
    batches, to an earlier one: Zaremba & Sutskever's "mixed" curriculum); the callback moves to the next
    length and its learning rate. Its state is kept in `state_file` for a resumed run."""

    def __init__(self, net, info, settings: dict, state_file: Path):
        super().__init__()
        self.net, self.info, self.settings, self.state_file = net, info, settings, state_file  # Keras owns .params
        self.plan = curriculum.lengths(settings["curriculum"], info.length, info.out_index)
        self.state = json.loads(state_file.read_text()) if state_file.exists() else {"phase": 0, "log": []}
        self.phase = tf.Variable(self.state["phase"], dtype=tf.int64, trainable=False, name="curriculum_phase")
        self.epoch_length = self.plan[self.state["phase"]]  # the length trained and validated on this epoch
        if not self.state["log"]:
            self.state["log"].append({"length": self.plan[0], "from_epoch": 1, "learning_rate": self.rate(0)})

    def rate(self, phase: int) -> float:
        return curriculum.phase_learning_rate(self.settings["learning_rate"], self.plan[phase],
                                              self.settings["lr_at_length"])

    def trainer(self):
        """The model to fit: any length, the same layers (weights) and optimizer as net."""
        from pipeline.model import compile_model

        model = keras.Sequential([keras.Input((None, self.info.n_features)), *self.net.layers], name="curriculum")
        compile_model(model, self.net.optimizer, self.settings["steps_per_execution"], self.settings["jit"],
                      self.settings["label_smoothing"])
        return model

    def feeds(self, train_ds, val_ds):
        """(training, validation) batches cut to the phase's lengths, float32, from uint8 batches
        (reader.Reading(cast=False)): cutting first spares converting whole stored rows."""
        from pipeline.reader import to_float

        table, phase = tf.constant(self.plan, tf.int64), self.phase

        @tf.autograph.experimental.do_not_convert  # plain tensor ops; AutoGraph only warns about the closure
        def prefix(batch, r):
            """Cut a batch to the current length, or (odd r) to an earlier one picked by r."""
            (X, y), now = batch, phase.read_value()
            earlier = (r // 2) % tf.maximum(now, 1)
            n = tf.where((r % 2 == 0) | (now == 0), table[now], table[earlier])
            return to_float(X[:, :n], y)

        @tf.autograph.experimental.do_not_convert
        def current(X, y):
            return to_float(X[:, :table[phase.read_value()]], y)

        coins = tf.data.Dataset.random(seed=self.settings["seed"]).map(lambda r: r % (2 ** 62))
        return (tf.data.Dataset.zip((train_ds, coins)).map(prefix).prefetch(tf.data.AUTOTUNE),
                val_ds.map(current).prefetch(tf.data.AUTOTUNE))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_length = self.plan[self.state["phase"]]
        keras.backend.set_value(self.net.optimizer.learning_rate, self.rate(self.state["phase"]))

    def on_epoch_end(self, epoch, logs=None):
        phase = self.state["phase"]
        if phase + 1 < len(self.plan) and (logs or {}).get("accuracy", 0.0) >= curriculum.ADVANCE_ACCURACY:
            self.state["phase"] = phase + 1
            self.phase.assign(phase + 1)
            self.state["log"].append({"length": self.plan[phase + 1], "from_epoch": epoch + 2,
                                      "learning_rate": self.rate(phase + 1)})
        write_text_atomic(self.state_file, json.dumps(self.state))  # for a resumed run
