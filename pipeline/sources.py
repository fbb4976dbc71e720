"""A user's sequences, read from their files in blocks of rows. NumPy only (aeon for .ts).

Formats:
    text  (.csv, .txt, .tsv): one sequence per line, `label,step,step,...`. A step is one number (a
          token, or a value of a univariate series) or several numbers separated by spaces (a
          multivariate series: every step of every line has the same number). Blank lines and lines
          starting with # are skipped. Labels are any text without a comma. UTF-8; a leading byte-order
          mark (Excel's "CSV UTF-8") is skipped.
    npz   (.npz): arrays X_<split> (N, length) tokens or (N, length, n_features) values, y_<split> (N,)
          labels, and optionally lengths_<split> (N,) when rows are padded to one length.
    ts    (.ts): the UEA/UCR time-series classification archives' format, read by aeon's
          load_from_ts_file (install the `ts` extra; `make` does when a preset needs it).

A Block holds up to BLOCK_LINES rows: their labels, their numbers of steps and all their steps' values
(float64, one row of `width` values per step), so that checks and encoding run on arrays, not row by
row. A row the format cannot give raises BadRow, naming the line (or row) and why; a file that cannot be
read at all (not the format, damaged, truncated) raises BadFile, naming it and why.
"""
import dataclasses
import itertools
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from pipeline.files import TEXT_ENCODING, BadFile, existing_file

SUFFIXES = {".csv": "text", ".txt": "text", ".tsv": "text", ".npz": "npz", ".ts": "ts"}  # a name's format
BLOCK_LINES = 8192  # rows read at a time: memory stays flat whatever the file's size


class BadRow(ValueError):
    """A row that cannot be read; str() says where and why."""


@dataclasses.dataclass
class Block:
    where: list  # "line N" or "row N" of each row, for messages
    labels: list  # str
    steps: np.ndarray  # int64 (rows,): each row's number of steps
    values: np.ndarray  # float64 (sum of steps, width): every step, row after row

    @property
    def starts(self) -> np.ndarray:
        """Each row's first step in values."""
        return np.concatenate([[0], np.cumsum(self.steps)[:-1]]).astype(np.int64)

    def row_of_step(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.steps)), self.steps)


def detect(path, given: str = "auto") -> str:
    """The format of `path`: `given`, or the one its suffix names."""
    if given != "auto":
        return given
    found = SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise BadFile(f"{path}: cannot tell its format from the name; give --format ({', '.join(FORMATS)})")
    return found


def blocks(path, fmt: str, split: str):
    """Yield the file's rows as Blocks."""
    yield from READERS[fmt](existing_file(path, f"{split} file"), split)


def _text_blocks(path: Path):
    number = 0
    try:
        with open(path, encoding=TEXT_ENCODING, newline="") as f:
            while True:
                lines = list(itertools.islice(f, BLOCK_LINES))
                if not lines:
                    return
                numbered = [(number + i + 1, text) for i, line in enumerate(lines)
                            if (text := line.strip()) and not text.startswith("#")]
                number += len(lines)
                if numbered:
                    yield parse_lines(numbered)
    except UnicodeDecodeError:
        raise BadFile(f"{path}: not a text file (UTF-8)") from None


def parse_lines(numbered: list) -> Block:
    """A Block from (line number, text) pairs: all the numbers parsed at once; any line the fast way
    cannot vouch for is parsed alone (parse_line), which names what is wrong with it."""
    labels, rests = [], []
    for _, text in numbered:
        label, _comma, rest = text.partition(",")
        labels.append(label.strip())
        rests.append(rest)
    first = rests[0].partition(",")[0].split()
    width = len(first)
    steps = np.array([r.count(",") + 1 for r in rests], np.int64)
    joined = " ".join(rests).replace(",", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns, and stops, at text that is not a number
        try:
            values = np.fromstring(joined, dtype=np.float64, sep=" ")
        except (DeprecationWarning, ValueError):
            values = None
    fine = (width > 0 and values is not None and len(values) == int(steps.sum()) * width and
            all(labels) and np.isfinite(values).all() and
            (width == 1 or all(len(s.split()) == width for r in rests for s in r.split(","))))
    if not fine:  # find the line, and say why
        rows = [parse_line(text, number) for number, text in numbered]
        widths = {v.shape[1] for _, v in rows}
        if len(widths) > 1:
            i = next(i for i, (_, v) in enumerate(rows) if v.shape[1] != rows[0][1].shape[1])
            raise BadRow(f"line {numbered[i][0]}: {rows[i][1].shape[1]} values per step, but the rows before have "
                         f"{rows[0][1].shape[1]} (ragged dimensions)")
        return Block([f"line {n}" for n, _ in numbered], [label for label, _ in rows],
                     np.array([len(v) for _, v in rows], np.int64), np.concatenate([v for _, v in rows]))
    return Block([f"line {n}" for n, _ in numbered], labels, steps, values.reshape(-1, width))


def parse_line(text: str, number: int) -> tuple:
    """('label', values (steps, width)) from 'label,step,step,...'; BadRow naming the line and why."""
    label, comma, rest = text.partition(",")
    label = label.strip()
    if not comma or not rest.strip():
        raise BadRow(f"line {number}: no values after the label (expected label,value,value,...)")
    if not label:
        raise BadRow(f"line {number}: no label before the first comma")
    steps = rest.split(",")
    counts = [len(s.split()) for s in steps]
    for v in rest.replace(",", " ").split():
        if not _is_number(v):
            raise BadRow(f"line {number}: {v[:20]!r} is not a number")
    if counts[0] == 0:
        raise BadRow(f"line {number}: step 1 has no values")
    if min(counts) != max(counts):
        step = next(i for i, c in enumerate(counts) if c != counts[0])
        raise BadRow(f"line {number}: step {step + 1} has {counts[step]} values but step 1 has {counts[0]} "
                     "(ragged dimensions)")
    values = np.array(rest.replace(",", " ").split(), dtype=np.float64)
    if not np.isfinite(values).all():
        raise BadRow(f"line {number}: {values[~np.isfinite(values)][0]} is not a finite number")
    return label, values.reshape(len(steps), counts[0])


def class_order(labels) -> list:
    """Class names in a natural order: numerically when every label is a number, else as text."""
    labels = list(labels)
    if all(_is_number(x) for x in labels):
        return sorted(labels, key=lambda x: (float(x), x))
    return sorted(labels)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _npz_arrays(path: Path, split: str) -> tuple:
    """(rows of values, labels) of one split of an .npz file."""
    arrays = _npz_load(path, split)
    X, y, lengths = arrays["X"], arrays["y"], arrays.get("lengths")
    if X.ndim not in (2, 3) or y.ndim != 1 or len(X) != len(y):
        raise BadFile(f"{path}: X_{split} {X.shape} and y_{split} {y.shape} are not (N, length[, n_features]) "
                      "and (N,)")
    if X.dtype.kind not in "biuf":
        raise BadFile(f"{path}: X_{split} holds {X.dtype} values, not integers or floats")
    if 0 in X.shape[1:]:
        raise BadFile(f"{path}: X_{split} {X.shape} holds no values")
    if lengths is not None and (lengths.shape != (len(X),) or lengths.dtype.kind not in "iu"):
        raise BadFile(f"{path}: lengths_{split} {lengths.shape} {lengths.dtype} is not one whole number per row "
                      f"of X_{split}")
    X = X if X.ndim == 3 else X[..., np.newaxis]
    for i, n in enumerate([len(x) for x in X] if lengths is None else lengths.tolist()):
        if not 1 <= n <= X.shape[1]:
            raise BadRow(f"row {i + 1}: length {n} is not in [1, {X.shape[1]}]")
    rows = X if lengths is None else [x[:n] for x, n in zip(X, lengths.tolist())]
    return rows, [str(v) for v in y.tolist()]


def _npz_load(path: Path, split: str) -> dict:
    """The split's arrays ("X", "y" and, if there, "lengths") of an .npz file; BadFile if it cannot be read."""
    with open(path, "rb") as f:
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # what every zip archive begins with
            raise BadFile(f"{path}: not an .npz file (numpy.savez writes a zip archive of arrays; this is not one)")
    names = {"X": f"X_{split}", "y": f"y_{split}", "lengths": f"lengths_{split}"}
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {key: z[name] for key, name in names.items() if name in z}
    except Exception as e:  # a damaged archive fails in many ways: BadZipFile, zlib.error, EOFError, ValueError
        raise BadFile(f"{path}: {_npz_failure(e)}") from None
    if "X" not in arrays or "y" not in arrays:
        raise BadFile(f"{path}: no arrays X_{split} and y_{split} (an .npz file holds X_train, y_train, "
                      "X_test, y_test, optionally X_val, y_val and lengths_<split>)")
    for key, array in arrays.items():
        if not isinstance(array, np.ndarray):  # np.load gives the bytes of a member that is not an array
            raise BadFile(f"{path}: {names[key]} is not a NumPy array (a damaged .npz file)")
    return arrays


def _npz_failure(error: Exception) -> str:
    """Why an .npz file could not be read, in a few words."""
    text = (str(error).splitlines() or [type(error).__name__])[0][:120]
    if "allow_pickle" in text:
        return "holds arrays of Python objects (dtype=object), read only by unpickling; save numbers and text"
    if isinstance(error, zipfile.BadZipFile) and "not a zip file" in text:
        text = "the end of its zip archive is missing"
    return f"a damaged or truncated .npz file ({text})"


def _ts_arrays(path: Path) -> tuple:
    """(rows of values (time, channels), labels) of a .ts file, read by aeon."""
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError:
        raise BadFile(f"{path}: reading .ts files needs aeon: pip install -e '.[ts]' (make installs it for the "
                      "presets that need it)") from None
    try:
        X, y, header = load_from_ts_file(str(path), return_meta_data=True, encoding=TEXT_ENCODING)
    except Exception as e:  # aeon raises many types for a malformed file
        why = re.sub(r"^Error loading <[^>]*>\.\s*", "", (str(e).splitlines() or [repr(e)])[0])  # aeon's file object
        raise BadFile(f"{path}: not a readable .ts file ({why[:120]})") from None
    labels = [str(v) for v in y]
    if not header["classlabel"] or len(labels) != len(X):
        raise BadFile(f"{path}: no class labels (a .ts file of classes says '@classLabel true' and their names, "
                      "and ends each row with :label)")
    named, known = header["class_values"], set(header["class_values"])
    bad = next((i for i, label in enumerate(labels) if label not in known), None)
    if bad is not None:  # a truncated last label, say
        raise BadRow(f"row {bad + 1}: label {labels[bad]!r} is not among the classes its @classLabel line names "
                     f"({', '.join(named)})")
    return [np.asarray(x, np.float64).T for x in X], labels  # aeon gives (channels, time)


def _array_blocks(rows, labels):
    """Blocks of rows given as arrays (time, width)."""
    for start in range(0, len(rows), BLOCK_LINES):
        part = [np.asarray(r, np.float64) for r in rows[start:start + BLOCK_LINES]]
        widths = {r.shape[1] for r in part}
        if len(widths) > 1:
            raise BadRow(f"row {start + 1}: rows with {sorted(widths)} values per step (ragged dimensions)")
        if not part[0].shape[1]:
            raise BadRow(f"row {start + 1}: no values, only a label")
        values = np.concatenate(part)
        if not np.isfinite(values).all():
            bad = next(i for i, r in enumerate(part) if not np.isfinite(r).all())
            raise BadRow(f"row {start + bad + 1}: holds a value that is not a finite number (missing values are "
                         "not supported)")
        yield Block([f"row {start + i + 1}" for i in range(len(part))], labels[start:start + BLOCK_LINES],
                    np.array([len(r) for r in part], np.int64), values)


# Each format's reader: (path, split) -> Blocks. A new format is a reader here and its suffixes above.
READERS = {
    "text": lambda path, split: _text_blocks(path),
    "npz": lambda path, split: _array_blocks(*_npz_arrays(path, split)),
    "ts": lambda path, split: _array_blocks(*_ts_arrays(path)),
}
FORMATS = tuple(READERS)
