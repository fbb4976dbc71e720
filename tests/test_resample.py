"""resample and resamples-summary: resample 0 of a dataset is its standard split (imported again, the same
content hash), every resample keeps each split's size and class counts and uses each pooled row once, the
resamples differ from each other; the summary's mean, standard deviation, range, rank and z-score."""
import json

import numpy as np
import pytest

from pipeline import data, importer, resample, resamples
from pipeline.files import BadFile
from tests.test_importer import OPTIONS, write_lines


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """A small dataset of real-valued series of different lengths (two features per step), imported."""
    folder = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(3)
    lines = [f"{'xyz'[i % 3]}," + ",".join(f"{a:.3f} {b:.3f}" for a, b in rng.normal(size=(2 + i % 5, 2)))
             for i in range(60)]
    chosen = {**OPTIONS, "train_file": write_lines(folder / "train.csv", lines[:45]),
              "test_file": write_lines(folder / "test.csv", lines[45:]), "n_val": 6}
    importer.import_files(folder / "own.h5", chosen)
    return folder / "own.h5"


def imported(data_path, index, folder):
    """Resample `index` of a dataset, written by the stage and imported as `make resamples` imports it."""
    npz = folder / f"resample-{index}.npz"
    resample.write(data_path, index, npz)
    importer.import_files(folder / f"resample-{index}.h5", {**OPTIONS, **dict.fromkeys(
        ("train_file", "val_file", "test_file"), npz)})
    return data.describe(folder / f"resample-{index}.h5")


def class_counts(path) -> dict:
    info = data.describe(path)
    return {split: np.bincount(data.split_rows(path, split)[1], minlength=info.n_classes).tolist()
            for split in data.SPLITS}


@pytest.mark.parametrize("name", ["tiny_data", "features", "ragged"])
def test_resample_0_is_the_standard_split(name, request, tmp_path):
    """Tokens of one length (generated), real values of different lengths, tokens of different lengths."""
    found = request.getfixturevalue(name)
    path = found / "own.h5" if name == "ragged" else found
    standard = data.describe(path)
    again = imported(path, 0, tmp_path)
    assert again.content_hash == standard.content_hash
    assert (again.classes, again.rows, again.kind, again.variable) == \
        (standard.classes, standard.rows, standard.kind, standard.variable)


@pytest.mark.parametrize("name", ["tiny_data", "features"])
def test_resamples_keep_each_splits_size_and_class_counts_and_differ(name, request, tmp_path):
    path = request.getfixturevalue(name)
    standard = data.describe(path)
    hashes = {standard.content_hash}
    pooled = sorted(tuple(x.ravel()) for split in data.SPLITS for x in data.split_rows(path, split)[0])
    for index in (1, 2):
        info = imported(path, index, tmp_path)
        assert info.rows == standard.rows and class_counts(info.path) == class_counts(path)
        rows = sorted(tuple(x.ravel()) for split in data.SPLITS for x in data.split_rows(info.path, split)[0])
        assert rows == pooled  # every pooled row, once
        hashes.add(info.content_hash)
    assert len(hashes) == 3  # the standard split and two resamples, all different
    test = [data.split_rows(tmp_path / f"resample-{i}.h5", "test")[0] for i in (1, 2)]
    assert not all(np.array_equal(a, b) for a, b in zip(*test))


def test_a_draw_deals_each_classs_rows_by_the_seed():
    labels = {"train": np.array([0, 0, 0, 1, 1, 2]), "val": np.array([1, 2]), "test": np.array([0, 1, 2, 2])}
    pooled = np.concatenate([labels[s] for s in data.SPLITS])
    assert {s: r.tolist() for s, r in resample.draw(labels, 0).items()} == \
        {"train": [0, 1, 2, 3, 4, 5], "val": [6, 7], "test": [8, 9, 10, 11]}
    draws = [resample.draw(labels, i) for i in range(1, 6)]
    for drawn in draws:
        assert sorted(np.concatenate(list(drawn.values())).tolist()) == list(range(12))
        for split in data.SPLITS:
            assert np.bincount(pooled[drawn[split]], minlength=3).tolist() == \
                np.bincount(labels[split], minlength=3).tolist()
    assert len({tuple(d["test"]) for d in draws}) > 1
    assert all(np.array_equal(resample.draw(labels, 3)[s], draws[2][s]) for s in data.SPLITS)  # the seed decides


def test_spread_is_the_mean_standard_deviation_range_rank_and_z_score():
    values = [0.9, 0.8, 1.0, 0.7, 0.9]
    s = resamples.spread(values)
    std = np.std(values, ddof=1)
    assert s["mean"] == pytest.approx(0.86) and s["std"] == pytest.approx(std)
    assert (s["min"], s["max"], s["standard"], s["rank"]) == (0.7, 1.0, 0.9, 2)
    assert s["z"] == pytest.approx((0.9 - 0.86) / std)
    assert resamples.spread([0.5, 0.5])["z"] == 0.0  # no spread: the standard split is at the mean


def test_the_summary_reads_each_resamples_metrics_and_checks_resample_0(tiny_data, tmp_path):
    standard = data.describe(tiny_data).content_hash
    scores = [(0.9, 0.88, 0.89), (0.8, 0.79, 0.81), (1.0, 0.97, 0.99)]
    for i, (accuracy, macro_f1, balanced) in enumerate(scores):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "metrics.json").write_text(json.dumps({
            "accuracy": accuracy, "macro_f1": macro_f1, "balanced_accuracy": balanced, "n_test": 3000,
            "dataset": {"content_hash": standard if i == 0 else f"{i}" * 64}}))
    record = resamples.summarize(tmp_path, 3, tiny_data)
    assert record["scores"]["macro_f1"]["mean"] == pytest.approx(np.mean([0.88, 0.79, 0.97]))
    assert record["scores"]["accuracy"]["std"] == pytest.approx(np.std([0.9, 0.8, 1.0], ddof=1))
    assert record["scores"]["balanced_accuracy"]["rank"] == 2
    assert json.loads((tmp_path / "resamples.json").read_text()) == record
    text = (tmp_path / "resamples.md").read_text()
    assert "mean ± standard deviation" in record["what"] and "over 3 resampled splits" in text
    assert "| accuracy | 0.9000 ± 0.1000 | 0.8000 – 1.0000 | 0.9000 | 2 of 3 | +0.00 |" in text
    (tmp_path / "0" / "metrics.json").write_text((tmp_path / "1" / "metrics.json").read_text())
    with pytest.raises(BadFile, match="resample 0 .* not the standard split"):
        resamples.summary(tmp_path, 3, tiny_data)
