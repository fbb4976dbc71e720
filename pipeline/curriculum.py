"""A curriculum over sequence length, for echoes that must be carried across long sequences.

The label sits at out_index, so every prefix longer than out_index is itself a valid echo example,
only easier. Training starts on short prefixes of the stored sequences and moves to the next length
once the epoch's training accuracy reaches ADVANCE_ACCURACY, ending on the full length. Half the
batches use the current length, the others one of the earlier lengths, picked at random: this keeps
what was learnt and is cheaper (Zaremba & Sutskever's "mixed" curriculum). Validation always runs
on the full sequences, so the target is only ever met there. The model the curriculum trains shares
its layers (its weights) with the full-length model that is saved.
"""
import json
from pathlib import Path

import click

from pipeline.files import write_text_atomic
from pipeline.options import int_list

ADVANCE_ACCURACY = 0.999


def parse(text) -> tuple:
    """'5,10,20' -> (5, 10, 20); '' or 'none' -> () (no curriculum); a tuple passes through."""
    if isinstance(text, (tuple, list)):
        return tuple(text)
    text = (text or "").strip().lower()
    if text in ("", "none"):
        return ()
    lengths = tuple(int_list(text, "5,10,20"))
    if any(b <= a for a, b in zip(lengths, lengths[1:])) or lengths[0] < 1:
        raise click.BadParameter(f"{text!r}: lengths must be positive and increasing")
    return lengths


def stages(lengths, length: int, out_index: int) -> list:
    """The prefix lengths to train on, ending with the full length; each must hold out_index."""
    short = [n for n in lengths if n < length]
    if short and short[0] <= out_index:
        raise click.BadParameter(f"prefix length {short[0]} does not reach out_index {out_index}",
                                 param_hint="'--curriculum'")
    return [*short, length]


def prepare(net, train_ds, lengths, info, state_file: Path, seed: int = 0, steps_per_execution: int = 1,
            jit: bool = False):
    """(model to fit, its training data, callback): a variable-length model sharing net's layers and
    optimizer, fed prefixes whose length the callback raises."""
    from pipeline.backend import keras, tf
    from pipeline.model import compile_model

    plan = stages(lengths, info.length, info.out_index)
    state = json.loads(state_file.read_text()) if state_file.exists() else {"stage": 0, "log": []}
    stage_var = tf.Variable(state["stage"], dtype=tf.int64, trainable=False, name="curriculum_stage")
    table = tf.constant(plan, tf.int64)
    trainer = keras.Sequential([keras.Input((None, info.n_features)), *net.layers], name="curriculum")
    compile_model(trainer, net.optimizer, steps_per_execution, jit)

    class Curriculum(keras.callbacks.Callback):
        """Moves to the next prefix length once training accuracy reaches ADVANCE_ACCURACY."""

        def __init__(self):
            super().__init__()
            self.state = state
            if not self.state["log"]:
                self.state["log"].append({"length": plan[0], "from_epoch": 1})

        def on_epoch_end(self, epoch, logs=None):
            stage = self.state["stage"]
            if stage + 1 < len(plan) and (logs or {}).get("accuracy", 0.0) >= ADVANCE_ACCURACY:
                self.state["stage"] = stage + 1
                stage_var.assign(stage + 1)
                self.state["log"].append({"length": plan[stage + 1], "from_epoch": epoch + 2})
            write_text_atomic(state_file, json.dumps(self.state))  # for a resumed run

    @tf.autograph.experimental.do_not_convert  # plain tensor ops; AutoGraph only warns about the closure
    def prefix(batch, r):
        """Cut a batch to the current length, or (odd r) to an earlier one picked by r."""
        (X, y), stage = batch, stage_var.read_value()
        earlier = (r // 2) % tf.maximum(stage, 1)
        n = tf.where((r % 2 == 0) | (stage == 0), table[stage], table[earlier])
        return X[:, :n], y

    coins = tf.data.Dataset.random(seed=seed).map(lambda r: r % (2 ** 62))
    prefixes = tf.data.Dataset.zip((train_ds, coins)).map(prefix)
    return trainer, prefixes, Curriculum()
