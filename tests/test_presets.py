"""Presets fill the problem, split sizes and training defaults; explicit options override them."""
import subprocess
import sys

import click
import h5py
import pytest

from pipeline import config, curriculum
from tests.conftest import ROOT, run_cli


def test_presets_are_complete():
    assert set(config.PROBLEMS) == set(config.SPLITS) == set(config.TRAINING)
    keys = set(config.TRAINING["reference"])
    for name, training in config.TRAINING.items():
        assert set(training) == keys, name
        assert set(training["learning_rate"]) == {"adam", "sgd"}, name
        curriculum.stages(training["curriculum"], config.PROBLEMS[name]["length"],
                          config.PROBLEMS[name]["out_index"])
    for name, shape in config.PROBLEMS.items():  # every preset is a problem generate accepts
        assert set(shape) == {"length", "n_features", "out_index"}, name
        assert 0 <= shape["out_index"] < shape["length"] and shape["n_features"] >= 2, name
        assert set(config.SPLITS[name]) == {"n_train", "n_val", "n_test"}, name
        assert all(isinstance(v, int) and v >= 1 for v in config.SPLITS[name].values()), name
        rows = sum(config.SPLITS[name].values())  # (length + 1) * n_features bytes a row, label included
        assert rows * (shape["length"] + 1) * shape["n_features"] < 2e9, name  # long(er): not a million rows
        assert config.SPLITS[name]["n_train"] >= config.TRAINING[name]["batch_size"], name
        assert all(lr > 0 for lr in config.TRAINING[name]["learning_rate"].values()), name
    # The reference recipe (the book's, README): sequences of 5 over 10 values, echo of position 2, LSTM(25).
    assert config.PROBLEMS["reference"] == {"length": 5, "n_features": 10, "out_index": 2}
    assert config.TRAINING["reference"]["units"] == 25


def test_training_defaults_resolve_and_yield_to_explicit_options():
    given = {"units": None, "batch_size": None, "learning_rate": None, "clipnorm": None, "curriculum": None}
    long = config.resolve_training("long", "adam", **given)
    assert long == {**{k: config.TRAINING["long"][k] for k in given},
                    "learning_rate": config.TRAINING["long"]["learning_rate"]["adam"]}
    assert config.resolve_training("long", "sgd", learning_rate=None)["learning_rate"] == \
        config.TRAINING["long"]["learning_rate"]["sgd"]
    explicit = config.resolve_training("long", "adam", units=7, learning_rate=0.5, clipnorm=0.0, curriculum=())
    assert explicit == {"units": 7, "learning_rate": 0.5, "clipnorm": 0.0, "curriculum": ()}
    for unknown in ("", None, "custom"):  # older or hand-made files: the reference's defaults
        assert config.resolve_training(unknown, "adam", units=None)["units"] == config.TRAINING["reference"]["units"]
    assert config.resolve_splits("long", n_train=None, n_val=5, n_test=None) == {**config.SPLITS["long"], "n_val": 5}


def test_curriculum_lengths():
    assert curriculum.parse("5, 10,20") == (5, 10, 20) and curriculum.parse("none") == () == curriculum.parse("")
    assert curriculum.stages((5, 10, 2000), 1000, 2) == [5, 10, 1000]
    for bad in ("5,x", "10,5", "0,4"):
        with pytest.raises(click.BadParameter):
            curriculum.parse(bad)
    with pytest.raises(click.BadParameter, match="out_index"):
        curriculum.stages((2, 10), 100, 2)


def test_help_shows_preset_defaults():
    code = ("import sys\nfrom pipeline.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n"
            "    assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    units = {name: t["units"] for name, t in config.TRAINING.items()}
    assert all(f"{u} ({name})" in text for name, u in units.items()), text
    r = run_cli("generate", "--help")
    assert f"{config.SPLITS['long']['n_train']:,} (long)" in " ".join(r.stdout.split())


def test_preset_reaches_generate_and_train(tmp_path):
    """A `long` dataset (shortened by explicit options) gets long's training defaults, which explicit
    train options override in turn."""
    from pipeline import train

    data = tmp_path / "long.h5"
    r = run_cli("generate", "--problem", "long", "--length", 12, "--n-train", 512, "--n-val", 64, "--n-test", 64,
                "--out", data)
    assert r.returncode == 0, r.stderr
    with h5py.File(data) as f:
        assert f.attrs["problem"] == "long" and f.attrs["length"] == 12 and f.attrs["n_features"] == 10
        assert f["train/X"].shape == (512, 12, 10)
    preset = config.TRAINING["long"]
    record = train.train(data, tmp_path / "a.keras", train.Options(epochs=1, steps_per_epoch=2), verbose=0)
    p = record["params"]
    assert (p["units"], p["learning_rate"], p["clipnorm"]) == (preset["units"], preset["learning_rate"]["adam"],
                                                               preset["clipnorm"])
    assert p["curriculum"] == [n for n in preset["curriculum"] if n < 12] and record["curriculum"][0]["length"] == 5
    assert record["model"]["units"] == preset["units"]
    options = train.Options(epochs=1, steps_per_epoch=2, units=6, learning_rate=0.01, clipnorm=0, curriculum=())
    record = train.train(data, tmp_path / "b.keras", options, verbose=0)
    p = record["params"]
    assert (p["units"], p["learning_rate"], p["clipnorm"], p["curriculum"]) == (6, 0.01, None, [])
    assert record["curriculum"] is None
