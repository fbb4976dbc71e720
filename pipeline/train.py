"""Stage 2, train: fit the vanilla LSTM with model.fit, fed by tf.data from the HDF5 file.

Reads --data (the model shape comes from the file's own attributes); writes --out (model.keras, with
its metadata inside) and, beside it, history.csv (one row per epoch) and train.json. An epoch is
--steps-per-epoch batches (0: one pass over the training split); validation runs on the val split
after every epoch and training stops once validation accuracy reaches --target-accuracy. A killed
run resumes from its last completed epoch when rerun with the same parameters.

    python -m pipeline train --data data/echo.h5 --out artifacts/model.keras
"""
import contextlib
import csv
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import click

from pipeline import cluster, data, presets
from pipeline import curriculum as lengths_curriculum
from pipeline.curriculum import parse as parse_lengths
from pipeline.files import writable_target, write_json_atomic, write_text_atomic
from pipeline.options import data_option

VAL_BATCH = 4096
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


def side_paths(model_path) -> dict:
    """Files written beside the model."""
    out = Path(model_path)
    return {"history": out.with_name("history.csv"), "train": out.with_name("train.json"),
            "backup": out.with_name(f".{out.stem}.backup"), "plots": out.with_name("plots")}


def configure_threads(threads: int) -> None:
    """Intra-op threads (0 keeps TensorFlow's choice); must run before TensorFlow starts executing."""
    if threads:
        from pipeline.backend import tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _timing_callback(keras, target: float, stop_at_target: bool, rows: list, rows_file: Path):
    class Timing(keras.callbacks.Callback):
        """History rows with elapsed time (kept in rows_file for a resumed run); the seconds until
        validation accuracy first reaches 0.999 and the target; stops training at the target."""

        def __init__(self):
            super().__init__()
            self.rows, self.reached, self.train_seconds = list(rows), {}, []
            self.t0 = time.perf_counter()
            self.first_epoch = None  # where fit started: BackupAndRestore's last completed epoch

        def on_epoch_begin(self, epoch, logs=None):
            if self.first_epoch is None:  # keep the rows of restored epochs only; elapsed time goes on
                self.first_epoch = epoch
                self.rows = [r for r in self.rows if r["epoch"] <= epoch]
                self.t0 -= self.rows[-1]["seconds"] if self.rows else 0
            self.epoch_t = time.perf_counter()

        def on_test_begin(self, logs=None):
            self.train_seconds.append(time.perf_counter() - self.epoch_t)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            now = time.perf_counter() - self.t0
            row = {"epoch": epoch + 1, **{k: logs.get(k) for k in HISTORY_FIELDS[1:5]}, "seconds": round(now, 4)}
            self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
            if rows_file:  # the chief's only, under multi-worker
                write_text_atomic(rows_file, json.dumps(self.rows))
            acc = logs.get("val_accuracy", 0.0)
            for name, level in (("0.999", 0.999), ("target", target)):
                if acc >= level and name not in self.reached:
                    self.reached[name] = round(now, 4)
            if stop_at_target and acc >= target:
                self.model.stop_training = True

    return Timing()


def train(data_path, out, *, batch_size=None, epochs=None, steps_per_epoch=None, units=None, optimizer="adam",
          learning_rate=None, momentum=0.9, clipnorm=None, curriculum=None, tensorboard=False, seed=0,
          target_accuracy=1.0, steps_per_execution=1,
          jit=False, unroll=None, deterministic=False, threads=0, stop_at_target=True, verbose=2,
          t_start=None, strategy="single", worker_report=None) -> dict:
    """Train and write the model, history.csv and train.json. Returns the train.json record."""
    t_start = t_start or time.perf_counter()
    info = data.describe(data_path)
    chosen = presets.resolve_training(  # options left None come from the dataset's preset
        info.attrs.get("problem"), optimizer, batch_size=batch_size, epochs=epochs, steps_per_epoch=steps_per_epoch,
        units=units, learning_rate=learning_rate, clipnorm=clipnorm, curriculum=curriculum)
    batch_size, epochs, steps_per_epoch, units = (chosen[k] for k in ("batch_size", "epochs", "steps_per_epoch",
                                                                       "units"))
    learning_rate, clipnorm = chosen["learning_rate"], chosen["clipnorm"]
    curriculum = lengths_curriculum.stages(chosen["curriculum"], info.length, info.out_index)[:-1]
    if curriculum:
        if strategy != "single":
            raise click.BadParameter("a curriculum runs on one worker only; use --curriculum none",
                                     param_hint="'--curriculum'")
        unroll = False  # the curriculum's model takes any length
    role = cluster.worker_role() if strategy == "multi-worker" else None
    if role:
        cluster.per_worker_batch(batch_size, role.workers)
        if jit:  # TensorFlow: "Collectives are not yet implemented for CPU devices when compiling with XLA"
            click.echo("warning: --jit is off under multi-worker (XLA cannot compile collectives on CPU)", err=True)
            jit = False
    chief = role is None or role.chief  # only the chief writes, and only it needs --out writable
    out = writable_target(out) if chief else Path(out)
    paths = side_paths(out)
    params = {"batch_size": batch_size, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "units": units,
              "optimizer": optimizer, "learning_rate": learning_rate,
              "momentum": momentum if optimizer == "sgd" else None, "clipnorm": clipnorm or None,
              "curriculum": list(curriculum), "seed": seed,
              "target_accuracy": target_accuracy, "steps_per_execution": steps_per_execution, "jit": jit,
              "unroll": unroll, "deterministic": deterministic, "threads": threads,
              "stop_at_target": stop_at_target,
              "workers": role.workers if role else 1}
    dataset = {"path": str(info.path), "content_hash": info.content_hash, "problem": info.problem,
               "params": info.params}

    configure_threads(threads)
    from pipeline import model as m
    from pipeline import plots, reader
    from pipeline.backend import keras, tf, versions

    worker = None
    if role:  # the strategy comes first: it starts this worker's server
        from pipeline import distributed
        worker = distributed.Worker(role)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    # The chief keeps the backup (tf-keras has the others write only to temporary folders it deletes),
    # before the first collective op, so no worker restores from a backup it is about to drop.
    resumed_rows = _prepare_backup(paths["backup"], {"params": params, "dataset": dataset}) if chief else []

    with worker.strategy.scope() if worker else contextlib.nullcontext():
        net = m.build_model(info.length, info.n_features, units, unroll)
        m.compile_model(net, m.make_optimizer(optimizer, learning_rate, momentum, clipnorm), steps_per_execution, jit)
    whole_batches = worker is None and holds_a_batch(info, batch_size)
    if worker:
        train_ds, val_ds = worker.datasets(info, batch_size, seed, VAL_BATCH)
    else:
        train_ds = training_dataset(info, batch_size, seed)
        val_ds = reader.make_dataset(info, "val", VAL_BATCH, cache=True)
    one_pass = info.rows["train"] // batch_size if whole_batches else -(-info.rows["train"] // batch_size)
    steps = steps_per_epoch or one_pass
    timing = _timing_callback(keras, target_accuracy, stop_at_target, resumed_rows,
                              paths["backup"] / "history.json" if chief else None)
    callbacks = [timing, keras.callbacks.BackupAndRestore(str(paths["backup"] / "checkpoint"))]
    if tensorboard and chief:  # one folder per run, so TensorBoard can compare them
        logs = out.parent / "tensorboard" / time.strftime("run-%Y%m%d-%H%M%S")
        callbacks.append(keras.callbacks.TensorBoard(str(logs), histogram_freq=0, profile_batch=0))
    fit_model, stages = net, None
    if curriculum:
        fit_model, train_ds, stages = lengths_curriculum.prepare(
            net, train_ds, curriculum, info, paths["backup"] / "curriculum.json", seed, steps_per_execution, jit)
        callbacks.append(stages)

    t_fit = timing.t0 = time.perf_counter()
    fit_model.fit(train_ds, epochs=epochs, steps_per_epoch=steps, validation_data=val_ds,
            validation_steps=-(-info.rows["val"] // VAL_BATCH), callbacks=callbacks,
            verbose=verbose)
    fit_seconds = time.perf_counter() - t_fit

    rows = timing.rows
    later = timing.train_seconds[1:]  # the first epoch includes tracing
    step_rows = min(batch_size, info.rows["train"])  # a split smaller than a batch is one short batch
    record = {
        "params": params,
        "dataset": dataset,
        "model": {"units": units, "parameters": int(net.count_params()), "path": str(out)},
        "epochs_run": len(rows),
        "resumed_after_epoch": (len(resumed_rows) if timing.first_epoch is None else timing.first_epoch) or None,
        "train_samples": len(rows) * steps * step_rows,
        "final": rows[-1] if rows else {},
        "target_reached": bool(rows) and (rows[-1]["val_accuracy"] or 0) >= target_accuracy,
        "seconds_to_target": timing.reached.get("target"),
        "seconds_to_0.999": timing.reached.get("0.999"),
        "curriculum": [s for s in stages.state["log"] if s["from_epoch"] <= len(rows)] if stages else None,
        "fit_seconds": round(fit_seconds, 4),
        "train_samples_per_s": round(len(later) * steps * step_rows / sum(later)) if later else None,
        "versions": versions(),
    }
    if worker_report:
        from pipeline import distributed
        write_json_atomic(worker_report, distributed.report(net, role or cluster.Role(1, 0, True), record))
    metadata = {k: record[k] for k in ("params", "dataset", "model", "versions")}
    if not chief:  # saving reads all-reduced variables, so every worker saves: the others to a temp folder
        with tempfile.TemporaryDirectory(prefix="echo-worker-") as tmp:
            m.save_model(net, Path(tmp) / out.name, metadata)
        return record
    write_text_atomic(paths["history"], history_csv(rows))
    plots.history_png(rows, paths["plots"] / "history.png", title=f"{out} ({info.attrs.get('problem') or 'custom'})",
                      stages=record["curriculum"] or ())
    m.save_model(net, out, metadata)
    record["wall_seconds"] = round(time.perf_counter() - t_start, 4)
    write_json_atomic(paths["train"], record)
    shutil.rmtree(paths["backup"], ignore_errors=True)
    return record


def holds_a_batch(info, batch_size: int) -> bool:
    """Single-process training reads whole batches only (a static batch shape: a faster trace and
    step), unless the training split is smaller than one batch."""
    return info.rows["train"] >= batch_size


def training_dataset(info, batch_size: int, seed: int, source: str = "hdf5"):
    """The shuffled, repeated training batches of a single-process run, from the HDF5 reader or (the
    benchmark's baseline) from memory."""
    from pipeline import reader

    make = reader.make_memory_dataset if source == "memory" else reader.make_dataset
    return make(info, "train", batch_size, shuffle=True, seed=seed, repeat=True,
                drop_remainder=holds_a_batch(info, batch_size))


def _prepare_backup(backup: Path, identity: dict) -> list:
    """Keep a backup only if it was made with the same parameters and data; returns its history rows."""
    stamp = backup / "run.json"
    if backup.exists():
        try:
            same = json.loads(stamp.read_text()) == json.loads(json.dumps(identity))
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(backup)
    backup.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(identity))
    rows_file = backup / "history.json"
    return json.loads(rows_file.read_text()) if rows_file.exists() else []


def _preset_help(key, fmt=str) -> str:
    return presets.default_help(presets.TRAINING, key, fmt)


@click.command("train")
@data_option
@click.option("--out", type=click.Path(), default="artifacts/model.keras", show_default=True,
              help="Model file (.keras); history.csv and train.json are written beside it.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Batch size.  " + _preset_help("batch_size"))
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Most epochs to run (training stops earlier at --target-accuracy).  " + _preset_help("epochs"))
@click.option("--steps-per-epoch", type=click.IntRange(min=0), default=None,
              help="Batches per epoch, i.e. between validations; 0 = one pass over the training split.  "
                   + _preset_help("steps_per_epoch"))
@click.option("--units", type=click.IntRange(min=1), default=None, help="LSTM units.  " + _preset_help("units"))
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True,
              help="Optimizer.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate.  " + _preset_help("learning_rate", lambda lr: f"adam {lr['adam']}, sgd {lr['sgd']}"))
@click.option("--momentum", type=click.FloatRange(min=0, max=1, max_open=True), default=0.9, show_default=True,
              help="SGD momentum, in [0, 1).")
@click.option("--clipnorm", type=click.FloatRange(min=0), default=None,
              help="Clip each gradient to this norm; 0 = no clipping.  " + _preset_help("clipnorm"))
@click.option("--curriculum", default=None, callback=lambda ctx, param, v: None if v is None else parse_lengths(v),
              help="Prefix lengths to train on before the full length, e.g. 5,10,20 (advancing at training "
                   "accuracy 0.999); 'none' for none.  "
                   + _preset_help("curriculum", lambda c: ",".join(map(str, c)) or "none"))
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard logs to tensorboard/ beside --out.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of weight initialisation and shuffling.")
@click.option("--target-accuracy", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0,
              show_default=True, help="Stop once validation accuracy reaches this, in (0, 1].")
@click.option("--stop-at-target/--no-stop-at-target", default=True, show_default=True,
              help="Stop once --target-accuracy is reached, or run all --epochs.")
@click.option("--steps-per-execution", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batches per compiled call: faster steps, slower first trace.")
@click.option("--jit/--no-jit", default=False, show_default=True,
              help="Compile the train step with XLA: faster steps after seconds of compiling.")
@click.option("--unroll/--no-unroll", default=None,
              help="Unroll the LSTM over time.  [default: when length <= 32]")
@click.option("--deterministic", is_flag=True, help="TensorFlow op determinism: identical weights on rerun.")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="TensorFlow intra/inter-op threads; 0 = TensorFlow's choice.")
@click.option("--strategy", type=click.Choice(["single", "multi-worker"]), default="single", show_default=True,
              help="multi-worker: this process is one worker of the tf.distribute cluster in TF_CONFIG "
                   "(see train-cluster); --batch-size is then the global batch, split among the workers.")
@click.option("--worker-report", type=click.Path(dir_okay=False), default=None,
              help="Also write this process's own summary (rows it read, weights digest) to this JSON file.")
def cli(data_path, out, **options):
    """Train the vanilla LSTM on the dataset's train split."""
    t_start = time.perf_counter()
    model_path(out)
    record = train(data_path, out, t_start=t_start, **options)
    reached = "reached" if record["target_reached"] else "did NOT reach"
    chief = options["strategy"] == "single" or cluster.worker_role().chief
    done = f"wrote {out}" if chief else "worker done (the chief writes)"
    click.echo(f"{done}: {record['epochs_run']} epochs, val accuracy {record['final'].get('val_accuracy'):.4f} "
               f"({reached} target {options['target_accuracy']}), {record['fit_seconds']:.2f} s in fit"
               + (f", {record['train_samples_per_s']:,} samples/s" if record["train_samples_per_s"] else ""))


def model_path(out) -> Path:
    if Path(out).suffix != ".keras":
        raise click.BadParameter(f"{out} must end in .keras", param_hint="'--out'")
    return Path(out)


def history_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, HISTORY_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()
