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
import math
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import click

from pipeline import config, curriculum, data, params, presets, recipe
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
from pipeline.options import data_option

Options = params.options_class("Options", params.TRAIN)  # what a run is asked for; None: the preset decides


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: the dataset's facts, its resolved parameters, the model it writes, its role."""
    info: data.DatasetInfo
    settings: dict
    out: Path
    role: Role = SINGLE

    @property
    def paths(self) -> dict:
        return side_paths(self.out)


@dataclasses.dataclass(frozen=True)
class Feeds:
    """This process's batches of the training and validation splits, the batches of an epoch, and the
    optimizer steps each training call makes (more than 1: model.MultiStep)."""
    train: object
    val: object
    steps: int
    steps_per_call: int = 1


@dataclasses.dataclass(frozen=True)
class Fitted:
    """What model.fit left: the epoch log, the curriculum (None without one), batches per epoch, seconds,
    and with --keep-best the epoch whose weights were kept."""
    log: object
    curriculum: object
    steps: int
    seconds: float
    kept_epoch: int | None = None


def side_paths(model_path) -> dict:
    """Files written beside the model."""
    out = Path(model_path)
    return {"history": out.with_name("history.csv"), "train": out.with_name("train.json"),
            "backup": out.with_name(f".{out.stem}.backup"), "plots": out.with_name("plots")}


def training_defaults(info) -> dict:
    """What a run takes for the options not given, and `why`. The echo problem: its preset's (the keys
    a preset leaves out: the default problem's). Imported data: the data-driven recipe (recipe.py), over
    which its preset, if it has one, sets what it names."""
    problem = info.attrs.get("problem")
    if info.out_index is not None:
        return {**params.preset_section(problem, "train"), "why": f"preset {problem or presets.DEFAULT_PROBLEM}"}
    chosen = recipe.choose(recipe.facts(info, data.train_lengths(info.path)))
    own = params.checked_presets().get(problem, {}).get("train") if problem else None
    if own is None:
        return chosen
    needed = {p.name for p in params.TRAIN if p.default is params.PRESET}
    return {**{k: v for k, v in chosen.items() if k in needed}, **own,
            "why": f"preset {problem} (the recipe's for what it leaves out)"}


def one_pass(info, batch_size: int) -> int:
    """Batches of one pass over the training split (whole batches, unless the split is smaller)."""
    rows = info.rows["train"]
    return rows // batch_size if holds_a_batch(info, batch_size) else math.ceil(rows / batch_size)


def resolve(options: Options, info, role: Role = SINGLE) -> dict:
    """The run's settings, as train.json records them: the options given, the rest from the dataset's
    preset or the recipe (training_defaults), checked against the dataset and the cluster."""
    defaults = training_defaults(info)
    chosen = params.resolve(params.TRAIN, dataclasses.asdict(options), defaults)
    if isinstance(chosen["learning_rate"], dict):  # a preset's rate is per optimizer
        chosen["learning_rate"] = chosen["learning_rate"][chosen["optimizer"]]
    if not chosen["front_mean"] and options.branch_dropout is None:
        chosen["branch_dropout"] = 0.0  # the recipe's goes with its front end's mean; --no-front-mean drops both
    if chosen["budget"]:
        chosen["epochs"] = math.ceil(chosen["budget"] / (chosen["steps_per_epoch"] or
                                                         one_pass(info, chosen["batch_size"])))
    if chosen["curriculum"] and info.out_index is None:
        raise click.BadParameter("a curriculum trains on prefixes of echo sequences; this dataset is not the echo "
                                 "problem: use --curriculum 0", param_hint="'--curriculum'")
    prefixes = curriculum.lengths(chosen["curriculum"], info.length, info.out_index or 0)[:-1]
    if prefixes and role.workers > 1:
        raise click.BadParameter("a curriculum runs on one worker only; use --curriculum 0",
                                 param_hint="'--curriculum'")
    if chosen["unroll"] and info.variable:
        raise click.BadParameter("sequences of different lengths run through the LSTM's loop: use --no-unroll",
                                 param_hint="'--unroll'")
    if 0 < chosen["chrono"] < 3:
        raise click.BadParameter(f"{chosen['chrono']}: 0 (off) or a lag of 3 steps or more", param_hint="'--chrono'")
    check_architecture(chosen)
    check_selection(chosen)
    per_worker_batch(chosen["batch_size"], role.workers)
    if chosen["jit"] and role.workers > 1:
        click.echo("warning: --jit is off under multi-worker (XLA cannot compile collectives on CPU)", err=True)
        chosen["jit"] = False
    if chosen["conv"] and recipe.front_underfits(info.variable, info.kind):
        click.echo("warning: a conv front end underfits real-valued sequences of different lengths (it shifts "
                   "them far from zero to keep padding zero: docs/experiments.md); --conv 0 avoids it", err=True)
    return {**chosen, "momentum": chosen["momentum"] if chosen["optimizer"] == "sgd" else None,
            "clipnorm": chosen["clipnorm"] or None, "curriculum": list(prefixes),
            "lr_at_length": chosen["lr_at_length"] if prefixes else 0,
            "unroll": False if prefixes else chosen["unroll"],  # the curriculum's model takes any length
            "workers": role.workers, "chosen_by": defaults["why"]}


def check_architecture(chosen: dict) -> None:
    """Refuse an option that means nothing for the member of the model family chosen."""
    refusals = [
        (chosen["chrono"] and chosen["cell"] != "lstm", "'--chrono'",
         f"chrono initialisation sets an LSTM's forget gates; a {chosen['cell'].upper()} has none: use --chrono 0"),
        (chosen["chrono"] and chosen["conv"], "'--chrono'",
         "chrono lags count input steps, which the conv front end shortens: use --chrono 0 with --conv"),
        (chosen["backwards"] and chosen["bidirectional"], "'--backwards'",
         "a bidirectional model already reads from the last step: use --no-backwards"),
        (chosen["backwards"] and chosen["pool"] == "mean", "'--backwards'",
         "the mean over the steps reads every step whichever way: use --no-backwards with --pool mean"),
        (chosen["front_mean"] and not chosen["conv"], "'--front-mean'",
         "the front end's mean needs a front end: give --conv K (1 or more) or use --no-front-mean"),
        (chosen["branch_dropout"] and not chosen["front_mean"], "'--branch-dropout'",
         "branch dropout drops the recurrent part beside the front end's mean: give --front-mean or use "
         "--branch-dropout 0"),
        (chosen["front_mean"] and chosen["curriculum"], "'--curriculum'",
         "a curriculum trains a plain stack of layers, which --front-mean is not: use --curriculum 0"),
    ]
    for refused, hint, why in refusals:
        if refused:
            raise click.BadParameter(why, param_hint=hint)


def check_selection(chosen: dict) -> None:
    """Refuse ways of choosing the final weights that undo each other."""
    if chosen["keep_best"] and chosen["ema"]:
        raise click.BadParameter("--keep-best keeps one epoch's weights and --ema ends with their moving average: "
                                 "use one", param_hint="'--keep-best'")
    if chosen["schedule"] != "constant" and chosen["curriculum"]:
        raise click.BadParameter("a curriculum sets the learning rate of each length itself: use --schedule "
                                 "constant", param_hint="'--schedule'")


def build(info, settings: dict, strategy=None):
    """The compiled model, its variables under the strategy's scope when there is one."""
    from pipeline.model import build_model, chrono_init, compile_model, learning_rate, make_optimizer

    with strategy.scope() if strategy else contextlib.nullcontext():
        net = build_model(info.problem, settings)
        if settings["chrono"]:
            chrono_init(net, settings["chrono"], settings["seed"])
        steps = settings["epochs"] * (settings["steps_per_epoch"] or one_pass(info, settings["batch_size"]))
        rate = learning_rate(settings["learning_rate"], settings["schedule"], steps)
        optimizer = make_optimizer(settings["optimizer"], rate, settings["momentum"] or 0.0,
                                   settings["clipnorm"], settings["ema"])
        compile_model(net, optimizer, settings["steps_per_execution"], settings["jit"], settings["label_smoothing"])
    return net


def holds_a_batch(info, batch_size: int) -> bool:
    """Single-process training reads whole batches only (a static batch shape: a faster trace and
    step), unless the training split is smaller than one batch."""
    return info.rows["train"] >= batch_size


def training_dataset(info, batch_size: int, seed: int, cast: bool = True, steps_per_call: int = 1):
    """The shuffled, repeated training batches of a single-process run (stacked by steps_per_call)."""
    from pipeline import reader

    return reader.make_dataset(info, "train", batch_size, reader.Reading(
        shuffle_seed=seed, repeat=True, drop_remainder=holds_a_batch(info, batch_size), cast=cast,
        steps_per_call=steps_per_call))


def steps_per_call(settings: dict, steps: int, rows: int) -> int:
    """Optimizer steps per training call, in one compiled loop (model.MultiStep): the most, up to
    --steps-per-execution, that divide an epoch's `steps` and fit in the training split's `rows`; 1 for
    a curriculum (its batches differ in length)."""
    most = min(settings["steps_per_execution"], steps, rows // settings["batch_size"])
    if settings["curriculum"] or most <= 1:
        return 1
    return next(g for g in range(most, 0, -1) if steps % g == 0)


def val_batch(info) -> int:
    return data.forward_batch(config.VAL_BATCH, info.length, info.n_features)


def datasets(info, settings: dict, worker=None, cast: bool = True) -> Feeds:
    """This process's batches of each split (uint8 with cast=False), and the batches of an epoch."""
    from pipeline import reader

    batch_size = settings["batch_size"]
    if worker:
        train_ds, val_ds = worker.datasets(info, batch_size, settings["seed"], val_batch(info))
        return Feeds(train_ds, val_ds, settings["steps_per_epoch"] or math.ceil(info.rows["train"] / batch_size))
    steps = settings["steps_per_epoch"] or one_pass(info, batch_size)
    per_call = 1 if info.variable else steps_per_call(settings, steps, info.rows["train"])  # lengths differ per batch
    train_ds = training_dataset(info, batch_size, settings["seed"], cast, per_call)
    val_ds = reader.make_dataset(info, "val", val_batch(info), reader.Reading(cache=True, cast=cast))
    return Feeds(train_ds, val_ds, steps, per_call)


def fit(net, run: Run, worker=None, verbose: int = 2) -> Fitted:
    """model.fit until the target or the last epoch, resuming from a backup of the same run."""
    from pipeline.backend import keras
    from pipeline.callbacks import Backup, Curriculum, EpochLog

    info, settings, paths, chief = run.info, run.settings, run.paths, run.role.chief
    feeds = datasets(info, settings, worker, cast=not settings["curriculum"])
    # The chief keeps the backup (tf-keras has the others write only to temporary folders it deletes),
    # before the first collective op, so no worker restores from a backup it is about to drop.
    restored = _prepare_backup(paths["backup"], {"settings": settings, "dataset": info.provenance}) if chief else []
    fit_model, train_ds, val_ds, lengths = net, feeds.train, feeds.val, None
    if settings["curriculum"]:
        lengths = Curriculum(net, info, settings, paths["backup"] / "curriculum.json")
        fit_model, (train_ds, val_ds) = lengths.trainer(), lengths.feeds(train_ds, val_ds)
    elif feeds.steps_per_call > 1:
        fit_model = multi_step_trainer(net, settings)
    log = EpochLog(settings, paths["backup"] if chief else None, restored, info.length, lengths)
    # The checkpoint outlives fit: if writing the artifacts fails, a rerun resumes from it (write() removes it).
    # Every epoch under a curriculum (its state file goes with each) and on several workers (whose clocks differ).
    every_epoch = settings["curriculum"] or run.role.workers > 1
    backup = Backup(str(paths["backup"] / "checkpoint"), 0.0 if every_epoch else config.BACKUP_SECONDS)
    # --keep-best: the epoch of least validation loss, restored at the end (a resumed run tracks it anew)
    best = keras.callbacks.EarlyStopping("val_loss", patience=max(1, settings["epochs"] // 4),
                                         restore_best_weights=True) if settings["keep_best"] else None
    callbacks = [log, backup, *([lengths] if lengths else []), *([best] if best else [])]
    if settings["tensorboard"] and chief:  # one folder per run, so TensorBoard can compare them
        logs = paths["history"].parent / "tensorboard" / time.strftime("run-%Y%m%d-%H%M%S")
        callbacks.append(keras.callbacks.TensorBoard(str(logs), histogram_freq=0, profile_batch=0))
    t = log.t0 = time.perf_counter()
    try:
        fit_model.fit(train_ds, epochs=settings["epochs"], steps_per_epoch=feeds.steps // feeds.steps_per_call,
                      validation_data=val_ds,
                      validation_steps=math.ceil(info.rows["val"] / val_batch(info)), callbacks=callbacks,
                      verbose=verbose)
    except Exception as e:  # the checkpoint is written by TensorFlow, whose errors carry the system's reason
        reason = None if isinstance(e, WriteFailed) else write_failure(e)
        if reason is None:
            raise
        raise WriteFailed(paths["backup"], reason) from None
    return Fitted(log, lengths, feeds.steps, time.perf_counter() - t, best.best_epoch + 1 if best else None)


def multi_step_trainer(net, settings: dict):
    """The model that fits several steps per call (model.MultiStep): net's layers and optimizer."""
    from pipeline.model import compile_model, multi_step

    model = multi_step(net)
    compile_model(model, net.optimizer, 1, settings["jit"], settings["label_smoothing"])
    return model


def run_record(net, run: Run, fitted: Fitted) -> dict:
    """What train.json records of a finished fit."""
    from pipeline.backend import versions

    info, settings, log, steps = run.info, run.settings, fitted.log, fitted.steps
    rows = log.rows
    later = log.train_seconds[1:]  # the first epoch includes tracing
    step_rows = min(settings["batch_size"], info.rows["train"])  # a split smaller than a batch is one short batch
    return {
        "settings": settings,
        "dataset": info.provenance,
        "model": {"architecture": net.name, "units": settings["units"], "parameters": int(net.count_params()),
                  "path": str(run.out)},
        "epochs_run": len(rows),
        "kept_epoch": fitted.kept_epoch,
        "resumed_after_epoch": log.resumed_after,
        "train_samples": len(rows) * steps * step_rows,
        "final": rows[-1] if rows else {},
        "target_reached": bool(rows) and (rows[-1]["val_accuracy"] or 0) >= settings["target_accuracy"],
        "seconds_to_target": log.reached.get("target"),
        "seconds_to_0.999": log.reached.get("0.999"),
        **{f"sequences_to_{name}": log.reached_epoch[name] * steps * step_rows
           if name in log.reached_epoch else None for name in ("target", "0.999")},
        "curriculum": ([s for s in fitted.curriculum.state["log"] if s["from_epoch"] <= len(rows)]
                       if fitted.curriculum else None),
        "fit_seconds": round(fitted.seconds, 4),
        "train_samples_per_s": round(len(later) * steps * step_rows / sum(later)) if later else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,  # Linux: KiB
        "versions": versions(),
    }


def write(net, run: Run, record: dict, history: list, t_start: float) -> None:
    """The chief's artifacts: history.csv, the history plot, the model and train.json, each written to a
    temporary file and renamed into place only once all are complete (train.json last, so it stands for
    a finished run); then the backup goes. A failed write leaves every previous file as it was."""
    from pipeline import plots
    from pipeline.model import save_model

    paths = run.paths
    made_plots = not paths["plots"].exists()
    paths["plots"].mkdir(exist_ok=True)
    try:
        with published_together() as outputs:
            with outputs.output(paths["history"]) as tmp:
                tmp.write_text(history_csv(history))
            with outputs.output(paths["plots"] / "history.png") as tmp:
                title = f"{run.out} ({run.info.attrs.get('problem') or 'custom'})"
                plots.write_png(plots.history_figure(history, title, phases=record["curriculum"] or ()), tmp)
            with outputs.output(run.out) as tmp:
                save_model(net, tmp, model_metadata(record))
            with outputs.output(paths["train"]) as tmp:
                tmp.write_text(json_text({**record, "wall_seconds": round(time.perf_counter() - t_start, 4)}))
    except BaseException:
        if made_plots:
            shutil.rmtree(paths["plots"], ignore_errors=True)
        raise
    shutil.rmtree(paths["backup"], ignore_errors=True)


def model_metadata(record: dict) -> dict:
    return {k: record[k] for k in ("settings", "dataset", "model", "versions")}


def train(data_path, out, options: Options | None = None, *, role: Role = SINGLE, verbose: int = 2) -> dict:
    """Train and write the model, history.csv and train.json; returns the train.json record. Under
    multi-worker (role from TF_CONFIG), every worker trains and only the chief writes."""
    t_start = time.perf_counter()
    info = data.describe(data_path)
    run = Run(info, resolve(options or Options(), info, role), writable_target(out) if role.chief else Path(out), role)
    configure_threads(run.settings["threads"])
    from pipeline.backend import keras, tf

    worker = None
    if role.workers > 1:  # the strategy comes first: it starts this worker's server
        from pipeline.distributed.worker import Worker
        worker = Worker(role)
    keras.utils.set_random_seed(run.settings["seed"])
    if run.settings["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    net = build(info, run.settings, worker.strategy if worker else None)
    try:
        fitted = fit(net, run, worker, verbose)
        record = run_record(net, run, fitted)
        if worker:
            record["worker"] = worker.report(net)
        if not role.chief:  # saving reads all-reduced variables, so every worker saves: the others to a temp folder
            from pipeline.model import save_model
            with tempfile.TemporaryDirectory(prefix="echo-worker-") as tmp:
                save_model(net, Path(tmp) / run.out.name, model_metadata(record))
            return record
        write(net, run, record, fitted.log.rows, t_start)
    except WriteFailed as e:
        raise WriteFailed(e.path, e.reason, keep_resumable(run.paths["backup"])) from None
    return record


def keep_resumable(backup: Path) -> str:
    """After a failed write: keep the backup if it holds a saved epoch (and say so), else remove it."""
    # os.walk passes over folders another process deletes meanwhile (tf-keras' worker temp folders)
    if any("checkpoint" in files for _, _, files in os.walk(backup / "checkpoint")):
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


@click.command("train")
@data_option
@click.option("--out", type=click.Path(), default=config.MODEL_PATH, show_default=True,
              help="Model file (.keras); history.csv and train.json are written beside it.")
@params.options(params.TRAIN, "train")
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
               f"({reached} target {record['settings']['target_accuracy']}), {record['fit_seconds']:.2f} s in fit"
               + (f", {record['train_samples_per_s']:,} samples/s" if record["train_samples_per_s"] else ""))
