"""Named echo problems: each preset fills the problem shape, the split sizes and the training
defaults (measured to reach the target; README, "Presets"). Explicit options still override it."""
import click

PROBLEMS = {
    "reference": {"length": 5, "n_features": 10, "out_index": 2},
    "wide": {"length": 25, "n_features": 100, "out_index": 2},
    "long": {"length": 1000, "n_features": 10, "out_index": 2},
}

# A row is (length + 1) * n_features bytes: long's 10 KB rows keep its splits small.
SPLITS = {
    "reference": {"n_train": 1_000_000, "n_val": 20_000, "n_test": 100_000},
    "wide": {"n_train": 100_000, "n_val": 10_000, "n_test": 20_000},
    "long": {"n_train": 32_768, "n_val": 2_000, "n_test": 10_000},
}

# What train uses for an option not given, by the dataset's preset. learning_rate is per optimizer;
# curriculum lists the prefix lengths trained on before the full length (pipeline/curriculum.py).
TRAINING = {
    # adam 0.04, 64 steps: 0.999 after 16,384 sequences, usually at the first validation (README, Speed)
    "reference": {"units": 25, "batch_size": 256, "epochs": 100, "steps_per_epoch": 64,
                  "learning_rate": {"adam": 0.04, "sgd": 0.5}, "clipnorm": 0.0, "curriculum": ()},
    "wide": {"units": 100, "batch_size": 256, "epochs": 100, "steps_per_epoch": 32,
             "learning_rate": {"adam": 0.005, "sgd": 0.5}, "clipnorm": 0.0, "curriculum": ()},
    "long": {"units": 64, "batch_size": 256, "epochs": 60, "steps_per_epoch": 32,
             "learning_rate": {"adam": 0.002, "sgd": 0.5}, "clipnorm": 1.0,
             "curriculum": (5, 10, 20, 40, 80, 160, 320, 640)},
}

problem_option = click.option(
    "--problem", type=click.Choice(list(PROBLEMS)), default="reference", show_default=True,
    help="Problem preset: reference (5 x 10), wide (25 x 100), long (1000 x 10).")


def resolve_problem(problem: str, **given) -> dict:
    """The preset's shape with explicitly given values on top; checks out_index < length."""
    shape = {**PROBLEMS[problem], **{k: v for k, v in given.items() if v is not None}}
    if shape["out_index"] >= shape["length"]:
        raise click.BadParameter(f"{shape['out_index']} is not in [0, length={shape['length']})",
                                 param_hint="'--out-index'")
    return shape


def resolve_splits(problem: str, **given) -> dict:
    """The preset's split sizes with explicitly given ones on top."""
    return {k: v if given.get(k) is None else given[k] for k, v in SPLITS[problem].items()}


def resolve_training(problem, optimizer: str, **given) -> dict:
    """Training options: those given (not None), the rest from the dataset's preset (reference when the
    dataset names none we know)."""
    preset = TRAINING.get(problem or "reference", TRAINING["reference"])
    defaults = {**preset, "learning_rate": preset["learning_rate"][optimizer]}
    return {k: defaults[k] if v is None else v for k, v in given.items()}


def default_help(table: dict, key: str, fmt=str) -> str:
    """'[default: 25 (reference), 50 (wide), 64 (long)]', or '[default: 100]' when all presets agree."""
    values = {name: fmt(entry[key]) for name, entry in table.items()}
    if len(set(values.values())) == 1:
        return f"[default: {next(iter(values.values()))}]"
    return "[default: " + ", ".join(f"{v} ({name})" for name, v in values.items()) + "]"
