"""The recipe lab's variants (benchmarks/recipe_lab.py) build the member they name, each front end
reading the steps it names."""
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import recipe_lab
from pipeline import model

PROBLEM = {"kind": "features", "length": 50, "n_features": 2, "n_classes": 3, "classes": list("abc"),
           "variable": False, "pad_value": 0.0, "feature_mean": [0.5, -1.0], "feature_std": [2.0, 0.5]}
SETTINGS = {"units": 4, "conv": 7, "bidirectional": True, "pool": "mean"}


def built(variant, monkeypatch):
    for name, replacement in recipe_lab.VARIANTS[variant].items():
        monkeypatch.setattr(model, name, replacement)
    return model.build_model(PROBLEM, SETTINGS)


@pytest.mark.parametrize("variant", sorted(recipe_lab.VARIANTS))
def test_every_variant_classifies(variant, monkeypatch):
    x = np.random.default_rng(0).normal(size=(2, 50, 2)).astype(np.float32)
    assert np.allclose(built(variant, monkeypatch)(x).numpy().sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("variant, lengths", [("recipe", [50, 17, 6]), ("full-res", [50, 50, 50]),
                                              ("one-max", [50, 8, 8])])
def test_each_front_end_reads_its_steps_and_shortens_about_the_factor(variant, lengths, monkeypatch):
    """K = 7: the recipe's maxes of 3 and 3 steps after the first two convolutions; full-res's one
    max after the third; one-max's after the first. Each hands the recurrent layer 8 steps or fewer."""
    net = built(variant, monkeypatch)
    layers = {layer.name: layer for layer in net.layers}
    assert [layers[f"conv_relu_{i}"].output_shape[1] for i in (1, 2, 3)] == lengths
    recurrent = next(i for i, layer in enumerate(net.layers) if "lstm" in layer.name)
    assert net.layers[recurrent - 1].output_shape[1] in (6, 8)


def test_fcn_has_no_recurrent_layer(monkeypatch):
    names = [layer.name for layer in built("fcn", monkeypatch).layers]
    assert "front_mean" in names and not any("lstm" in name for name in names)


def test_each_variant_changes_what_it_names(monkeypatch):
    assert {layer.name: layer for layer in built("filters-128", monkeypatch).layers}["conv_2"].filters == 128
    with monkeypatch.context() as m:
        assert "noise" in [layer.name for layer in built("noise", m).layers]
    optimizer = recipe_lab.VARIANTS["adamw"]["make_optimizer"]("adam", 1e-3, ema=0.99)
    assert type(optimizer).__name__ == "AdamW" and optimizer.weight_decay == 0.01 and optimizer.use_ema


def test_an_out_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    data, out = tmp_path / "data.h5", tmp_path / "file" / "run" / "model.keras"
    data.write_text("")
    r = subprocess.run([sys.executable, "-m", "benchmarks.recipe_lab", "--variant", "recipe", "--data", str(data),
                        "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"Error: --out {out}: Not a directory"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.h5", "file"]
