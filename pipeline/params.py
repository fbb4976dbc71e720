"""Every parameter of generate and train, declared once: its option, type and range, help, default and
the Make variable that forwards it.

A default is a value, or PRESET: the problem preset's (config.PRESETS, one section per stage). From
these tables come the stages' click options and their --help (options()), `train.Options`
(options_class()) and the settings a run resolves (resolve()); tests/test_params.py checks the
Makefile's forwarded variables and `make help` against them. Adding a parameter is one line here, plus
the code that uses it (and its value in each preset, if it has one per preset). None always means "not
given": the default decides; 0 turns a knob off.
"""
import dataclasses
from typing import Any, Callable

import click

from pipeline import config
from pipeline.options import SEED, FiniteFloat, int_list

PRESET = "the preset's"  # a default taken from the problem preset


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    type: Any  # a click type
    help: str
    default: Any = PRESET
    make: str = ""  # the Make variable that forwards it ("" for none)
    flag: bool = False  # a --name/--no-name switch
    shown: Callable = str  # how --help shows a preset's default
    parse: Callable | None = None  # turns the option's text into the value (a click callback)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


def _curriculum(text):
    """'5,10,20' -> (5, 10, 20); '0' -> () (no curriculum); a tuple passes through."""
    if isinstance(text, (tuple, list)):
        return tuple(text)
    lengths = tuple(int_list(text.strip()))
    if lengths == (0,):
        return ()
    if any(b <= a for a, b in zip(lengths, lengths[1:])) or lengths[0] < 1:
        raise click.BadParameter(f"{text!r}: lengths must be positive and increasing")
    return lengths


GENERATE = (
    Param("problem", click.Choice([name for name, p in config.PRESETS.items() if "generate" in p]),
          "Problem preset: " + ", ".join(f"{name} ({p['generate']['length']} x {p['generate']['n_features']})"
                                         for name, p in config.PRESETS.items() if "generate" in p) + ".",
          default=config.DEFAULT_PROBLEM, make="PROBLEM"),
    Param("length", click.IntRange(min=1), "Sequence length (time steps).", make="LENGTH"),
    Param("n_features", click.IntRange(min=2), "Number of distinct values (one-hot width).", make="N_FEATURES"),
    Param("out_index", click.IntRange(min=0), "Position echoed as the label, in [0, length).", make="OUT_INDEX"),
    Param("n_train", click.IntRange(min=1), "Training sequences.", make="N_TRAIN", shown="{:,}".format),
    Param("n_val", click.IntRange(min=1), "Validation sequences.", make="N_VAL", shown="{:,}".format),
    Param("n_test", click.IntRange(min=1), "Test sequences.", make="N_TEST", shown="{:,}".format),
    Param("seed", SEED, "Seed of the random sequences (and, through Make, of training).", default=0, make="SEED"),
    Param("chunk_rows", click.IntRange(min=0), "HDF5 chunk length in rows; 0 picks about 1 MiB chunks.", default=0),
    Param("compression", click.Choice(list(config.COMPRESSION)), "HDF5 filter; uncompressed is fastest to write "
          "and read.", default="none"),
    Param("workers", click.IntRange(1, 64), "Threads making rows while the main thread writes.", default=2),
)

IMPORT = (
    Param("problem", click.Choice([name for name, p in config.PRESETS.items() if "import" in p]), "A benchmark "
          "that comes with the `ts` extra, instead of your files.", default=None, make="PROBLEM"),
    Param("train_file", click.Path(dir_okay=False), "Your training sequences (text/CSV, .npz or .ts).", default=None,
          make="TRAIN_FILE"),
    Param("test_file", click.Path(dir_okay=False), "Your test sequences, the same format.", default=None,
          make="TEST_FILE"),
    Param("val_file", click.Path(dir_okay=False), "Your validation sequences; without them, --n-val training "
          "sequences are carved out by --seed.", default=None, make="VAL_FILE"),
    Param("n_val", click.IntRange(min=1), "Training sequences carved out for validation.  [default: a tenth]",
          default=None, make="N_VAL"),
    Param("seed", SEED, "Seed of the validation carve (and, through Make, of training).", default=0, make="SEED"),
    Param("format", click.Choice(["auto", "text", "npz", "ts"]), "The files' format; auto: from their names "
          "(.csv .txt .tsv, .npz, .ts).", default="auto"),
    Param("kind", click.Choice(["auto", "tokens", "features"]), "tokens: whole numbers, stored one-hot; features: "
          "real values; auto: tokens when every value is a whole number >= 0, one per step.", default="auto"),
    Param("n_features", click.IntRange(min=1), "Tokens: how many values there are, [0, N).  [default: the "
          "largest seen + 1]", default=None),
    Param("classes", str, "The label names, in order, separated by commas; a label not among them is refused.  "
          "[default: the training labels, sorted]", default=None),
)

TRAIN = (
    Param("units", click.IntRange(min=1), "LSTM units.", make="UNITS"),
    Param("batch_size", click.IntRange(min=1), "Batch size (the global batch under multi-worker).",
          make="BATCH_SIZE"),
    Param("epochs", click.IntRange(min=1), "Most epochs to run (training stops earlier at --target-accuracy).",
          make="EPOCHS"),
    Param("steps_per_epoch", click.IntRange(min=0), "Batches per epoch, i.e. between validations; 0 = one pass "
          "over the training split."),
    Param("optimizer", click.Choice(["adam", "sgd"]), "Optimizer.", default="adam", make="OPTIMIZER"),
    Param("learning_rate", FiniteFloat(min=0, min_open=True), "Learning rate.", make="LR",
          shown=lambda lr: f"adam {lr['adam']}, sgd {lr['sgd']}"),
    Param("momentum", FiniteFloat(min=0, max=1, max_open=True), "SGD momentum, in [0, 1).", default=0.9,
          make="MOMENTUM"),
    Param("clipnorm", FiniteFloat(min=0), "Clip each gradient to this norm; 0 = no clipping.", make="CLIPNORM"),
    Param("curriculum", str, "Prefix lengths to train on before the full length, e.g. 5,10,20 (advancing at "
          "training accuracy 0.999); 0 = none.", make="CURRICULUM", parse=_curriculum,
          shown=lambda c: ",".join(map(str, c)) or "0"),
    Param("lr_at_length", click.IntRange(min=0), "A curriculum trains at --learning-rate from this length on, "
          "and a shorter stage of length L at learning-rate * sqrt(N / L); 0 = one rate for all.",
          make="LR_AT_LENGTH"),
    Param("chrono", click.IntRange(min=0), "Chrono initialisation of the gate biases for lags of up to this "
          "many steps (Tallec & Ollivier, 2018); 0 = Keras' initialisation.", make="CHRONO"),
    Param("dropout", FiniteFloat(min=0, max=1, max_open=True), "Dropout of the LSTM's inputs while training, in "
          "[0, 1); 0 = none.", make="DROPOUT"),
    Param("label_smoothing", FiniteFloat(min=0, max=1, max_open=True), "Label smoothing of the loss, in [0, 1); "
          "0 = none.", make="LABEL_SMOOTHING"),
    Param("ema", FiniteFloat(min=0, max=1, max_open=True), "Keep an exponential moving average of the weights "
          "with this momentum (e.g. 0.99) and end with it; 0 = off.", make="EMA"),
    Param("backwards", bool, "Read each sequence from its last step (still one LSTM, one direction).",
          flag=True),
    Param("seed", SEED, "Seed of weight initialisation and shuffling.", default=0, make="SEED"),
    Param("target_accuracy", FiniteFloat(min=0, max=1, min_open=True), "Stop once validation accuracy reaches "
          "this, in (0, 1].", default=1.0),
    Param("stop_at_target", bool, "Stop once --target-accuracy is reached, or run all --epochs.", flag=True),
    Param("settle_epochs", click.IntRange(min=0), "Epochs to go on training after validation accuracy first "
          "reaches the target, a margin for sequences the validation split does not hold."),
    Param("steps_per_execution", click.IntRange(min=1), "Batches per training call, one optimizer step each in "
          "one compiled loop (the most up to this that divide an epoch): faster steps, slower first trace.",
          default=1),
    Param("jit", bool, "Compile the training call with XLA (with --steps-per-execution, its whole loop): much "
          "faster steps for short, unrolled sequences after seconds of compiling; far slower over a while loop.",
          default=False, flag=True),
    Param("unroll", bool, "Unroll the LSTM over time.  [default: when length <= 32]", default=None, flag=True),
    Param("deterministic", bool, "TensorFlow op determinism: identical weights on rerun.", default=False,
          flag=True),
    Param("threads", click.IntRange(0, 1024), "TensorFlow intra/inter-op threads; 0 = TensorFlow's choice.",
          default=0),
    Param("tensorboard", bool, "Also write TensorBoard logs to tensorboard/ beside --out.", default=False,
          flag=True),
)


def default_help(param: Param, stage: str) -> str:
    """'[default: 25 (reference), 100 (wide), ...]', or '[default: 100]' when all presets agree."""
    if param.default is not PRESET:
        return "" if param.default is None else f"[default: {_text(param.default)}]"
    values = {name: param.shown(p[stage][param.name]) for name, p in config.PRESETS.items() if stage in p}
    if len(set(values.values())) == 1:
        return f"[default: {next(iter(values.values()))}]"
    return "[default: " + ", ".join(f"{v} ({name})" for name, v in values.items()) + "]"


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _click_option(param: Param, stage: str):
    decls = [f"{param.option}/--no-{param.option[2:]}"] if param.flag else [param.option]
    kwargs = {"default": None if param.default is PRESET else param.default,
              "help": " ".join(filter(None, (param.help, default_help(param, stage))))}
    if param.parse:
        kwargs["callback"] = lambda ctx, p, value: None if value is None else param.parse(value)
    if not param.flag:
        kwargs["type"] = param.type
    return click.option(*decls, param.name, **kwargs)


def options(table, stage: str):
    """A decorator adding each parameter of `table` to a click command, in order."""
    def decorate(command):
        for param in reversed(table):
            command = _click_option(param, stage)(command)
        return command
    return decorate


def options_class(name: str, table):
    """A frozen dataclass of the parameters of `table`: what a run is asked for (None: not given)."""
    fields = [(p.name, Any, dataclasses.field(default=None if p.default is PRESET else p.default)) for p in table]
    return dataclasses.make_dataclass(name, fields, frozen=True)


def resolve(table, given: dict, preset: dict) -> dict:
    """Each parameter of `table`: the value given (not None), else its default, a preset's from `preset`."""
    def default(p):
        return preset[p.name] if p.default is PRESET else p.default
    return {p.name: default(p) if given.get(p.name) is None else given[p.name] for p in table}
