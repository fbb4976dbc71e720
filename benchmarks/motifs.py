"""A synthetic dataset no preset, test or suite run was tuned on: each series is a random walk plus noise
with one short motif (a sine, a square or a triangle wave, the class) at a random place. Writes an .npz
that `import` reads (X_train, y_train, X_test, y_test).

    .venv/bin/python -m benchmarks.motifs --out data/motifs.npz
    .venv/bin/python -m pipeline import --train-file data/motifs.npz --test-file data/motifs.npz --out data/motifs.h5
"""
import click
import numpy as np

from pipeline.files import atomic_output

CLASSES = ("sine", "square", "triangle")


def motif(name: str, width: int) -> np.ndarray:
    """Two periods of the wave, amplitude 2."""
    phase = np.linspace(0, 2, width, endpoint=False) % 1  # two periods
    wave = {"sine": np.sin(2 * np.pi * phase), "square": np.where(phase < 0.5, 1.0, -1.0),
            "triangle": 1 - 4 * np.abs(phase - 0.5)}[name]
    return 2 * wave


def series(rng, n: int, length: int, width: int):
    """n series of `length` steps and their class names."""
    X = np.cumsum(rng.normal(0, 0.3, (n, length)), 1) + rng.normal(0, 0.5, (n, length))
    y = rng.integers(0, len(CLASSES), n)
    for row, label in enumerate(y):
        at = rng.integers(0, length - width + 1)
        X[row, at:at + width] += motif(CLASSES[label], width)
    return X[..., None].astype(np.float32), np.array(CLASSES)[y]


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The .npz to write.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--length", type=click.IntRange(80), default=500, show_default=True)
@click.option("--width", type=click.IntRange(8), default=40, show_default=True, help="The motif's steps.")
@click.option("--train", "n_train", type=click.IntRange(3), default=240, show_default=True)
@click.option("--test", "n_test", type=click.IntRange(1), default=300, show_default=True)
def main(out, seed, length, width, n_train, n_test):
    """Write the motif dataset."""
    if width > length:
        raise click.BadParameter(f"{width} is longer than --length {length}", param_hint="'--width'")
    rng = np.random.default_rng(seed)
    (X_train, y_train), (X_test, y_test) = series(rng, n_train, length, width), series(rng, n_test, length, width)
    with atomic_output(out) as tmp, open(tmp, "wb") as f:  # never a partial file at --out
        np.savez(f, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    click.echo(f"wrote {out}: {n_train} train / {n_test} test series of {length} steps, {len(CLASSES)} classes")


if __name__ == "__main__":
    main()
