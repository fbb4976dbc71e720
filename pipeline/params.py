"""Every parameter of generate, import and train, declared once: its option, type and range, help,
default and the Make variable that forwards it; and the check of the presets against them.

A default is a value, or PRESET: the problem preset's (pipeline/presets.py, one section per stage). From
these tables come the stages' click options and their --help (options()), `train.Options`
(options_class()) and the settings a run resolves (resolve()); tests/test_params.py checks the
Makefile's forwarded variables and `make help` against them. Adding a parameter is one line here, plus
the code that uses it (and its value in a preset, where one needs its own). None always means "not
given": the default decides; 0 turns a knob off.
"""
import dataclasses
import functools
from typing import Any, Callable

import click

from pipeline import config, presets, sources
from pipeline.files import BadFile
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
    Param("problem", click.Choice([name for name, p in presets.PRESETS.items() if "generate" in p]),
          "Problem preset (pipeline/presets.py).", default=presets.DEFAULT_PROBLEM, make="PROBLEM"),
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
    Param("problem", click.Choice(list(presets.PRESETS)), "A preset (pipeline/presets.py): the files its import "
          "section names, unless you give your own, and its training defaults.", default=None, make="PROBLEM"),
    Param("train_file", click.Path(dir_okay=False), "Your training sequences (text/CSV, .npz or .ts).", default=None,
          make="TRAIN_FILE"),
    Param("test_file", click.Path(dir_okay=False), "Your test sequences, the same format.", default=None,
          make="TEST_FILE"),
    Param("val_file", click.Path(dir_okay=False), "Your validation sequences; without them, --n-val training "
          "sequences are carved out by --seed.", default=None, make="VAL_FILE"),
    Param("n_val", click.IntRange(min=1), "Training sequences carved out for validation.  [default: a tenth]",
          default=None, make="N_VAL"),
    Param("seed", SEED, "Seed of the validation carve (and, through Make, of training).", default=0, make="SEED"),
    Param("format", click.Choice(["auto", *sources.FORMATS]), "The files' format; auto: from their names "
          "(.csv .txt .tsv, .npz, .ts).", default="auto"),
    Param("kind", click.Choice(["auto", "tokens", "features"]), "tokens: whole numbers, stored one-hot; features: "
          "real values; auto: tokens when every value is a whole number >= 0, one per step.", default="auto"),
    Param("n_features", click.IntRange(min=1), "Tokens: how many values there are, [0, N).  [default: the "
          "largest seen + 1]", default=None),
    Param("classes", str, "The label names, in order, separated by commas; a label not among them is refused.  "
          "[default: the training labels, sorted]", default=None),
    Param("max_length", click.IntRange(min=1), "Cut each sequence to at most this many steps (for a few far "
          "longer than the rest), as --keep says; predict and the export cut the same way.  [default: no cut]",
          default=None, make="MAX_LENGTH"),
    Param("keep", click.Choice(["head", "tail"]), "Which steps --max-length keeps: the first (head) or the "
          "last (tail).", default="head", make="KEEP"),
)

TRAIN = (
    Param("units", click.IntRange(min=1), "Units of each recurrent layer (and of the conv front end).",
          make="UNITS"),
    Param("cell", click.Choice(["lstm", "gru"]), "Recurrent cell.", make="CELL"),
    Param("layers", click.IntRange(1, 8), "Recurrent layers, stacked.", make="LAYERS"),
    Param("bidirectional", bool, "Each recurrent layer reads the sequence both ways.", flag=True),
    Param("conv", click.IntRange(min=0), "A Conv1D front end that shortens the sequence about this many "
          "times before the recurrent layers (three convolutions; two maxes, of about sqrt(CONV) steps after "
          "the first and of the rest after the second); 0 = none.", make="CONV"),
    Param("pool", click.Choice(["last", "mean"]), "What the classifier reads of the last recurrent layer: its "
          "output at the last step, or its outputs averaged over the sequence's real steps.", make="POOL"),
    Param("front_mean", bool, "With --conv: the front end's outputs averaged over the real steps go to the "
          "classifier beside the recurrent layers' (an LSTM-FCN).", flag=True),
    Param("branch_dropout", FiniteFloat(min=0, max=1, max_open=True), "With --front-mean: while training, the "
          "recurrent layers' part of the classifier's input is zeroed for this share of the rows, in [0, 1), so "
          "that the front end's mean learns to classify alone too; 0 = none."),
    Param("batch_size", click.IntRange(min=1), "Batch size (the global batch under multi-worker).",
          make="BATCH_SIZE"),
    Param("budget", click.IntRange(min=1), "Optimizer steps in all: the epochs they make take the place of "
          "--epochs.", default=None, make="BUDGET"),
    Param("epochs", click.IntRange(min=1), "Most epochs to run (training stops earlier at --target-accuracy).",
          make="EPOCHS"),
    Param("steps_per_epoch", click.IntRange(min=0), "Batches per epoch, i.e. between validations; 0 = one pass "
          "over the training split."),
    Param("optimizer", click.Choice(["adam", "sgd"]), "Optimizer.", default="adam", make="OPTIMIZER"),
    Param("learning_rate", FiniteFloat(min=0, min_open=True), "Learning rate.", make="LR",
          shown=lambda lr: ", ".join(f"{k} {v}" for k, v in lr.items()) if isinstance(lr, dict) else str(lr)),
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
    Param("schedule", click.Choice(["constant", "cosine"]), "The learning rate over the run: constant, or "
          "cosine decay from --learning-rate to 0 at the last step.", make="SCHEDULE"),
    Param("keep_best", bool, "Keep the weights of the epoch of least validation loss, and stop once it has not "
          "improved for a quarter of the epochs (model selection on the validation split only).", flag=True),
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


STAGES = {"generate": GENERATE, "import": IMPORT, "train": TRAIN}  # a preset's sections
SOURCES = ("dataset", "train_file", "test_file")  # where a preset's import section takes its data from


class BadPreset(BadFile):
    """A preset that breaks its stages' parameter tables: one line naming the preset and the key."""


@functools.cache
def checked_presets() -> dict:
    """Every preset of presets.PRESETS with its values checked against the tables (and converted as the
    options would convert them); BadPreset for the first that is not."""
    return {name: check_preset(name, preset) for name, preset in presets.PRESETS.items()}


def check_preset(name: str, preset) -> dict:
    def bad(message):
        return BadPreset(f"preset {name!r} in pipeline/presets.py: {message}")

    if not isinstance(preset, dict) or not preset or not set(preset) <= set(STAGES):
        raise bad(f"must be a dict of sections, among {', '.join(STAGES)}")
    if ("generate" in preset) == ("import" in preset):
        raise bad("needs one section saying where its data comes from: generate or import")
    checked = {}
    for stage, section in preset.items():
        table = {p.name: p for p in STAGES[stage]}
        if not isinstance(section, dict):
            raise bad(f"section {stage} must be a dict of parameters")
        for key, value in section.items():
            if key not in table and not (stage == "import" and key == "dataset"):
                raise bad(f"{stage}.{key} is not a {stage} parameter (those are: {', '.join(table)})")
            try:
                checked.setdefault(stage, {})[key] = str(value) if key == "dataset" else check_value(table[key], value)
            except click.BadParameter as e:
                raise bad(f"{stage}.{key}: {e.message}") from None
    _check_complete(bad, checked)
    return checked


def _check_complete(bad, preset: dict) -> None:
    shape = preset.get("generate")
    missing = [p.name for p in GENERATE if p.default is PRESET and p.name not in shape] if shape is not None else []
    if missing:
        raise bad(f"generate lacks {', '.join(missing)}")
    source = preset.get("import", {})
    if "import" in preset and not ("dataset" in source or {"train_file", "test_file"} <= set(source)):
        raise bad("import needs dataset, or train_file and test_file")


def check_value(param: Param, value):
    """A preset's value as the option would take it, or click.BadParameter: a learning rate may be one
    per optimizer, a flag must be true or false, a whole number is not a fraction."""
    if param.name == "learning_rate" and isinstance(value, dict):
        optimizers = next(p.type.choices for p in TRAIN if p.name == "optimizer")
        if not value or not set(value) <= set(optimizers):
            raise click.BadParameter(f"one rate, or one per optimizer among {', '.join(optimizers)}")
        return {k: check_value(param, v) for k, v in value.items()}
    if param.flag:
        if not isinstance(value, bool):
            raise click.BadParameter(f"{value!r} is not true or false")
        return value
    if isinstance(value, bool) or (isinstance(value, float) and isinstance(param.type, click.types.IntParamType)):
        raise click.BadParameter(f"{value!r} is not a whole number" if isinstance(param.type,
                                 click.types.IntParamType) else f"{value!r} is not a {param.type.name}")
    if param.parse:
        return param.parse((",".join(map(str, value)) or "0") if isinstance(value, (tuple, list)) else str(value))
    return click.types.convert_type(param.type).convert(value, None, None)


def preset_section(problem, stage: str) -> dict:
    """A preset's section for a stage, checked. Training keys it leaves out are DEFAULT_PROBLEM's, as is
    the whole section of a problem no preset names (custom data, or a preset since removed)."""
    found = checked_presets()
    default = found[presets.DEFAULT_PROBLEM].get(stage, {})
    own = found.get(problem or presets.DEFAULT_PROBLEM, {}).get(stage)
    if own is None:
        return dict(default)
    return {**default, **own} if stage == "train" else dict(own)


def default_help(param: Param, stage: str) -> str:
    """'[default: 25 (reference), 100 (wide), ...]', or '[default: 100]' when all presets agree."""
    if param.default is not PRESET:
        return "" if param.default is None else f"[default: {_text(param.default)}]"
    values = {name: param.shown(preset_section(name, stage)[param.name]) for name, p in presets.PRESETS.items()
              if stage in p or stage == "train"}
    if len(set(values.values())) == 1:
        return f"[default: {next(iter(values.values()))}]"
    return "[default: " + ", ".join(f"{v} ({name})" for name, v in values.items()) + "]"


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class _Option(click.Option):
    """An option whose --help names its defaults only when shown: presets are checked then, so that a
    bad one is one line (BadPreset) instead of a failure at import."""

    def __init__(self, *args, declared: Param, stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.declared, self.stage = declared, stage

    def get_help_record(self, ctx):
        self.help = " ".join(filter(None, (self.declared.help, default_help(self.declared, self.stage))))
        return super().get_help_record(ctx)


def _click_option(param: Param, stage: str):
    decls = [f"{param.option}/--no-{param.option[2:]}"] if param.flag else [param.option]
    kwargs = {"default": None if param.default is PRESET else param.default, "cls": _Option, "declared": param,
              "stage": stage}
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


def resolve(table, given: dict, defaults: dict) -> dict:
    """Each parameter of `table`: the value given (not None), else the one `defaults` holds (a preset's,
    or the data-driven recipe's), else its declared default (PRESET: `defaults` must hold it)."""
    def default(p):
        return defaults[p.name] if p.name in defaults or p.default is PRESET else p.default
    return {p.name: default(p) if given.get(p.name) is None else given[p.name] for p in table}
