"""Stage 2, train: fit the vanilla LSTM with model.fit, fed by tf.data from the HDF5 file.

Reads --data (the model's shape comes from the file's own attributes); writes --out (model.keras, with
its metadata inside) and, beside it, history.csv (one row per epoch), train.json and plots/history.png.
An epoch is --steps-per-epoch batches (0: one pass over the training split); validation runs on the
val split after every epoch and training stops once validation accuracy reaches --target-accuracy. A
killed run resumes from its last completed epoch when rerun with the same parameters.

    python -m pipeline train --data data/echo.h5 --out artifacts/model.keras

train() runs four steps: resolve (options + the dataset's preset -> parameters), build (the compiled
model), fit (datasets, callbacks, model.fit) and write (model, history, record).
"""
import contextlib
import csv
import dataclasses
import io
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import click

from pipeline import config, curriculum, data
from pipeline.distributed.role import SINGLE, Role, per_worker_batch, worker_role
from pipeline.files import (
    WriteFailed,
    json_text,
    published_together,
    writable_target,
    write_failure,
    write_json_atomic,
    write_text_atomic,
)
from pipeline.options import SEED, FiniteFloat, data_option, preset_help


@dataclasses.dataclass(frozen=True)
class Options:
    """What a run is asked for. None: the dataset's preset decides (config.TRAINING)."""
    batch_size: int | None = None  # the global batch under multi-worker
    epochs: int | None = None
    steps_per_epoch: int | None = None  # 0: one pass over the training split
    units: int | None = None
    optimizer: str = "adam"
    learning_rate: float | None = None
    momentum: float = 0.9  # SGD only
    clipnorm: float | None = None  # 0: no clipping
    curriculum: tuple | None = None  # prefix lengths before the full length; () for none
    lr_at_length: int | None = None  # a curriculum's stages shorter than this: a higher rate
    chrono: int | None = None  # chrono initialisation for lags up to this many steps; 0 for none
    seed: int = 0
    target_accuracy: float = 1.0
    stop_at_target: bool = True
    settle_epochs: int | None = None  # epochs on after first reaching the target
    steps_per_execution: int = 1
    jit: bool = False
    unroll: bool | None = None  # None: when the sequence is short (model.UNROLL_MAX_LENGTH)
    deterministic: bool = False
    threads: int = 0  # 0: TensorFlow's choice
    tensorboard: bool = False


def side_paths(model_path) -> dict:
    """Files written beside the model."""
    out = Path(model_path)
    return {"history": out.with_name("history.csv"), "train": out.with_name("train.json"),
            "backup": out.with_name(f".{out.stem}.backup"), "plots": out.with_name("plots")}


def resolve(options: Options, info, role: Role = SINGLE) -> dict:
    """The run's parameters, as train.json records them: the options given, the rest from the
    dataset's preset, checked against the dataset and the cluster."""
    chosen = config.resolve_training(
        info.attrs.get("problem"), options.optimizer, batch_size=options.batch_size, epochs=options.epochs,
        steps_per_epoch=options.steps_per_epoch, units=options.units, learning_rate=options.learning_rate,
        clipnorm=options.clipnorm, curriculum=options.curriculum, lr_at_length=options.lr_at_length,
        chrono=options.chrono, settle_epochs=options.settle_epochs)
    prefixes = curriculum.stages(chosen["curriculum"], info.length, info.out_index)[:-1]
    if prefixes and role.workers > 1:
        raise click.BadParameter("a curriculum runs on one worker only; use --curriculum none",
                                 param_hint="'--curriculum'")
    if 0 < chosen["chrono"] < 3:
        raise click.BadParameter(f"{chosen['chrono']}: 0 (off) or a lag of 3 steps or more", param_hint="'--chrono'")
    per_worker_batch(chosen["batch_size"], role.workers)
    jit = options.jit
    if jit and role.workers > 1:
        click.echo("warning: --jit is off under multi-worker (XLA cannot compile collectives on CPU)", err=True)
        jit = False
    return {**{k: chosen[k] for k in ("batch_size", "epochs", "steps_per_epoch", "units")},
            "optimizer": options.optimizer, "learning_rate": chosen["learning_rate"],
            "momentum": options.momentum if options.optimizer == "sgd" else None,
            "clipnorm": chosen["clipnorm"] or None, "curriculum": list(prefixes),
            "lr_at_length": chosen["lr_at_length"] if prefixes else 0, "chrono": chosen["chrono"],
            "seed": options.seed,
            "target_accuracy": options.target_accuracy, "steps_per_execution": options.steps_per_execution,
            "jit": jit, "unroll": False if prefixes else options.unroll,  # the curriculum's model takes any length
            "deterministic": options.deterministic, "threads": options.threads,
            "stop_at_target": options.stop_at_target, "settle_epochs": chosen["settle_epochs"],
            "workers": role.workers}


def build(info, params: dict, strategy=None):
    """The compiled model, its variables under the strategy's scope when there is one."""
    from pipeline.model import build_model, chrono_init, compile_model, make_optimizer

    with strategy.scope() if strategy else contextlib.nullcontext():
        net = build_model(info.length, info.n_features, params["units"], params["unroll"])
        if params["chrono"]:
            chrono_init(net, params["chrono"], params["seed"])
        optimizer = make_optimizer(params["optimizer"], params["learning_rate"], params["momentum"] or 0.0,
                                   params["clipnorm"])
        compile_model(net, optimizer, params["steps_per_execution"], params["jit"])
    return net


def holds_a_batch(info, batch_size: int) -> bool:
    """Single-process training reads whole batches only (a static batch shape: a faster trace and
    step), unless the training split is smaller than one batch."""
    return info.rows["train"] >= batch_size


def training_dataset(info, batch_size: int, seed: int, cast: bool = True):
    """The shuffled, repeated training batches of a single-process run."""
    from pipeline import reader

    return reader.make_dataset(info, "train", batch_size, shuffle=True, seed=seed, repeat=True,
                               drop_remainder=holds_a_batch(info, batch_size), cast=cast)


def val_batch(info) -> int:
    return data.forward_batch(config.VAL_BATCH, info.length, info.n_features)


def datasets(info, params: dict, worker=None, cast: bool = True):
    """(train, val, steps per epoch): this process's batches of each split (uint8 with cast=False)."""
    from pipeline import reader

    batch_size = params["batch_size"]
    if worker:
        train_ds, val_ds = worker.datasets(info, batch_size, params["seed"], val_batch(info))
        one_pass = -(-info.rows["train"] // batch_size)
    else:
        train_ds = training_dataset(info, batch_size, params["seed"], cast)
        val_ds = reader.make_dataset(info, "val", val_batch(info), cache=True, cast=cast)
        whole = holds_a_batch(info, batch_size)
        one_pass = info.rows["train"] // batch_size if whole else -(-info.rows["train"] // batch_size)
    return train_ds, val_ds, params["steps_per_epoch"] or one_pass


def fit(net, info, params: dict, paths: dict, *, worker=None, chief=True, tensorboard=False, verbose=2):
    """model.fit until the target or the last epoch, resuming from a backup of the same run.
    Returns (the History callback, the curriculum's callback or None, steps per epoch, seconds in fit)."""
    from pipeline.backend import keras
    from pipeline.callbacks import History

    train_ds, val_ds, steps = datasets(info, params, worker, cast=not params["curriculum"])
    # The chief keeps the backup (tf-keras has the others write only to temporary folders it deletes),
    # before the first collective op, so no worker restores from a backup it is about to drop.
    restored = _prepare_backup(paths["backup"], {"params": params, "dataset": info.provenance}) if chief else []
    fit_model, lengths = net, None
    if params["curriculum"]:
        fit_model, train_ds, val_ds, lengths = curriculum.prepare(
            net, train_ds, val_ds, params["curriculum"], info, paths["backup"] / "curriculum.json",
            params["seed"], params["steps_per_execution"], params["jit"], params["learning_rate"],
            params["lr_at_length"])
    history = History(params["target_accuracy"], params["stop_at_target"], paths["backup"] if chief else None,
                      restored, params["settle_epochs"], info.length, lengths)
    # The checkpoint outlives fit: if writing the artifacts fails, a rerun resumes from it (write() removes it).
    backup = keras.callbacks.BackupAndRestore(str(paths["backup"] / "checkpoint"), delete_checkpoint=False)
    callbacks = [history, backup]
    if tensorboard and chief:  # one folder per run, so TensorBoard can compare them
        logs = paths["history"].parent / "tensorboard" / time.strftime("run-%Y%m%d-%H%M%S")
        callbacks.append(keras.callbacks.TensorBoard(str(logs), histogram_freq=0, profile_batch=0))
    if lengths:
        callbacks.append(lengths)
    t = history.t0 = time.perf_counter()
    try:
        fit_model.fit(train_ds, epochs=params["epochs"], steps_per_epoch=steps, validation_data=val_ds,
                      validation_steps=-(-info.rows["val"] // val_batch(info)), callbacks=callbacks,
                      verbose=verbose)
    except Exception as e:  # the checkpoint is written by TensorFlow, whose errors carry the system's reason
        reason = None if isinstance(e, WriteFailed) else write_failure(e)
        if reason is None:
            raise
        raise WriteFailed(paths["backup"], reason) from None
    return history, lengths, steps, time.perf_counter() - t


def run_record(net, info, params: dict, out: Path, history, lengths, steps: int, fit_seconds: float) -> dict:
    """What train.json records of a finished fit."""
    from pipeline.backend import versions

    rows = history.rows
    later = history.train_seconds[1:]  # the first epoch includes tracing
    step_rows = min(params["batch_size"], info.rows["train"])  # a split smaller than a batch is one short batch
    return {
        "params": params,
        "dataset": info.provenance,
        "model": {"units": params["units"], "parameters": int(net.count_params()), "path": str(out)},
        "epochs_run": len(rows),
        "resumed_after_epoch": history.resumed_after,
        "train_samples": len(rows) * steps * step_rows,
        "final": rows[-1] if rows else {},
        "target_reached": bool(rows) and (rows[-1]["val_accuracy"] or 0) >= params["target_accuracy"],
        "seconds_to_target": history.reached.get("target"),
        "seconds_to_0.999": history.reached.get("0.999"),
        **{f"sequences_to_{name}": history.reached_epoch[name] * steps * step_rows
           if name in history.reached_epoch else None for name in ("target", "0.999")},
        "curriculum": [s for s in lengths.state["log"] if s["from_epoch"] <= len(rows)] if lengths else None,
        "fit_seconds": round(fit_seconds, 4),
        "train_samples_per_s": round(len(later) * steps * step_rows / sum(later)) if later else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,  # Linux: KiB
        "versions": versions(),
    }


def write(net, record: dict, info, out: Path, paths: dict, t_start: float) -> None:
    """The chief's artifacts: history.csv, the history plot, the model and train.json, each written to a
    temporary file and renamed into place only once all are complete (train.json last, so it stands for
    a finished run); then the backup goes. A failed write leaves every previous file as it was."""
    from pipeline import plots
    from pipeline.model import save_model

    history = record["history"]
    record = {k: v for k, v in record.items() if k != "history"}
    made_plots = not paths["plots"].exists()
    paths["plots"].mkdir(exist_ok=True)
    try:
        with published_together() as outputs:
            with outputs.output(paths["history"]) as tmp:
                tmp.write_text(history_csv(history))
            with outputs.output(paths["plots"] / "history.png") as tmp:
                title = f"{out} ({info.attrs.get('problem') or 'custom'})"
                plots.write_png(plots.history_figure(history, title, stages=record["curriculum"] or ()), tmp)
            with outputs.output(out) as tmp:
                save_model(net, tmp, model_metadata(record))
            with outputs.output(paths["train"]) as tmp:
                record["wall_seconds"] = round(time.perf_counter() - t_start, 4)
                tmp.write_text(json_text(record))
    except BaseException:
        if made_plots:
            shutil.rmtree(paths["plots"], ignore_errors=True)
        raise
    shutil.rmtree(paths["backup"], ignore_errors=True)


def model_metadata(record: dict) -> dict:
    return {k: record[k] for k in ("params", "dataset", "model", "versions")}


def train(data_path, out, options: Options = Options(), *, role: Role = SINGLE, verbose: int = 2) -> dict:
    """Train and write the model, history.csv and train.json; returns the train.json record. Under
    multi-worker (role from TF_CONFIG), every worker trains and only the chief writes."""
    t_start = time.perf_counter()
    info = data.describe(data_path)
    params = resolve(options, info, role)
    out = writable_target(out) if role.chief else Path(out)  # only the chief writes
    paths = side_paths(out)
    configure_threads(options.threads)
    from pipeline.backend import keras, tf

    worker = None
    if role.workers > 1:  # the strategy comes first: it starts this worker's server
        from pipeline.distributed.worker import Worker
        worker = Worker(role)
    keras.utils.set_random_seed(options.seed)
    if options.deterministic:
        tf.config.experimental.enable_op_determinism()
    net = build(info, params, worker.strategy if worker else None)
    try:
        history, lengths, steps, seconds = fit(net, info, params, paths, worker=worker, chief=role.chief,
                                               tensorboard=options.tensorboard, verbose=verbose)
        record = run_record(net, info, params, out, history, lengths, steps, seconds)
        if worker:
            record["worker"] = worker.report(net)
        if not role.chief:  # saving reads all-reduced variables, so every worker saves: the others to a temp folder
            from pipeline.model import save_model
            with tempfile.TemporaryDirectory(prefix="echo-worker-") as tmp:
                save_model(net, Path(tmp) / out.name, model_metadata(record))
            return record
        write(net, {**record, "history": history.rows}, info, out, paths, t_start)
    except WriteFailed as e:
        raise WriteFailed(e.path, e.reason, keep_resumable(paths["backup"])) from None
    return record


def keep_resumable(backup: Path) -> str:
    """After a failed write: keep the backup if it holds a saved epoch (and say so), else remove it."""
    if any((backup / "checkpoint").rglob("checkpoint")):
        return f"the training state is kept in {backup}: a rerun with the same options resumes from its last epoch"
    shutil.rmtree(backup, ignore_errors=True)
    return "no epoch was saved"


def configure_threads(threads: int) -> None:
    """Intra-op threads (0 keeps TensorFlow's choice); must run before TensorFlow starts executing."""
    if threads:
        from pipeline.backend import tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


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
    write_text_atomic(stamp, json.dumps(identity))
    rows_file = backup / "history.json"
    return json.loads(rows_file.read_text()) if rows_file.exists() else []


def history_csv(rows) -> str:
    from pipeline.callbacks import HISTORY_FIELDS

    buf = io.StringIO()
    w = csv.DictWriter(buf, HISTORY_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def model_path(out) -> Path:
    if Path(out).suffix != ".keras":
        raise click.BadParameter(f"{out} must end in .keras", param_hint="'--out'")
    return Path(out)


def _curriculum(ctx, param, value):
    return None if value is None else curriculum.parse(value)


DEFAULT = Options()
TRAINING_HELP = {key: preset_help(config.TRAINING, key) for key in (
    "batch_size", "epochs", "steps_per_epoch", "units", "clipnorm", "lr_at_length", "chrono", "settle_epochs")}


@click.command("train")
@data_option
@click.option("--out", type=click.Path(), default=config.MODEL_PATH, show_default=True,
              help="Model file (.keras); history.csv and train.json are written beside it.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size.  " + TRAINING_HELP["batch_size"])
@click.option("--epochs", type=click.IntRange(min=1),
              help="Most epochs to run (training stops earlier at --target-accuracy).  " + TRAINING_HELP["epochs"])
@click.option("--steps-per-epoch", type=click.IntRange(min=0),
              help="Batches per epoch, i.e. between validations; 0 = one pass over the training split.  "
                   + TRAINING_HELP["steps_per_epoch"])
@click.option("--units", type=click.IntRange(min=1), help="LSTM units.  " + TRAINING_HELP["units"])
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default=DEFAULT.optimizer, show_default=True,
              help="Optimizer.")
@click.option("--learning-rate", type=FiniteFloat(min=0, min_open=True),
              help="Learning rate.  " + preset_help(config.TRAINING, "learning_rate",
                                                    lambda lr: f"adam {lr['adam']}, sgd {lr['sgd']}"))
@click.option("--momentum", type=FiniteFloat(min=0, max=1, max_open=True), default=DEFAULT.momentum,
              show_default=True, help="SGD momentum, in [0, 1).")
@click.option("--clipnorm", type=FiniteFloat(min=0),
              help="Clip each gradient to this norm; 0 = no clipping.  " + TRAINING_HELP["clipnorm"])
@click.option("--curriculum", callback=_curriculum,
              help="Prefix lengths to train on before the full length, e.g. 5,10,20 (advancing at training "
                   "accuracy 0.999); 'none' for none.  "
                   + preset_help(config.TRAINING, "curriculum", lambda c: ",".join(map(str, c)) or "none"))
@click.option("--lr-at-length", type=click.IntRange(min=0),
              help="A curriculum trains at --learning-rate from this length on, and a shorter stage of length "
                   "L at learning-rate * sqrt(N / L); 0 = one rate for all.  " + TRAINING_HELP["lr_at_length"])
@click.option("--chrono", type=click.IntRange(min=0),
              help="Chrono initialisation of the gate biases for lags of up to this many steps (Tallec & "
                   "Ollivier, 2018); 0 = Keras' initialisation.  " + TRAINING_HELP["chrono"])
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard logs to tensorboard/ beside --out.")
@click.option("--seed", type=SEED, default=DEFAULT.seed, show_default=True,
              help="Seed of weight initialisation and shuffling.")
@click.option("--target-accuracy", type=FiniteFloat(min=0, max=1, min_open=True),
              default=DEFAULT.target_accuracy, show_default=True,
              help="Stop once validation accuracy reaches this, in (0, 1].")
@click.option("--stop-at-target/--no-stop-at-target", default=DEFAULT.stop_at_target, show_default=True,
              help="Stop once --target-accuracy is reached, or run all --epochs.")
@click.option("--settle-epochs", type=click.IntRange(min=0),
              help="Epochs to go on training after validation accuracy first reaches the target, a margin "
                   "for sequences the validation split does not hold.  " + TRAINING_HELP["settle_epochs"])
@click.option("--steps-per-execution", type=click.IntRange(min=1), default=DEFAULT.steps_per_execution,
              show_default=True, help="Batches per compiled call: faster steps, slower first trace.")
@click.option("--jit/--no-jit", default=DEFAULT.jit, show_default=True,
              help="Compile the train step with XLA: faster steps after seconds of compiling.")
@click.option("--unroll/--no-unroll", default=DEFAULT.unroll,
              help="Unroll the LSTM over time.  [default: when length <= 32]")
@click.option("--deterministic", is_flag=True, help="TensorFlow op determinism: identical weights on rerun.")
@click.option("--threads", type=click.IntRange(0, 1024), default=DEFAULT.threads, show_default=True,
              help="TensorFlow intra/inter-op threads; 0 = TensorFlow's choice.")
@click.option("--strategy", type=click.Choice(["single", "multi-worker"]), default="single", show_default=True,
              help="multi-worker: this process is one worker of the tf.distribute cluster in TF_CONFIG "
                   "(see train-cluster); --batch-size is then the global batch, split among the workers.")
@click.option("--worker-report", type=click.Path(dir_okay=False), default=None,
              help="Also write this process's own summary (rows it read, weights digest) to this JSON file.")
def cli(data_path, out, strategy, worker_report, **options):
    """Train the vanilla LSTM on the dataset's train split."""
    model_path(out)
    role = worker_role() if strategy == "multi-worker" else SINGLE
    record = train(data_path, out, Options(**options), role=role)
    if worker_report:
        write_json_atomic(worker_report, {**record.get("worker", {}), **{k: record[k] for k in (
            "epochs_run", "final", "target_reached", "fit_seconds", "train_samples_per_s")}})
    reached = "reached" if record["target_reached"] else "did NOT reach"
    done = f"wrote {out}" if role.chief else "worker done (the chief writes)"
    click.echo(f"{done}: {record['epochs_run']} epochs, val accuracy {record['final'].get('val_accuracy'):.4f} "
               f"({reached} target {options['target_accuracy']}), {record['fit_seconds']:.2f} s in fit"
               + (f", {record['train_samples_per_s']:,} samples/s" if record["train_samples_per_s"] else ""))
