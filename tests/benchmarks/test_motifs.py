"""The synthetic motif dataset (benchmarks/motifs.py): a class is its motif, found wherever it lies."""
import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks import motifs


def test_each_series_holds_its_class_motif_at_one_place(tmp_path):
    out = tmp_path / "m.npz"
    r = CliRunner().invoke(motifs.main, ["--out", str(out), "--length", "120", "--train", "30", "--test", "5"])
    assert r.exit_code == 0, r.output
    with np.load(out) as f:
        X, y = f["X_train"], f["y_train"]
        assert X.shape == (30, 120, 1) and f["X_test"].shape == (5, 120, 1) and set(y) <= set(motifs.CLASSES)
    # a square wave jumps by 4 between two steps, far more than the walk and its noise do: its series stand out
    jump = np.abs(np.diff(X[:, :, 0], axis=1)).max(1)
    square, other = jump[y == "square"], jump[y != "square"]
    assert len(square) and len(other) and square.min() > np.median(other) + 1


def test_the_same_seed_writes_the_same_data_and_another_does_not(tmp_path):
    def written(seed):
        CliRunner().invoke(motifs.main, ["--out", str(tmp_path / f"{seed}.npz"), "--seed", str(seed), "--length", "90"])
        with np.load(tmp_path / f"{seed}.npz") as f:
            return f["X_train"]
    assert np.array_equal(written(1), written(1)) and not np.array_equal(written(1), written(2))


@pytest.mark.parametrize("args", [["--width", "200", "--length", "100"], ["--length", "10"]])
def test_a_motif_that_cannot_fit_is_refused(tmp_path, args):
    r = CliRunner().invoke(motifs.main, ["--out", str(tmp_path / "m.npz"), *args])
    assert r.exit_code == 2 and not (tmp_path / "m.npz").exists()


def test_the_suite_makes_its_held_out_motif_sets_by_their_options_once(tmp_path):
    from benchmarks import suite

    args = suite.sources("Motifs-24x900", tmp_path)
    npz = args[args.index("--train-file") + 1]
    with np.load(npz) as f:
        assert f["X_train"].shape == (120, 900, 1) and f["X_test"].shape == (300, 900, 1)
    made = npz.stat().st_mtime_ns
    assert suite.sources("Motifs-24x900", tmp_path) == args and npz.stat().st_mtime_ns == made
