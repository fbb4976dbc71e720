"""The HDF5 dataset contract, shared by every stage (NumPy and h5py only).

Layout of one file, for split in train, val, test:
    /{split}/X        (steps, n_features): every sequence's steps, one sequence after the other, without
                      padding; chunked along steps: uint8 one-hot tokens (kind "tokens") or float32 values
                      (kind "features")
    /{split}/y        (N, n_classes) uint8 one-hot labels
    /{split}/lengths  (N,) int32, each sequence's steps; only when lengths vary (attribute variable_length),
                      else every sequence has `length` steps. Sequence i is X[offsets[i]:offsets[i + 1]],
                      offsets the running sum of the lengths (row_offsets)
    /                 attributes: kind, length (the longest), n_features, n_classes, classes (the
                      label names, JSON), pad_value (what readers pad shorter sequences with in a batch, and
                      the model masks), seed, the split sizes, problem, format_version, unit_rows,
                      content_hash and how it was made; out_index for the echo problem (its label is the
                      input at that step); feature_mean and feature_std of the training split's steps for
                      kind "features" (the model standardises with them); max_length and keep when import
                      cut longer sequences to max_length steps, keeping their head or tail (truncated)

Content hash: each dataset is hashed in units of `unit_rows` rows (sha256 of each unit: its rows' steps
for X, then sha256 of those digests in order); content_hash is the sha256 of the "split/name:digest"
lines. It depends only on the data, never on chunking or how the file was written. A unit of one-hot rows
is hashed by its tokens (n_features times fewer bytes to hash; verify checks that every step is one-hot,
so equal digests still mean equal bytes); other arrays by their bytes.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pipeline import NAME, __version__, batches, config, tokens
from pipeline.files import BadFile, existing_file

FORMAT_VERSION = 4  # 4: steps without padding; 3: sequences padded to the longest; 2: echo only
SPLITS = ("train", "val", "test")
ARRAYS = ("X", "y")
KINDS = {"tokens": np.uint8, "features": np.float32}
REQUIRED = ("format_version", "kind", "length", "n_features", "n_classes", "classes", "pad_value", "seed",
            "n_train", "n_val", "n_test", "content_hash", "unit_rows")
ECHO_ATTRS = ("length", "n_features", "out_index", "seed", "n_train", "n_val", "n_test")  # generate's parameters
KEEP = ("head", "tail")  # which steps of a sequence longer than max_length import keeps


def sample_bytes(length: int, n_features: int, itemsize: int = 1) -> int:
    """Bytes of one stored sample: its sequence and its one-hot label (about; labels are counted as inputs)."""
    return (length + 1) * n_features * itemsize


def power_of_two_rows(budget: int, length: int, n_features: int, most: int, itemsize: int = 1) -> int:
    """The largest power of two up to `most` (at least 1) whose samples fit in `budget` bytes."""
    rows = most
    while rows > 1 and rows * sample_bytes(length, n_features, itemsize) > budget:
        rows >>= 1
    return rows


def forward_batch(most: int, length: int, n_features: int) -> int:
    """Rows of a batch the model only runs forward: `most`, or fewer (a power of two) so that the
    batch's float32 inputs stay within config.FORWARD_BYTES."""
    return power_of_two_rows(config.FORWARD_BYTES // 4, length, n_features, most)


def forward_compiles(rows: int, length: int) -> bool:
    """Whether a forward pass over `rows` sequences of `length` steps compiles the model with XLA."""
    return rows * length >= config.FORWARD_XLA_STEPS


def short_last_batch(rows: int, batch_size: int) -> int:
    """Rows of a pass's last batch when it is shorter than the others (a second shape for XLA), else 0."""
    return rows % batch_size if rows > batch_size else 0


def unit_rows(length: int, n_features: int, itemsize: int = 1) -> int:
    """Rows per writing and hashing unit."""
    return power_of_two_rows(config.UNIT_BYTES, length, n_features, most=1 << 16, itemsize=itemsize)


def h5_reader(path) -> h5py.File:
    """An HDF5 file opened for reading with the chunk cache every reader uses."""
    return h5py.File(path, "r", rdcc_nbytes=config.READ_CACHE_BYTES, rdcc_nslots=config.READ_CACHE_SLOTS)


def token_digest(seqs: np.ndarray, n_features: int) -> bytes:
    """Digest of a unit from its tokens: (rows, length) for X, (rows,) for y."""
    seqs = np.ascontiguousarray(seqs, dtype=tokens.token_dtype(n_features))
    return hashlib.sha256(seqs.data).digest()


def bytes_digest(array: np.ndarray) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(array).data).digest()


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


def storage_attrs(unit_rows: int, chunk_rows: int, compression: str, content_hash: str) -> dict:
    """The attributes of how a file was written, by `generate` or `import`."""
    return {"format_version": FORMAT_VERSION, "unit_rows": unit_rows, "chunk_rows": chunk_rows,
            "compression": compression, "content_hash": content_hash,
            "hash_algorithm": "sha256 of per-unit sha256 digests (see pipeline/data.py)",
            "generator": f"{NAME} {__version__}",
            "created_with": json.dumps({"numpy": np.__version__, "h5py": h5py.__version__,
                                        "hdf5": h5py.version.hdf5_version})}


def row_offsets(group, length: int) -> np.ndarray:
    """(N + 1,) int64: where each row of a split's group starts in its X, and where the last one ends."""
    n = len(group["y"])
    if "lengths" not in group:
        return np.arange(n + 1, dtype=np.int64) * length
    lengths, block = group["lengths"], config.UNIT_BYTES // 4
    offsets = np.zeros(n + 1, np.int64)
    for start in range(0, n, block):
        offsets[start + 1:start + block + 1] = lengths[start:start + block]
    return np.cumsum(offsets, out=offsets)


def read_rows(group, offsets: np.ndarray, start: int, stop: int) -> dict:
    """Rows [start, stop) of a split's group: X (their steps, one row after the other), y and lengths."""
    return {"X": group["X"][offsets[start]:offsets[stop]], "y": group["y"][start:stop],
            "lengths": np.diff(offsets[start:stop + 1])}


def read_padded(path, split: str, start: int = 0, stop: int | None = None) -> tuple:
    """(X, y) of rows [start, stop) of a split, X padded with pad_value to the file's length (rows,
    length, n_features), as a model takes them: for tests and small splits."""
    with h5_reader(path) as f:
        length, pad = int(f.attrs["length"]), float(f.attrs["pad_value"])
        offsets = row_offsets(f[split], length)
        rows = read_rows(f[split], offsets, start, len(offsets) - 1 if stop is None else stop)
    return batches.pad_rows(rows["X"], rows["lengths"], length, pad), rows["y"]


def kept_steps(lengths: np.ndarray, max_length: int | None, keep: str = "head") -> np.ndarray:
    """Which steps of sequences of `lengths` (stored one after the other) a cut to max_length keeps:
    the first max_length of each (head) or the last (tail); every step when max_length is None."""
    lengths = np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    if max_length is None:
        return np.ones(total, bool)
    step = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # position within its row
    return step < max_length if keep == "head" else step >= np.repeat(lengths - max_length, lengths)


def truncated(sequence, max_length: int | None, keep: str = "head"):
    """One sequence cut as import cuts each: at most max_length steps, its head or its tail."""
    if max_length is None or len(sequence) <= max_length:
        return sequence
    return sequence[:max_length] if keep == "head" else sequence[len(sequence) - max_length:]


@dataclass
class DatasetInfo:
    path: Path
    kind: str  # "tokens" (one-hot uint8) or "features" (float32)
    length: int  # steps of the longest sequence
    n_features: int
    n_classes: int
    classes: list  # the label names, class i is classes[i]
    rows: dict  # split -> number of sequences
    content_hash: str
    attrs: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)  # split -> steps stored (the sum of its lengths)

    @property
    def variable(self) -> bool:
        """Whether lengths vary: the file stores them, and padding is masked."""
        return bool(self.attrs.get("variable_length"))

    def mean_length(self, split: str) -> float:
        return self.steps[split] / self.rows[split]

    @property
    def truncation(self) -> dict:
        """{"max_length": N, "keep": "head" or "tail"} when import cut longer sequences, else {}."""
        if not self.attrs.get("max_length"):
            return {}
        return {"max_length": int(self.attrs["max_length"]), "keep": str(self.attrs["keep"])}

    @property
    def pad_value(self) -> float:
        return float(self.attrs["pad_value"])

    @property
    def out_index(self) -> int | None:
        """The echo problem's position (its label is the input there), or None for other problems."""
        return None if self.attrs.get("out_index") is None else int(self.attrs["out_index"])

    @property
    def seed(self) -> int:
        return int(self.attrs["seed"])

    @property
    def itemsize(self) -> int:
        return np.dtype(KINDS[self.kind]).itemsize

    @property
    def made_with(self) -> dict:
        """How the data was made, as stored: generate's parameters, or import's."""
        keys = ECHO_ATTRS if self.out_index is not None else ("source", "format", "seed", "n_train", "n_val", "n_test",
                                                              "max_length", "keep")
        return {k: self.attrs[k] for k in keys if k in self.attrs}

    @property
    def problem(self) -> dict:
        """What a model trained on this data depends on: its inputs, their padding and scaling, its classes."""
        problem = {"kind": self.kind, "length": self.length, "n_features": self.n_features,
                   "n_classes": self.n_classes, "classes": list(self.classes), "variable": self.variable,
                   "pad_value": self.pad_value}
        if self.out_index is not None:
            problem["out_index"] = self.out_index
        problem.update(self.truncation)
        if self.kind == "features":
            problem["feature_mean"] = list(self.attrs["feature_mean"])
            problem["feature_std"] = list(self.attrs["feature_std"])
        return problem

    @property
    def provenance(self) -> dict:
        """What artifacts made from this dataset record of it."""
        return {"path": str(self.path), "content_hash": self.content_hash, "problem": self.problem,
                "made_with": self.made_with}


def _attr(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def label_counts(y) -> np.ndarray:
    """How often each label occurs, read in blocks of about 4 MiB, whatever the split's size."""
    block = max(1, config.UNIT_BYTES // y.shape[1])
    return sum(y[s:s + block].sum(axis=0, dtype=np.int64) for s in range(0, len(y), block))


def length_range(lengths) -> dict:
    """A split's sequence lengths (its `lengths` array) as their min, median and max."""
    return {"min": int(np.min(lengths)), "median": int(np.median(lengths)), "max": int(np.max(lengths))}


def split_rows(path, split: str) -> tuple:
    """A whole split in memory, for the small datasets that baselines and resamples take whole:
    (a list of each sequence's real steps, (length, n_features) float32; its class indices)."""
    with open_h5(path) as f:
        offsets = row_offsets(f[split], int(f.attrs["length"]))
        rows = read_rows(f[split], offsets, 0, len(offsets) - 1)
    X = rows["X"].astype(np.float32)
    return [X[a:b] for a, b in zip(offsets[:-1], offsets[1:])], rows["y"].argmax(axis=-1)


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


def _header(bad, attrs: dict) -> list:
    """Check the attributes every file has; returns the class names."""
    missing = [k for k in REQUIRED if k not in attrs]
    if "format_version" in attrs and attrs["format_version"] != FORMAT_VERSION:
        raise bad(f"format_version {attrs['format_version']}, expected {FORMAT_VERSION}; make it again "
                  "('generate' or 'import')")
    if missing:
        raise bad(f"missing attribute(s) {', '.join(missing)}; not made by 'generate' or 'import'?")
    kind, length, n_features = attrs["kind"], int(attrs["length"]), int(attrs["n_features"])
    if kind not in KINDS:
        raise bad(f"unknown kind {kind!r} (expected {' or '.join(KINDS)})")
    if length < 1 or n_features < 1:
        raise bad(f"inconsistent attributes length={length} n_features={n_features}")
    try:
        classes = json.loads(attrs["classes"])
    except (TypeError, ValueError):
        classes = None
    if not isinstance(classes, list) or len(classes) != int(attrs["n_classes"]) or len(classes) < 2:
        raise bad(f"attribute classes ({str(attrs['classes'])[:60]}) is not a list of n_classes="
                  f"{attrs['n_classes']} names, two or more")
    out_index = attrs.get("out_index")
    if out_index is not None and not 0 <= int(out_index) < length:
        raise bad(f"inconsistent attributes length={length} out_index={out_index}")
    max_length = attrs.get("max_length") or 0
    if max_length and not (length <= int(max_length) and attrs.get("keep") in KEEP):
        raise bad(f"inconsistent attributes length={length} max_length={max_length} keep={attrs.get('keep')!r}")
    return classes


def _validate(p: Path, f: h5py.File) -> DatasetInfo:
    def bad(msg):
        return BadFile(f"dataset {p}: {msg}")

    attrs = {k: _attr(v) for k, v in f.attrs.items()}
    classes = _header(bad, attrs)
    rows, steps = {}, {}
    for split in SPLITS:
        group = _split_group(bad, f, split, attrs)
        offsets = _check_lengths(bad, split, group, attrs)
        _check_sample(bad, split, group, offsets, attrs)
        rows[split], steps[split] = len(offsets) - 1, int(offsets[-1])
    return DatasetInfo(p, attrs["kind"], int(attrs["length"]), int(attrs["n_features"]), len(classes), classes, rows,
                       str(attrs["content_hash"]), attrs, steps)


def _split_group(bad, f: h5py.File, split: str, attrs: dict):
    """A split's group, its datasets there with their shapes and types."""
    if split not in f or not isinstance(f[split], h5py.Group):
        raise bad(f"missing group '{split}'")
    group, kind, n_features = f[split], attrs["kind"], int(attrs["n_features"])
    names = (*ARRAYS, "lengths") if attrs.get("variable_length") else ARRAYS
    for name in names:
        if name not in group or not isinstance(group[name], h5py.Dataset):
            raise bad(f"missing dataset '{split}/{name}'")
    X, y, n_classes = group["X"], group["y"], int(attrs["n_classes"])
    if X.ndim != 2 or X.shape[1] != n_features:
        raise bad(f"'{split}/X' has shape {X.shape}, expected (steps, {n_features})")
    if y.shape[1:] != (n_classes,) or y.ndim != 2:
        raise bad(f"'{split}/y' has shape {y.shape}, expected (N, {n_classes})")
    if X.dtype != KINDS[kind] or y.dtype != np.uint8:
        raise bad(f"'{split}' arrays must be X {np.dtype(KINDS[kind])} and y uint8 for kind {kind}, "
                  f"found X {X.dtype}, y {y.dtype}")
    if "lengths" in names and (group["lengths"].shape != (len(y),) or group["lengths"].dtype.kind not in "iu"):
        raise bad(f"'{split}/lengths' has shape {group['lengths'].shape} {group['lengths'].dtype}, expected "
                  f"({len(y)},) integers, one per row of '{split}/y'")
    if len(y) != attrs[f"n_{split}"]:
        raise bad(f"'{split}' has {len(y)} rows, attribute n_{split} says {attrs[f'n_{split}']}")
    if len(y) < 1:
        raise bad(f"'{split}' is empty")
    return group


def _check_lengths(bad, split: str, group, attrs: dict) -> np.ndarray:
    """Every length in [1, length], and the steps of X exactly theirs; returns the rows' offsets."""
    length = int(attrs["length"])
    try:
        offsets = row_offsets(group, length)
    except OSError as e:
        raise bad(f"cannot read '{split}/lengths' (truncated or corrupt: {_short(e)})") from None
    lengths = np.diff(offsets)
    if not ((lengths >= 1) & (lengths <= length)).all():
        row = int(np.argmax((lengths < 1) | (lengths > length)))
        raise bad(f"'{split}/lengths' row {row} is {lengths[row]}, not in [1, {length}]")
    if offsets[-1] != len(group["X"]):
        rows_of = "its lengths add up to" if "lengths" in group else f"{len(lengths):,} rows of {length} make"
        raise bad(f"'{split}/X' has {len(group['X']):,} steps, but {rows_of} {offsets[-1]:,}")
    return offsets


def _check_sample(bad, split, group, offsets, attrs, rows=1024):
    """Read the first and last rows of a split: catches truncation, malformed rows and wrong labels."""
    n = len(offsets) - 1
    for start in sorted({0, max(0, n - rows)}):
        stop = min(n, start + rows)
        try:
            unit = read_rows(group, offsets, start, stop)
        except OSError as e:
            raise bad(f"cannot read '{split}' rows {start}-{stop} (truncated or corrupt: {_short(e)})") from None
        problem = rows_problem(unit, attrs)
        if problem:
            raise bad(f"'{split}/{problem[0]}' rows {start}-{stop} {problem[1]}")


def rows_problem(rows: dict, attrs) -> tuple | None:
    """What is wrong with stored rows (read_rows' X, y and lengths), as (array name, why), or None:
    labels one-hot, steps one-hot (tokens) or finite (features), the echo's label."""
    X, y = rows["X"], rows["y"]
    if not tokens.is_one_hot(y):
        return "y", "are not one-hot"
    if attrs["kind"] == "tokens":
        if not tokens.is_one_hot(X):
            return "X", "are not one-hot"
    elif not np.isfinite(X).all():
        return "X", "hold values that are not finite numbers"
    out_index = attrs.get("out_index")
    if out_index is not None:
        at = X.reshape(len(y), int(attrs["length"]), -1)[:, int(out_index)]
        if not (tokens.decode(y) == tokens.decode(at)).all():
            return "y", f"are not the input at out_index {out_index}"
    return None


def unit_digest(name: str, unit: np.ndarray, kind: str, n_features: int) -> bytes:
    """Digest of a unit of a stored array: one-hot arrays by their tokens, others by their bytes."""
    if name == "y" or (name == "X" and kind == "tokens"):
        return token_digest(tokens.decode(unit), unit.shape[-1] if name == "y" else n_features)
    return bytes_digest(unit)


def compute_digests(path) -> dict:
    """Recompute every dataset's digest from the stored bytes (reads the whole file, unit by unit),
    checking each unit's rows as describe() checks a sample."""
    out = {}
    with open_h5(path) as f:
        attrs = {k: _attr(v) for k, v in f.attrs.items()}
        step, kind, n_features = int(attrs["unit_rows"]), attrs["kind"], int(attrs["n_features"])
        for split in SPLITS:
            group = f[split]
            names = [n for n in (*ARRAYS, "lengths") if n in group]
            digests = {name: [] for name in names}
            offsets = row_offsets(group, int(attrs["length"]))
            for start in range(0, len(offsets) - 1, step):
                unit = read_rows(group, offsets, start, min(start + step, len(offsets) - 1))
                problem = rows_problem(unit, attrs)
                if problem:
                    raise BadFile(f"dataset {path}: '{split}/{problem[0]}' rows {start}-"
                                  f"{start + len(unit['y'])} {problem[1]} (corrupt)")
                unit["lengths"] = unit["lengths"].astype(np.int32)
                for name in names:
                    digests[name].append(unit_digest(name, unit[name], kind, n_features))
            out.update({f"{split}/{name}": top_digest(d) for name, d in digests.items()})
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


def train_lengths(path) -> np.ndarray:
    """The training sequences' lengths (all the longest's when lengths do not vary)."""
    with open_h5(path) as f:
        return np.diff(row_offsets(f["train"], int(f.attrs["length"])))
