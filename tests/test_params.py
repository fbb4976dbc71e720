"""The parameter tables (pipeline/params.py) and the presets (pipeline/presets.py): each parameter is declared
once, and every place a user meets it (the click option, --help, the Makefile's forwarded variable,
`make help`, train.Options, a preset's value) agrees with that declaration."""
import dataclasses
import re
import subprocess
import sys

import click
import h5py
import pytest

from pipeline import curriculum, generate, params, presets, train
from tests.conftest import ROOT, run_cli

STAGES = {"generate": (params.GENERATE, generate.cli), "train": (params.TRAIN, train.cli)}
TABLES = {"generate": params.GENERATE, "import": params.IMPORT, "train": params.TRAIN}
MAKE_LISTS = {"generate": "DATA_PARAMS", "train": "TRAIN_PARAMS"}


def help_text(command, option) -> str:
    """What --help says of an option."""
    return option.get_help_record(click.Context(command))[1]


def make_print(variable: str) -> str:
    return subprocess.run(["make", "-s", "--no-print-directory", f"print-{variable}"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("stage", STAGES)
def test_each_parameter_is_the_commands_option(stage):
    table, command = STAGES[stage]
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for param in table:
        option = options[param.name]
        assert param.option in option.opts, param.name
        shown = help_text(command, option)
        assert shown.startswith(param.help) and params.default_help(param, stage) in shown, param.name
        assert option.default == (None if param.default is params.PRESET else param.default), param.name
        assert option.is_flag == param.flag, param.name
    # and nothing else but paths and the way a run is made
    assert set(options) - {p.name for p in table} <= {"out", "data_path", "strategy", "worker_report"}


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_make_forwards_exactly_the_declared_variables(stage):
    table, _ = STAGES[stage]
    forwarded = [tuple(pair.split(":")) for pair in make_print(MAKE_LISTS[stage]).split()]
    assert forwarded == [(p.make, p.option[2:]) for p in table if p.make]


@pytest.mark.slow
def test_make_help_lists_every_forwarded_variable():
    text = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for table in (params.GENERATE, params.TRAIN):
        for p in table:
            if p.make:
                assert re.search(rf"\b{p.make}\b", text), p.make


def test_every_preset_gives_a_value_for_each_parameter_that_takes_one():
    for stage, (table, _) in STAGES.items():
        wanted = {p.name for p in table if p.default is params.PRESET}
        for name, preset in presets.PRESETS.items():
            if stage in preset or stage == "train":
                assert wanted <= set(params.preset_section(name, stage)), (name, stage)


@pytest.mark.parametrize("stage", TABLES)
def test_a_command_made_from_a_table_takes_each_parameter_as_declared(stage):
    """options(): an option per declaration, in order: its name (and --no- switch), type, help ending
    in its default, and, when not given, None for a preset's default (the preset decides) or the value."""
    table = TABLES[stage]
    command = click.command(stage)(params.options(table, stage)(lambda **given: given))
    assert [o.name for o in command.params] == [p.name for p in table]
    for param, option in zip(table, command.params):
        assert option.opts == [param.option], param.name
        assert option.secondary_opts == ([f"--no-{param.option[2:]}"] if param.flag else []), param.name
        wanted = " ".join(filter(None, (param.help, params.default_help(param, stage))))
        assert help_text(command, option).startswith(wanted), param.name  # click may add the range
        assert option.is_flag == param.flag and (param.flag or option.type == click.types.convert_type(param.type))
    given = command.main([], standalone_mode=False)
    assert given == {p.name: None if p.default is params.PRESET else p.default for p in table}


def test_a_command_made_from_the_training_table_parses_and_refuses_as_declared():
    command = click.command("train")(params.options(params.TRAIN, "train")(lambda **given: given))
    given = command.main(["--curriculum", "5,10", "--no-stop-at-target", "--batch-size", "7", "--jit"],
                         standalone_mode=False)
    chosen = (given["curriculum"], given["stop_at_target"], given["batch_size"], given["jit"])
    assert chosen == ((5, 10), False, 7, True)
    assert command.main(["--curriculum", "0"], standalone_mode=False)["curriculum"] == ()
    for bad in (["--batch-size", "0"], ["--curriculum", "10,5"], ["--optimizer", "rmsprop"]):
        with pytest.raises(click.BadParameter):
            command.main(bad, standalone_mode=False)


def test_an_options_class_made_from_a_table_is_frozen_with_every_parameter_not_given():
    options = params.options_class("Asked", params.TRAIN)
    assert options.__name__ == "Asked"
    asked = options(units=3)
    assert asked.units == 3 and asked.batch_size is None and asked.momentum == 0.9 and asked.jit is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        asked.units = 4


def test_options_class_has_every_parameter_not_given():
    fields = {f.name: f.default for f in dataclasses.fields(train.Options)}
    assert fields == {p.name: None if p.default is params.PRESET else p.default for p in params.TRAIN}
    assert train.Options(units=3).units == 3


def test_resolve_takes_what_is_given_else_the_default():
    table = (params.Param("a", int, "A."), params.Param("b", int, "B.", default=7),
             params.Param("c", int, "C.", default=None))
    assert params.resolve(table, {}, {"a": 1}) == {"a": 1, "b": 7, "c": None}
    assert params.resolve(table, {"a": 0, "b": 0, "c": 2}, {"a": 1}) == {"a": 0, "b": 0, "c": 2}  # 0 is given
    assert params.resolve(table, {"a": None, "b": None}, {"a": 5}) == {"a": 5, "b": 7, "c": None}
    assert params.resolve(table, {}, {"a": 1, "b": 8}) == {"a": 1, "b": 8, "c": None}  # a preset's own value


def test_default_help_names_each_presets_value_unless_all_agree():
    units = next(p for p in params.TRAIN if p.name == "units")
    assert params.default_help(units, "train") == "[default: " + ", ".join(
        f"{p['train']['units']} ({name})" for name, p in presets.PRESETS.items()) + "]"
    momentum = next(p for p in params.TRAIN if p.name == "momentum")
    assert params.default_help(momentum, "train") == "[default: 0.9]"
    steps = next(p for p in params.GENERATE if p.name == "n_test")
    assert params.default_help(steps, "generate") == "[default: " + ", ".join(  # presets that generate only
        f"{p['generate']['n_test']:,} ({name})" for name, p in presets.PRESETS.items() if "generate" in p) + "]"
    seed = next(p for p in params.TRAIN if p.name == "seed")
    assert params.default_help(seed, "train") == "[default: 0]"
    assert params.default_help(params.Param("x", str, "X.", default="Reference"), "train") == "[default: Reference]"
    assert params.default_help(params.Param("x", bool, "X.", default=True), "train") == "[default: true]"
    assert params.default_help(params.Param("x", str, "X.", default=None), "train") == ""


def test_curriculum_option_text():
    parse = next(p for p in params.TRAIN if p.name == "curriculum").parse
    assert parse("5, 10,20") == (5, 10, 20) and parse("0") == () and parse((5, 9)) == (5, 9) and parse([1]) == (1,)
    assert parse(" 1,2 ") == (1, 2)
    for bad in ("10,5", "5,5", "0,4", "-1,4"):
        with pytest.raises(click.BadParameter) as e:
            parse(bad)
        assert e.value.message == f"{bad!r}: lengths must be positive and increasing"
    for bad in ("5,x", "none", ""):
        with pytest.raises(click.BadParameter):
            parse(bad)


def test_presets_are_problems_generate_accepts():
    for name, preset in presets.PRESETS.items():
        if "generate" not in preset:
            continue
        shape, training = preset["generate"], params.preset_section(name, "train")
        assert 0 <= shape["out_index"] < shape["length"] and shape["n_features"] >= 2, name
        assert all(isinstance(shape[k], int) and shape[k] >= 1 for k in ("n_train", "n_val", "n_test")), name
        rows = shape["n_train"] + shape["n_val"] + shape["n_test"]  # (length + 1) * n_features bytes a row
        assert rows * (shape["length"] + 1) * shape["n_features"] < 2e9, name  # long(er): not a million rows
        assert shape["n_train"] >= training["batch_size"], name
        curriculum.lengths(training["curriculum"], shape["length"], shape["out_index"])
    # The reference recipe (the book's, README): sequences of 5 over 10 values, echo of position 2, LSTM(25).
    reference = presets.PRESETS["reference"]
    assert {k: reference["generate"][k] for k in ("length", "n_features", "out_index")} == \
        {"length": 5, "n_features": 10, "out_index": 2}
    assert reference["train"]["units"] == 25


def test_a_dataset_of_no_known_preset_trains_with_the_references_defaults():
    for unknown in ("", None, "custom"):
        assert params.preset_section(unknown, "train") == params.checked_presets()["reference"]["train"]
    assert params.preset_section("long", "generate") == presets.PRESETS["long"]["generate"]


@pytest.mark.slow
def test_help_shows_preset_defaults_without_tensorflow():
    code = ("import sys\nfrom pipeline.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n"
            "    assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert all(f"{p['train']['units']} ({name})" in text for name, p in presets.PRESETS.items()), text


@pytest.mark.slow
def test_preset_reaches_generate_and_train(tmp_path):
    """A `long` dataset (shortened by explicit options) gets long's training defaults, which explicit
    train options override in turn."""
    data = tmp_path / "long.h5"
    r = run_cli("generate", "--problem", "long", "--length", 12, "--n-train", 512, "--n-val", 64, "--n-test", 64,
                "--out", data)
    assert r.returncode == 0, r.stderr
    with h5py.File(data) as f:
        assert f.attrs["problem"] == "long" and f.attrs["length"] == 12 and f.attrs["n_features"] == 10
        assert f["train/X"].shape == (512 * 12, 10)
    preset = presets.PRESETS["long"]["train"]
    record = train.train(data, tmp_path / "a.keras", train.Options(epochs=1, steps_per_epoch=2), verbose=0)
    p = record["settings"]
    assert (p["units"], p["learning_rate"], p["clipnorm"]) == (preset["units"], preset["learning_rate"]["adam"],
                                                               preset["clipnorm"])
    assert p["curriculum"] == [n for n in preset["curriculum"] if n < 12] and record["curriculum"][0]["length"] == 5
    assert record["model"]["units"] == preset["units"]
    options = train.Options(epochs=1, steps_per_epoch=2, units=6, learning_rate=0.01, clipnorm=0, curriculum=())
    record = train.train(data, tmp_path / "b.keras", options, verbose=0)
    p = record["settings"]
    assert (p["units"], p["learning_rate"], p["clipnorm"], p["curriculum"]) == (6, 0.01, None, [])
    assert record["curriculum"] is None


@pytest.mark.slow
def test_make_imports_the_presets_that_import():
    imported = make_print("IMPORTED").split()
    assert imported == [name for name, p in presets.PRESETS.items() if "import" in p]
    assert all(set(presets.PRESETS[name]["import"]) <= {p.name for p in params.IMPORT} | {"dataset"}
               for name in imported)


def test_tools_names_the_default_problem():
    """What `make resamples` of generated data imports its resamples as, to train with `make all`'s settings."""
    from tools import presets as tool

    assert tool.default() == presets.DEFAULT_PROBLEM
