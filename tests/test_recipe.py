"""Training defaults from the data (pipeline/recipe.py): what a dataset with no preset gets, by its facts
alone; the echo problem and the presets keep theirs; and the new ways to end a run (a step budget, a
cosine schedule, the epoch of least validation loss) do what they say."""
import csv
import dataclasses
import json

import click
import numpy as np
import pytest

from pipeline import data, importer, params, recipe, train
from tests.conftest import invoke
from tests.reference import independent


def facts(**kw) -> recipe.Facts:
    base = {"rows": 500, "val_rows": 60, "length": 50, "median": 40, "n_features": 3, "n_classes": 4,
            "kind": "features"}
    return recipe.Facts(**{**base, **kw})


def test_long_series_get_a_front_end_that_shortens_them_to_about_the_same_steps():
    for median in (200, 427, 1460, 20_000):
        conv = recipe.choose(facts(median=median, length=median))["conv"]
        assert conv > 1 and recipe.STEPS / 2 < median / conv <= recipe.STEPS
    assert recipe.choose(facts(median=30))["conv"] == 0


def test_a_front_end_has_its_mean_beside_the_lstm_and_says_so():
    long, short = recipe.choose(facts(median=427, length=427)), recipe.choose(facts(median=30))
    assert (long["front_mean"], long["branch_dropout"] > 0, short["front_mean"], short["branch_dropout"]) == \
        (True, True, False, 0.0)
    assert "mean beside the LSTM" in long["why"] and "mean beside" not in short["why"]


def test_long_real_valued_series_of_different_lengths_get_no_front_end_tokens_do(imported):
    own = recipe.facts(imported, data.train_lengths(imported.path))  # real values of 30-40 steps
    assert recipe.choose(dataclasses.replace(own, median=427, length=900))["conv"] == 0
    assert recipe.choose(dataclasses.replace(own, median=427, length=900, kind="tokens"))["conv"] > 1
    assert recipe.choose(dataclasses.replace(own, median=427, length=427, variable=False))["conv"] > 1


def test_the_batch_follows_the_rows_within_bounds():
    batches = [recipe.choose(facts(rows=rows))["batch_size"] for rows in (10, 60, 500, 5000, 10 ** 6)]
    assert batches == sorted(batches) and batches[0] == 8 and batches[-1] == 64


def test_longer_sequences_get_fewer_steps_and_every_run_at_least_ten_epochs():
    def steps(chosen):
        return chosen["epochs"] * chosen["steps_per_epoch"]

    short, long = recipe.choose(facts(median=20)), recipe.choose(facts(median=90, length=90))
    assert steps(long) < steps(short)
    tiny = recipe.choose(facts(rows=40, median=80))
    assert tiny["epochs"] >= 10 and tiny["steps_per_epoch"] >= recipe.MIN_EPOCH_STEPS


def test_a_handful_of_validation_rows_chooses_no_epoch():
    few, many = recipe.choose(facts(val_rows=4)), recipe.choose(facts(val_rows=100))
    assert (few["keep_best"], few["ema"] > 0) == (False, True)
    assert (many["keep_best"], many["ema"]) == (True, 0.0)
    assert "only 4 validation rows" in few["why"] and "least validation loss" in many["why"]


def test_every_choice_is_a_setting_train_takes():
    chosen = recipe.choose(facts())
    assert set(chosen) - {"why"} <= {p.name for p in params.TRAIN}
    assert {p.name for p in params.TRAIN if p.default is params.PRESET} <= set(chosen)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Real-valued series of 30 to 40 steps and no preset: what a user's own files give."""
    folder = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    for name, rows in (("train", 300), ("test", 60)):
        with open(folder / f"{name}.csv", "w", newline="") as f:
            for i in range(rows):
                label = i % 3
                values = rng.normal(label, 1.0, rng.integers(30, 41))
                f.write(f"c{label}," + ",".join(f"{v:.3f}" for v in values) + "\n")
    out = folder / "own.h5"
    importer.import_files(out, {**{p.name: p.default for p in params.IMPORT}, "train_file": folder / "train.csv",
                                "test_file": folder / "test.csv"})
    return data.describe(out)


@pytest.fixture(scope="module")
def long_series(tmp_path_factory):
    """Real-valued series of one length, 120 steps: long enough for the recipe's conv front end."""
    folder = tmp_path_factory.mktemp("long")
    rng = np.random.default_rng(1)
    for name, rows in (("train", 60), ("test", 20)):
        lines = [f"c{i % 2}," + ",".join(f"{v:.3f}" for v in rng.normal(i % 2, 1.0, 120)) for i in range(rows)]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    out = folder / "long.h5"
    importer.import_files(out, {**{p.name: p.default for p in params.IMPORT}, "train_file": folder / "train.csv",
                                "test_file": folder / "test.csv"})
    return data.describe(out)


@pytest.mark.parametrize("dataset", ["imported", "long_series"])
def test_data_of_no_preset_trains_with_every_choice_of_the_recipe(dataset, request):
    info = request.getfixturevalue(dataset)
    settings = train.resolve(train.Options(), info)
    expected = recipe.choose(recipe.facts(info, data.train_lengths(info.path)))
    for name, value in expected.items():
        if name != "why":
            assert settings[name] == (list(value) if name == "curriculum" else value), name
    assert settings["chosen_by"] == expected["why"]
    long = dataset == "long_series"
    assert (settings["conv"] > 0, settings["front_mean"]) == (long, long)


def test_no_front_mean_on_long_series_drops_the_recipes_branch_dropout_too(long_series):
    settings = train.resolve(train.Options(front_mean=False), long_series)
    assert (settings["conv"] > 0, settings["front_mean"], settings["branch_dropout"]) == (True, False, 0.0)
    with pytest.raises(click.BadParameter, match="branch dropout drops the recurrent part"):
        train.resolve(train.Options(front_mean=False, branch_dropout=0.5), long_series)


def test_data_of_no_preset_trains_with_the_recipe_and_says_why(imported):
    settings = train.resolve(train.Options(), imported)
    assert "270 training sequences" in settings["chosen_by"]
    given = train.resolve(train.Options(units=7, schedule="constant"), imported)
    assert (given["units"], given["schedule"]) == (7, "constant")  # options over the recipe


def test_a_conv_front_end_on_real_values_of_different_lengths_is_warned_of(imported, capsys):
    train.resolve(train.Options(), imported)
    assert "warning" not in capsys.readouterr().err  # the recipe gives such data no front end
    assert train.resolve(train.Options(conv=2), imported)["conv"] == 2
    assert capsys.readouterr().err.count("warning: a conv front end underfits") == 1


def test_the_echo_problem_keeps_its_preset(tiny_data):
    info = data.describe(tiny_data)
    settings = train.resolve(train.Options(), info)
    assert settings["units"] == 25 and settings["schedule"] == "constant" and not settings["keep_best"]
    assert settings["chosen_by"] == "preset reference"


def test_a_budget_of_steps_sets_the_epochs(imported):
    settings = train.resolve(train.Options(budget=100, steps_per_epoch=30), imported)
    assert settings["epochs"] == 4  # ceil(100 / 30)


@pytest.mark.parametrize("options, hint", [
    ({"keep_best": True, "ema": 0.99}, "--keep-best keeps one epoch's weights"),
])
def test_ways_of_ending_a_run_that_undo_each_other_are_refused(imported, options, hint):
    with pytest.raises(click.BadParameter) as e:
        train.resolve(train.Options(**options), imported)
    assert hint in e.value.message


@pytest.fixture(scope="module")
def misleading(tmp_path_factory):
    """Training series whose mean gives the class, and a validation file where each class has its
    neighbour's mean: the better the model learns, the worse its validation loss."""
    folder = tmp_path_factory.mktemp("misleading")
    rng = np.random.default_rng(1)
    for name, rows, shift in (("train", 300, 0), ("val", 60, 1), ("test", 60, 0)):
        with open(folder / f"{name}.csv", "w", newline="") as f:
            for i in range(rows):
                label = i % 3
                values = rng.normal(2.0 * ((label + shift) % 3), 0.5, 20)
                f.write(f"c{label}," + ",".join(f"{v:.3f}" for v in values) + "\n")
    out = folder / "misleading.h5"
    importer.import_files(out, {**{p.name: p.default for p in params.IMPORT}, "train_file": folder / "train.csv",
                                "val_file": folder / "val.csv", "test_file": folder / "test.csv"})
    return data.describe(out)


def test_keep_best_keeps_the_epoch_of_least_validation_loss(misleading, tmp_path):
    """Validation loss grows as training goes on: the kept weights are those of the best epoch, an early
    one, and evaluating them on the validation split gives that epoch's loss."""
    out = tmp_path / "m.keras"
    options = train.Options(epochs=8, steps_per_epoch=10, learning_rate=0.01, keep_best=True, ema=0.0,
                            schedule="constant", label_smoothing=0.0)
    record = train.train(misleading.path, out, options, verbose=0)
    history = list(csv.DictReader(open(out.with_name("history.csv"))))
    losses = [float(r["val_loss"]) for r in history]
    assert record["kept_epoch"] == 1 + int(np.argmin(losses))
    assert json.loads(out.with_name("train.json").read_text())["kept_epoch"] == record["kept_epoch"]
    assert record["kept_epoch"] < len(history) and max(losses) > min(losses) + 0.1  # the last is not the best
    _, _, _, loss = independent(out, misleading.path, split="val")
    assert loss == pytest.approx(min(losses), rel=1e-3)


@pytest.mark.parametrize("args, message", [
    (["--budget", "0"], "Invalid value for '--budget': 0 is not in the range x>=1."),
    (["--keep-best", "--ema", "0.9"], "--keep-best keeps one epoch's weights and --ema ends with their moving"),
])
def test_a_run_that_cannot_end_well_is_one_line(imported, tmp_path, args, message):
    r = invoke("train", "--data", imported.path, "--out", tmp_path / "m.keras", *args)
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert list(tmp_path.iterdir()) == []
