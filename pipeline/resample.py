"""Stage, resample: one stratified resample of a dataset's splits, as an .npz file that `import` reads.

The time-series bake-offs report a classifier over resamples of a dataset: its splits pooled and drawn
again, each class keeping its count in each split, resample 0 being the standard split as it is. Reads
--data (generated or imported) whole, with data.split_rows; writes --out, an .npz of X_<split>,
y_<split> (labels by class name) and, when lengths vary, lengths_<split>, for train, val and test
(sources.py's format). Resample 0 holds every split's rows as they are, so importing it gives the same
data (the same content hash); resample i > 0 draws each split's rows of each class from the pooled
rows by seed i, so every split keeps its size and class counts. NumPy only.

    python -m pipeline resample --data data/japanese-vowels.h5 --index 3 --out artifacts/resamples/3/resample.npz
"""
import click
import numpy as np

from pipeline import data, tokens
from pipeline.files import atomic_output, writable_target
from pipeline.options import data_option


def draw(labels: dict, index: int) -> dict:
    """split -> the rows it takes, as indices into the splits' rows pooled in data.SPLITS order, from
    each split's class indices (labels[split]). Index 0: each split's own rows; index i > 0: for each
    class, its pooled rows shuffled by seed i and dealt to the splits in their class counts."""
    sizes = [len(labels[split]) for split in data.SPLITS]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    if index == 0:
        return {split: np.arange(starts[i], starts[i + 1]) for i, split in enumerate(data.SPLITS)}
    pooled = np.concatenate([labels[split] for split in data.SPLITS])
    rng = np.random.default_rng(index)
    taken = {split: [] for split in data.SPLITS}
    for c in np.unique(pooled):
        rows = rng.permutation(np.flatnonzero(pooled == c))
        counts = np.cumsum([0] + [int(np.sum(labels[split] == c)) for split in data.SPLITS])
        for i, split in enumerate(data.SPLITS):
            taken[split].append(rows[counts[i]:counts[i + 1]])
    return {split: np.sort(np.concatenate(rows)) for split, rows in taken.items()}


def padded(sequences: list, info: data.DatasetInfo) -> np.ndarray:
    """Sequences of real steps ((steps, n_features) float32) padded to the dataset's length: tokens as
    integers (N, length), padded with 0; features as float32 (N, length, n_features), with pad_value."""
    if info.kind == "tokens":
        out = np.zeros((len(sequences), info.length), tokens.token_dtype(info.n_features))
        for row, x in zip(out, sequences):
            row[:len(x)] = x.argmax(axis=-1)
        return out
    out = np.full((len(sequences), info.length, info.n_features), info.pad_value, np.float32)
    for row, x in zip(out, sequences):
        row[:len(x)] = x
    return out


def resample_arrays(data_path, index: int) -> dict:
    """The arrays of resample `index` of a dataset, as the .npz holds them."""
    info = data.describe(data_path)
    sequences, labels = [], {}
    for split in data.SPLITS:
        rows, labels[split] = data.split_rows(info.path, split)
        sequences += rows
    names = np.array(info.classes)
    pooled = np.concatenate([labels[split] for split in data.SPLITS])
    arrays = {}
    for split, rows in draw(labels, index).items():
        chosen = [sequences[i] for i in rows]
        arrays[f"X_{split}"], arrays[f"y_{split}"] = padded(chosen, info), names[pooled[rows]]
        if info.variable:
            arrays[f"lengths_{split}"] = np.array([len(x) for x in chosen], np.int32)
    return arrays


def write(data_path, index: int, out) -> dict:
    """Write resample `index` of the dataset to the .npz file `out`; returns each split's rows."""
    writable_target(out)
    arrays = resample_arrays(data_path, index)
    with atomic_output(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return {split: len(arrays[f"y_{split}"]) for split in data.SPLITS}


@click.command("resample")
@data_option
@click.option("--index", type=click.IntRange(min=0), required=True,
              help="Which resample: 0 is the standard split as it is; i > 0 is drawn by seed i.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help=".npz file to write.")
def cli(data_path, index, out):
    """Write one stratified resample of a dataset's splits as an .npz file for `import`."""
    rows = write(data_path, index, out)
    click.echo(f"wrote {out}: resample {index} ({', '.join(f'{n:,} {split}' for split, n in rows.items())})")
