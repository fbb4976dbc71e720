"""Training defaults chosen from what a dataset says about itself, for data that no preset names.

A user's own sequences come without a preset, and the echo problem's settings (a tiny LSTM, a learning
rate for one-hot tokens, stop at 100% validation accuracy) fit them badly. The rules here read only the
dataset's facts (its rows, lengths, features, classes and kind) and never name a dataset; they were
measured on a development suite of public datasets and are checked on others (docs/experiments.md).

- The model: one bidirectional LSTM layer whose outputs are averaged over the real steps (a whole
  sequence is classified, not its end); series of LONG steps or more get a convolutional front end
  that shortens them to about STEPS steps, the length an LSTM handles well and fast, and whose own
  mean over the steps sits beside the LSTM's (an LSTM-FCN). The LSTM alone over the front end overfits
  small sets of long series (OSULeaf: 0.84-0.88 where the front end's mean alone reaches 0.96), and so
  does the LSTM beside the mean: training drops its half of the classifier's input for BRANCH_DROPOUT
  of the rows, so that both parts learn to classify (docs/experiments.md). Not real-valued
  series of different lengths: the front keeps their padding at exactly zero by shifting every real
  value to several standard deviations from zero (model.conv_front), and underfits them
  (docs/experiments.md: test accuracy 0.42 against 0.68 with the LSTM alone).
- The batch: about an eighth of the training rows, 8 to 64 (small data needs many updates).
- The budget: a number of optimizer steps (not epochs), fewer for longer sequences so that a run fits in
  about TIME_BUDGET seconds on two cores; the learning rate decays on a cosine to 0 at the last step.
- Regularisation: dropout of the recurrent layers' inputs and label smoothing.
- Model selection, on the validation split only: with enough validation rows, the epoch of least
  validation loss is kept; with a handful, a choice between epochs would follow noise, so the run
  trains its whole budget and ends with an exponential moving average of the weights instead.

train.json records what was chosen and why (`chosen_by`).
"""
import dataclasses
import math

LONG = 96  # from this median length on, a conv front end shortens the series
STEPS = 64  # about this many steps reach the recurrent layer
UNITS = 64
BRANCH_DROPOUT = 0.5  # a front end's mean beside the LSTM: the LSTM's part dropped for half the rows
MIN_EPOCH_STEPS = 25  # an epoch (the steps between validations) of tiny data takes several passes
MIN_SELECT_ROWS = 30  # fewer validation rows than this: no selection by validation loss
STEP_BUDGET = 2000  # optimizer steps for short sequences
TIME_BUDGET = 75  # seconds of optimizer steps aimed at on 2 cores (validation, tracing and saving come on top)
# Seconds of one optimizer step of the recipe's model on 2 cores: a fixed cost and one per batch row and
# step through the recurrent layer (fitted on AMD EPYC to runs of series of 150-1,460 steps), and one per
# batch row and step read by the front end's second convolution, its costliest (fitted on Intel Xeon to
# runs of 427-1,460 steps at batches of 8-32: docs/experiments.md).
STEP_SECONDS, RECURRENT_SECONDS, CONV_SECONDS = 3e-3, 1.2e-5, 8.5e-6


def front_maxes(conv: int) -> tuple[int, int]:
    """The two maxes by which the conv front end (pipeline/model.py) shortens a sequence about `conv`
    times: round(sqrt(conv)) steps after its first convolution and the rest, rounded up, after its second
    (conv 7: 3 and 3; conv 23: 5 and 5), so that the second convolution still reads fine steps."""
    first = max(1, round(conv ** 0.5))
    return first, -(-conv // first)


def front_steps(length: int, conv: int) -> int:
    """The steps of a sequence of `length` that reach the recurrent layers past a front end of `conv`."""
    for pool in front_maxes(conv) if conv else ():
        length = -(-length // pool)
    return length


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the recipe reads of a dataset."""
    rows: int  # training sequences
    val_rows: int
    length: int  # the longest
    median: int  # the median length of the training sequences
    n_features: int
    n_classes: int
    kind: str
    variable: bool = False  # lengths differ


def facts(info, lengths) -> Facts:
    """The facts of a dataset (data.DatasetInfo) and its training sequences' lengths."""
    median = int(sorted(lengths)[len(lengths) // 2]) if len(lengths) else info.length
    return Facts(info.rows["train"], info.rows["val"], info.length, median, info.n_features, info.n_classes,
                 info.kind, info.variable)


def front_underfits(variable: bool, kind: str) -> bool:
    """Whether the conv front end underfits such data: real-valued series of different lengths."""
    return variable and kind == "features"


def choose(f: Facts) -> dict:
    """The training settings for a dataset of these facts, with `why`: what was chosen and why, in a line."""
    conv = math.ceil(f.median / STEPS) if f.median >= LONG and not front_underfits(f.variable, f.kind) else 0
    steps = front_steps(f.median, conv)  # what reaches the recurrent layer
    batch = min(64, max(8, 2 ** round(math.log2(max(f.rows, 1) / 8))))
    per_epoch = max(math.ceil(f.rows / batch), MIN_EPOCH_STEPS)
    conv_steps = math.ceil(f.median / front_maxes(conv)[0]) if conv else 0  # read by the second convolution
    seconds_per_step = STEP_SECONDS + batch * (RECURRENT_SECONDS * steps + CONV_SECONDS * conv_steps)
    budget = int(max(per_epoch * 10, min(STEP_BUDGET, TIME_BUDGET / seconds_per_step)))
    epochs = math.ceil(budget / per_epoch)
    select = f.val_rows >= MIN_SELECT_ROWS
    settings = {
        "cell": "lstm", "layers": 1, "bidirectional": True, "conv": conv, "pool": "mean",
        "front_mean": bool(conv), "branch_dropout": BRANCH_DROPOUT if conv else 0.0,
        "units": UNITS, "backwards": False,
        "batch_size": batch, "steps_per_epoch": per_epoch, "epochs": epochs, "budget": None, "optimizer": "adam",
        "learning_rate": 3e-3, "schedule": "cosine", "clipnorm": 1.0, "dropout": 0.2, "label_smoothing": 0.1,
        "ema": 0.0 if select else 0.99, "keep_best": select, "stop_at_target": False, "settle_epochs": 0,
        "curriculum": (), "lr_at_length": 0, "chrono": 0,
    }
    front = (f"a conv front end (x{conv}) to {steps} steps, its mean beside the LSTM's (which training drops "
             f"for {BRANCH_DROPOUT:.0%} of the rows), " if conv else "")
    kept = ("the epoch of least validation loss" if select else
            f"the last weights' moving average (only {f.val_rows} validation rows: too few to choose an epoch)")
    why = (f"recipe for {f.rows} training sequences of {f.median} steps (median) x {f.n_features} "
           f"{'token values' if f.kind == 'tokens' else 'features'}, {f.n_classes} classes: {front}"
           f"bidirectional LSTM({UNITS}) averaged over the steps, batch {batch}, {epochs} epochs of {per_epoch} steps "
           f"({epochs * per_epoch} steps), Adam 3e-3 on a cosine, dropout 0.2, label smoothing 0.1; keeps {kept}")
    return {**settings, "why": why}
