"""Presets are data a user edits (pipeline/presets.py): checked against the parameter tables whenever a
command runs. A good one works whichever way a value is written; a bad one stops every command with one
line naming the preset and the key, never a traceback."""
import shutil
import subprocess
import sys

import pytest

from pipeline import params, presets, train
from tests.conftest import ROOT, invoke

MINE = {"import": {"train_file": "mine_train.csv", "test_file": "mine_test.csv"},
        "train": {"units": 8, "learning_rate": 0.001}}


@pytest.fixture
def with_preset(monkeypatch):
    """Run with one more preset, `mine`, given as a user would write it."""
    def add(preset):
        monkeypatch.setitem(presets.PRESETS, "mine", preset)
        params.checked_presets.cache_clear()
    yield add
    params.checked_presets.cache_clear()


def test_a_scalar_learning_rate_trains_at_that_rate(with_preset, tiny_data):
    with_preset(MINE)
    info = train.data.describe(tiny_data)
    info.attrs["problem"] = "mine"
    settings = train.resolve(train.Options(), info)
    assert settings["learning_rate"] == 0.001 and settings["units"] == 8
    assert settings["batch_size"] == params.preset_section(None, "train")["batch_size"]  # left out: the default's
    settings = train.resolve(train.Options(optimizer="sgd"), info)
    assert settings["learning_rate"] == 0.001  # one rate for every optimizer
    assert "0.001 (mine)" in invoke("train", "--help").stdout


def test_a_per_optimizer_learning_rate_takes_the_optimizers(with_preset, tiny_data):
    with_preset({**MINE, "train": {"learning_rate": {"adam": 0.002, "sgd": 0.3}}})
    info = train.data.describe(tiny_data)
    info.attrs["problem"] = "mine"
    assert train.resolve(train.Options(optimizer="sgd"), info)["learning_rate"] == 0.3


BAD = [
    ({**MINE, "train": {"learnin_rate": 0.001}}, "train.learnin_rate is not a train parameter"),
    ({**MINE, "train": {"units": "many"}}, "train.units: 'many' is not a valid integer"),
    ({**MINE, "train": {"units": 25.5}}, "train.units: 25.5 is not a whole number"),
    ({**MINE, "train": {"units": True}}, "train.units: True is not a whole number"),
    ({**MINE, "train": {"units": 0}}, "train.units: 0 is not in the range x>=1"),
    ({**MINE, "train": {"backwards": "yes"}}, "train.backwards: 'yes' is not true or false"),
    ({**MINE, "train": {"learning_rate": {"adam": 0.1, "rmsprop": 0.1}}},
     "train.learning_rate: one rate, or one per optimizer among adam, sgd"),
    ({**MINE, "train": {"curriculum": (10, 5)}}, "train.curriculum: '10,5': lengths must be positive and increasing"),
    ({**MINE, "tune": {}}, "must be a dict of sections, among generate, import, train"),
    ({"train": {"units": 8}}, "needs one section saying where its data comes from: generate or import"),
    ({"generate": {"length": 5}, "train": {}}, "generate lacks n_features, out_index, n_train, n_val, n_test"),
    ({"import": {"train_file": "a.csv"}}, "import needs dataset, or train_file and test_file"),
    ({"import": {"dataset": "X", "n_vall": 3}}, "import.n_vall is not a import parameter"),
]


@pytest.mark.parametrize("preset, why", BAD)
def test_a_bad_preset_stops_every_command_with_one_line(with_preset, preset, why):
    with_preset(preset)
    for args in (["generate", "--help"], ["inspect", "x.csv"], ["train", "--help"]):
        r = invoke(*args)
        assert r.returncode == 1 and r.stdout == "", (args, r.stdout)
        assert r.stderr.startswith("echo-pipeline: error: preset 'mine' in pipeline/presets.py: ") and why in r.stderr
        assert r.stderr.count("\n") == 1, r.stderr


@pytest.mark.slow
def test_a_bad_preset_written_into_the_file_is_one_line_before_anything_loads(tmp_path):
    """As a user meets it: the file edited, any command run in a fresh process."""
    shutil.copytree(ROOT / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    source = tmp_path / "pipeline" / "presets.py"
    source.write_text(source.read_text() + '\nPRESETS["mine"] = {"generate": {**PRESETS["reference"]["generate"]}, '
                      '"train": {"units": 8, "learning_rate": 0.001, "dropuot": 0.1}}\n')
    r = subprocess.run([sys.executable, "-m", "pipeline", "generate", "--help"], cwd=tmp_path, capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == ("echo-pipeline: error: preset 'mine' in pipeline/presets.py: train.dropuot is not a train "
                        f"parameter (those are: {', '.join(p.name for p in params.TRAIN)})\n")


def test_the_presets_that_ship_pass_their_check():
    assert set(params.checked_presets()) == set(presets.PRESETS)
