"""The HDF5 dataset contract, shared by every stage (NumPy and h5py only).

Layout of one file:
    /            attributes: the generation parameters, format_version, unit_rows, content_hash
    /{split}/X   (N, length, n_features) uint8 one-hot inputs, chunked along N
    /{split}/y   (N, n_features) uint8 one-hot labels; each dataset carries its own sha256
for split in train, val, test.

Content hash: each dataset is hashed in units of `unit_rows` rows (sha256 of each unit's tokens, the
values its one-hot rows encode, then sha256 of those digests in order); content_hash is the sha256 of
the "split/name:digest" lines. It depends only on the data, never on chunking or how the file was
written. Hashing tokens rather than one-hot bytes reads n_features times fewer bytes; verify checks
that every row is one-hot, so equal digests still mean equal bytes.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pipeline import config, echo
from pipeline.files import BadFile, existing_file

FORMAT_VERSION = 2  # 2: digests of tokens instead of one-hot bytes
SPLITS = ("train", "val", "test")
ARRAYS = ("X", "y")
PARAMS = ("length", "n_features", "out_index", "seed", "n_train", "n_val", "n_test")


def sample_bytes(length: int, n_features: int) -> int:
    """Bytes of one stored sample: its one-hot sequence and its one-hot label."""
    return (length + 1) * n_features


def power_of_two_rows(budget: int, length: int, n_features: int, most: int) -> int:
    """The largest power of two up to `most` (at least 1) whose samples fit in `budget` bytes."""
    rows = most
    while rows > 1 and rows * sample_bytes(length, n_features) > budget:
        rows >>= 1
    return rows


def forward_batch(most: int, length: int, n_features: int) -> int:
    """Rows of a batch the model only runs forward: `most`, or fewer (a power of two) so that the
    batch's float32 inputs stay within config.FORWARD_BYTES."""
    return power_of_two_rows(config.FORWARD_BYTES // 4, length, n_features, most)


def unit_rows(length: int, n_features: int) -> int:
    """Rows per generation and hashing unit."""
    return power_of_two_rows(config.UNIT_BYTES, length, n_features, most=1 << 16)


def h5_reader(path) -> h5py.File:
    """An HDF5 file opened for reading with the chunk cache every reader uses."""
    return h5py.File(path, "r", rdcc_nbytes=config.READ_CACHE_BYTES, rdcc_nslots=config.READ_CACHE_SLOTS)


def token_digest(tokens: np.ndarray, n_features: int) -> bytes:
    """Digest of a unit from its tokens: (rows, length) for X, (rows,) for y."""
    tokens = np.ascontiguousarray(tokens, dtype=echo.token_dtype(n_features))
    return hashlib.sha256(tokens.data).digest()


def unit_digest(unit: np.ndarray) -> bytes | None:
    """Digest of a unit of stored one-hot rows; None if a row is not one-hot."""
    if not echo.is_one_hot(unit):
        return None
    return token_digest(echo.decode(unit), unit.shape[-1])


def top_digest(unit_digests) -> str:
    """sha256 over the units' digests, in order: a dataset's digest."""
    top = hashlib.sha256()
    for d in unit_digests:
        top.update(d)
    return top.hexdigest()


def combine_digests(digests: dict) -> str:
    """The file's content hash from {"train/X": hex, ...}."""
    lines = "".join(f"{name}:{digests[name]}\n" for name in sorted(digests))
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass
class DatasetInfo:
    path: Path
    length: int
    n_features: int
    out_index: int
    seed: int
    rows: dict  # split -> number of sequences
    content_hash: str
    attrs: dict = field(default_factory=dict)

    @property
    def params(self) -> dict:
        """The generation parameters, as stored."""
        return {k: self.attrs[k] for k in PARAMS}

    @property
    def problem(self) -> dict:
        """What a model trained on this data depends on."""
        return {"length": self.length, "n_features": self.n_features, "out_index": self.out_index}

    @property
    def provenance(self) -> dict:
        """What artifacts made from this dataset record of it."""
        return {"path": str(self.path), "content_hash": self.content_hash, "problem": self.problem,
                "params": self.params}


def _attr(value):
    return value.item() if isinstance(value, np.generic) else value


def open_h5(path) -> h5py.File:
    """Open an HDF5 file for reading, or BadFile saying why it cannot be."""
    p = existing_file(path, "dataset")
    try:
        return h5_reader(p)
    except OSError as e:
        raise BadFile(f"dataset {p}: not a readable HDF5 file ({_short(e)})") from None


def _short(e: Exception) -> str:
    """The first line of an error's message (its type when the message is empty), at most 160 characters."""
    return (str(e).splitlines() or [type(e).__name__])[0][:160]


def describe(path) -> DatasetInfo:
    """Open and validate a dataset file: layout, attributes, shapes, dtypes and a sample of rows.

    Raises BadFile with one line naming the file and what is wrong.
    """
    p = Path(path)
    with open_h5(p) as f:
        return _validate(p, f)


def _validate(p: Path, f: h5py.File) -> DatasetInfo:
    def bad(msg):
        return BadFile(f"dataset {p}: {msg}")

    attrs = {k: _attr(v) for k, v in f.attrs.items()}
    missing = [k for k in (*PARAMS, "format_version", "content_hash", "unit_rows") if k not in attrs]
    if missing:
        raise bad(f"missing attribute(s) {', '.join(missing)}; not made by 'generate'?")
    if attrs["format_version"] != FORMAT_VERSION:
        raise bad(f"format_version {attrs['format_version']}, expected {FORMAT_VERSION}; run 'generate' again")
    length, n_features, out_index = (int(attrs[k]) for k in ("length", "n_features", "out_index"))
    if length < 1 or n_features < 2 or not 0 <= out_index < length:
        raise bad(f"inconsistent attributes length={length} n_features={n_features} out_index={out_index}")
    rows = {}
    for split in SPLITS:
        if split not in f or not isinstance(f[split], h5py.Group):
            raise bad(f"missing group '{split}'")
        for name in ARRAYS:
            if name not in f[split] or not isinstance(f[split][name], h5py.Dataset):
                raise bad(f"missing dataset '{split}/{name}'")
        X, y = f[split]["X"], f[split]["y"]
        if X.shape[1:] != (length, n_features):
            raise bad(f"'{split}/X' has shape {X.shape}, expected (N, {length}, {n_features})")
        if y.shape[1:] != (n_features,) or y.ndim != 2:
            raise bad(f"'{split}/y' has shape {y.shape}, expected (N, {n_features})")
        if X.dtype != np.uint8 or y.dtype != np.uint8:
            raise bad(f"'{split}' arrays must be uint8, found X {X.dtype}, y {y.dtype}")
        if len(X) != len(y):
            raise bad(f"'{split}/X' has {len(X)} rows but '{split}/y' has {len(y)}")
        if len(X) != attrs[f"n_{split}"]:
            raise bad(f"'{split}' has {len(X)} rows, attribute n_{split} says {attrs[f'n_{split}']}")
        if len(X) < 1:
            raise bad(f"'{split}' is empty")
        _check_sample(bad, split, X, y, out_index)
        rows[split] = len(X)
    return DatasetInfo(p, length, n_features, out_index, int(attrs["seed"]), rows,
                       str(attrs["content_hash"]), attrs)


def _check_sample(bad, split, X, y, out_index, rows=1024):
    """Read the first and last rows of a split: catches truncation, non-one-hot data and wrong labels."""
    n = len(X)
    for start in sorted({0, max(0, n - rows)}):
        stop = min(n, start + rows)
        try:
            xb, yb = X[start:stop], y[start:stop]
        except OSError as e:
            raise bad(f"cannot read '{split}' rows {start}-{stop} (truncated or corrupt: {_short(e)})") from None
        if not echo.is_one_hot(xb):
            raise bad(f"'{split}/X' rows {start}-{stop} are not one-hot")
        if not echo.is_one_hot(yb):
            raise bad(f"'{split}/y' rows {start}-{stop} are not one-hot")
        if not (echo.decode(yb) == echo.decode(xb[:, out_index])).all():
            raise bad(f"'{split}/y' rows {start}-{stop} are not the input at out_index {out_index}")


def compute_digests(path) -> dict:
    """Recompute every dataset's digest from the stored bytes (reads the whole file, unit by unit)."""
    out = {}
    with open_h5(path) as f:
        step = int(f.attrs["unit_rows"])
        for split in SPLITS:
            for name in ARRAYS:
                d = f[split][name]
                digests = []
                for start in range(0, len(d), step):
                    digest = unit_digest(d[start:start + step])
                    if digest is None:
                        raise BadFile(f"dataset {path}: '{split}/{name}' rows {start}-{min(start + step, len(d))} "
                                      "are not one-hot (corrupt)")
                    digests.append(digest)
                out[f"{split}/{name}"] = top_digest(digests)
    return out


def verify(path) -> str:
    """Check the stored content hash against the data; return it, or raise BadFile."""
    digests = compute_digests(path)
    with open_h5(path) as f:
        stored = str(f.attrs["content_hash"])
        for name, hexdigest in digests.items():
            if str(f[name].attrs.get("sha256", "")) != hexdigest:
                raise BadFile(f"dataset {path}: '{name}' does not match its stored sha256 (corrupt)")
    if combine_digests(digests) != stored:
        raise BadFile(f"dataset {path}: content_hash does not match the data (corrupt)")
    return stored
