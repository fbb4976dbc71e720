"""Stage 1 for your own sequences, import: a user's files (or a bundled benchmark) into the HDF5 contract.

Reads --train-file and --test-file (and --val-file, else --n-val rows carved from train by --seed) in
text/CSV, .npz or .ts (sources.py says how each looks); writes --out with the layout of data.py, which
every other stage reads unchanged. Tokens (whole numbers) are stored one-hot, anything else as float32
features; each sequence's steps are stored as they are, without padding, with its length when lengths
differ (--max-length cuts longer ones to that many steps, keeping their head or, with --keep tail, their
tail); labels of any kind become classes, their names stored in the file. Two passes over the files: the
first checks every row and learns the shape, the second writes, in units, so memory follows the real
steps and stays flat as the files grow.

    python -m pipeline import --train-file mine_train.csv --test-file mine_test.csv --out data/own.h5
    python -m pipeline import --problem japanese-vowels --out data/japanese-vowels.h5
"""
import collections
import dataclasses
import json
import math
import sys
import unicodedata
from pathlib import Path

import click
import h5py
import numpy as np
from tqdm import tqdm

from pipeline import config, data, params, sources, tokens
from pipeline.files import BadFile, atomic_output, writable_target


@dataclasses.dataclass
class Scan:
    """What the first pass learns of one file."""
    rows: int = 0
    steps: int = 0  # as stored: each row cut to --max-length
    longest: int = 0
    shortest: int = sys.maxsize
    width: int = 0  # values per step
    labels: dict = dataclasses.field(default_factory=dict)  # label -> rows
    whole: bool = True  # every value a whole number >= 0: tokens
    top: float = -math.inf
    low: float = math.inf
    plain: dict = dataclasses.field(default_factory=dict)  # label as it looks (plain_label) -> label


@dataclasses.dataclass(frozen=True)
class Layout:
    """How the rows are stored: decided from the scans and the options."""
    kind: str
    length: int
    n_features: int
    classes: list
    variable: bool
    pad_value: float
    typical: int  # steps of a row: the length, or the mean one rounded up when lengths vary

    @property
    def itemsize(self) -> int:
        return np.dtype(data.KINDS[self.kind]).itemsize

    @property
    def unit_rows(self) -> int:
        return data.unit_rows(self.typical, self.n_features, self.itemsize)

    @property
    def chunk_rows(self) -> int:
        """Rows of about config.CHUNK_BYTES: y's chunks, and X's in steps (times typical)."""
        return data.power_of_two_rows(config.CHUNK_BYTES, self.typical, self.n_features, 1 << 14, self.itemsize)


def files_of(chosen: dict) -> dict:
    """split -> (path, format) of the files to read: the options', or a bundled benchmark's."""
    found = {split: chosen[f"{split}_file"] for split in data.SPLITS if chosen.get(f"{split}_file")}
    if chosen.get("dataset"):
        found = {split: bundled(chosen["dataset"], split) for split in ("train", "test")}
    for option, split in (("--train-file", "train"), ("--test-file", "test")):
        if split not in found:
            raise click.UsageError(f"give {option} (or --problem with a bundled benchmark)")
    return {split: (Path(path), sources.detect(path, chosen["format"])) for split, path in found.items()}


def bundled(name: str, split: str) -> str:
    """The .ts file of a UEA/UCR dataset that aeon ships in its wheel (no download)."""
    try:
        import aeon
    except ImportError:
        raise BadFile(f"the {name} benchmark comes with aeon: pip install -e '.[ts]' (make installs it)") from None
    return str(Path(aeon.__file__).parent / "datasets" / "data" / name / f"{name}_{split.upper()}.ts")


EMPTY = {"text": "one per line: label,value,value,...", "npz": "its arrays have no rows",
         "ts": "a .ts file's rows follow its @data line"}


def scan(split: str, path: Path, fmt: str, known: dict) -> Scan:
    """Check every row of a file and learn its shape. known: what earlier files fixed (width, classes,
    n_features, kind); a row that disagrees is refused, naming the file, the line and why."""
    s = Scan(width=known.get("width", 0), plain={plain_label(c): c for c in known.get("classes") or ()})
    try:
        for block in sources.blocks(path, fmt, split):
            _check_block(s, block, known)
            v = block.values
            kept = np.minimum(block.steps, known.get("max_length") or block.steps)
            s.rows, s.steps = s.rows + len(kept), s.steps + int(kept.sum())
            s.longest, s.shortest = max(s.longest, int(kept.max())), min(s.shortest, int(kept.min()))
            for label, n in collections.Counter(block.labels).items():
                s.labels[label] = s.labels.get(label, 0) + n
            s.whole = s.whole and v.shape[1] == 1 and bool((v >= 0).all() and (v % 1 == 0).all())
            s.top, s.low = max(s.top, float(v.max())), min(s.low, float(v.min()))
    except sources.BadRow as e:
        raise BadFile(f"{split} file {path}, {e}") from None
    if not s.rows:
        raise BadFile(f"{split} file {path}: no sequences ({EMPTY[fmt]})")
    return s


def _check_block(s: Scan, block: sources.Block, known: dict) -> None:
    """Refuse the first row of the block that disagrees with the file's width, the classes or the tokens."""
    width = block.values.shape[1]
    if s.width and width != s.width:
        raise sources.BadRow(f"{block.where[0]}: {width} values per step, but the rows before have {s.width} "
                             "(ragged dimensions)")
    s.width = s.width or width
    _check_invisible(s, block)
    classes = known.get("classes")
    if classes is not None and not set(block.labels) <= classes.keys():
        i = next(i for i, label in enumerate(block.labels) if label not in classes)
        among = ", ".join(map(repr, list(classes)[:8])) + (", ..." if len(classes) > 8 else "")
        whose = "declared" if known.get("declared") else "training"
        raise sources.BadRow(f"{block.where[i]}: label {block.labels[i]!r} is not among the {whose} labels ({among})")
    if known.get("kind") == "tokens" and known.get("n_features"):
        v = block.values
        bad = (v < 0) | (v >= known["n_features"]) | (v % 1 != 0)
        if bad.any():
            step = int(np.argmax(bad.any(axis=1)))
            raise sources.BadRow(f"{block.where[block.row_of_step()[step]]}: token {v[bad][0]:g} is not a whole "
                                 f"number in [0, {known['n_features']})")


def plain_label(label: str) -> str:
    """A label as it looks: format characters (zero-width spaces, byte-order marks) dropped, other spaces
    (no-break ones) as plain spaces."""
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in label
                   if unicodedata.category(c) != "Cf").strip()


def _invisible(*texts: str) -> str:
    """The invisible characters of the texts, as code points: 'U+200B, U+FEFF'."""
    found = {c for c in "".join(texts) if unicodedata.category(c) == "Cf" or
             (unicodedata.category(c) == "Zs" and c != " ")}
    return ", ".join(f"U+{ord(c):04X}" for c in sorted(found))


def _check_invisible(s: Scan, block: sources.Block) -> None:
    """Refuse a label that looks like a label seen before (or a class) but differs by invisible characters:
    it would be a class of its own."""
    for label in dict.fromkeys(block.labels):
        if label in s.labels:
            continue
        plain = plain_label(label)
        twin = s.plain.setdefault(plain, label)
        where = block.where[block.labels.index(label)]
        if not plain:
            raise sources.BadRow(f"{where}: label {label!r} is only invisible characters ({_invisible(label)})")
        if twin != label:
            raise sources.BadRow(f"{where}: label {label!r} differs from the label {twin!r} only by invisible "
                                 f"characters ({_invisible(label, twin)})")


def scan_all(files: dict, chosen: dict) -> dict:
    """Scan train first (it fixes the width and, unless declared, the classes), then the others."""
    declared_classes = _class_list(chosen["classes"]) if chosen.get("classes") else None
    known = {"kind": None if chosen["kind"] == "auto" else chosen["kind"], "n_features": chosen["n_features"],
             "max_length": chosen.get("max_length"),
             "classes": dict.fromkeys(declared_classes) if declared_classes else None,
             "declared": declared_classes is not None}
    scans = {"train": scan("train", *files["train"], known)}
    known = {**known, "width": scans["train"].width,
             "classes": dict.fromkeys(declared_classes or sources.class_order(scans["train"].labels))}
    for split in ("val", "test"):
        if split in files:
            scans[split] = scan(split, *files[split], known)
    return scans


def _class_list(text: str) -> list:
    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or len(set(names)) != len(names) or "" in names:
        raise click.BadParameter(f"{text!r}: two or more different names, separated by commas",
                                 param_hint="'--classes'")
    return names


def decide(scans: dict, chosen: dict, train_path) -> Layout:
    """The layout every row is stored in, from what the scans saw and the options."""
    all_scans = scans.values()
    whole = all(s.whole for s in all_scans)
    kind = chosen["kind"] if chosen["kind"] != "auto" else ("tokens" if whole else "features")
    if kind == "tokens" and not whole:
        raise click.BadParameter("the values are not all whole numbers >= 0, one per step; they are features",
                                 param_hint="'--kind'")
    top = max(s.top for s in all_scans)
    if kind == "tokens":
        n_features = chosen["n_features"] or int(top) + 1
        pad = 0.0
    else:
        n_features = scans["train"].width
        pad = math.floor(min(s.low for s in all_scans)) - 1.0  # below every value: no real step equals it
    classes = _class_list(chosen["classes"]) if chosen.get("classes") else sources.class_order(scans["train"].labels)
    if len(classes) < 2:
        raise BadFile(f"train file {train_path}: one label only ({classes[0]!r}); a classifier needs two or more")
    longest, shortest = max(s.longest for s in all_scans), min(s.shortest for s in all_scans)
    typical = math.ceil(sum(s.steps for s in all_scans) / sum(s.rows for s in all_scans))
    return Layout(kind, longest, n_features, classes, longest != shortest, pad, typical)


class SplitWriter:
    """Rows of one split into its HDF5 datasets, a unit of rows at a time: their steps appended to X as
    they are (no padding), their labels and lengths beside, with the units' digests (data.py). Memory
    holds one unit of steps, whatever the longest row."""

    def __init__(self, group, n: int, layout: Layout, most_steps: int):
        self.layout, self.rows_done, self.fill = layout, 0, 0
        F, C, rows = layout.n_features, len(layout.classes), min(layout.chunk_rows, n)
        steps = max(1, min(layout.chunk_rows * layout.typical, most_steps))
        self.arrays = {"X": group.create_dataset("X", (0, F), data.KINDS[layout.kind], maxshape=(None, F),
                                                 chunks=(steps, F)),
                       "y": group.create_dataset("y", (n, C), np.uint8, chunks=(rows, C))}
        if layout.variable:
            self.arrays["lengths"] = group.create_dataset("lengths", (n,), np.int32, chunks=(rows,))
        self.digests = {name: [] for name in self.arrays}
        self.pending = {"X": [], "y": [], "lengths": []}
        self.sums, self.steps = np.zeros((2, F)), 0  # of values and their squares over the steps; their count

    def add(self, classes: np.ndarray, steps: np.ndarray, values: np.ndarray) -> None:
        """Rows given by their class indices, numbers of steps and (all their steps') values."""
        starts = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
        done, unit = 0, self.layout.unit_rows
        while done < len(steps):
            take = min(len(steps) - done, unit - self.fill)
            self.pending["X"].append(self._encode(values[starts[done]:starts[done + take]]))
            self.pending["y"].append(classes[done:done + take])
            self.pending["lengths"].append(steps[done:done + take])
            self.fill, done = self.fill + take, done + take
            if self.fill == unit:
                self.flush()

    def _encode(self, values: np.ndarray) -> np.ndarray:
        if self.layout.kind == "tokens":
            return tokens.one_hot(values[:, 0].astype(np.int64), self.layout.n_features)
        self.sums += [values.sum(axis=0), np.square(values).sum(axis=0)]
        self.steps += len(values)
        return values.astype(np.float32)

    def flush(self) -> None:
        if not self.fill:
            return
        units = {name: np.concatenate(parts) for name, parts in self.pending.items()}
        units["y"] = tokens.one_hot(units["y"], len(self.layout.classes))
        units["lengths"] = units["lengths"].astype(np.int32)
        X, start, n = self.arrays["X"], self.rows_done, self.fill
        X.resize(len(X) + len(units["X"]), axis=0)
        X[len(X) - len(units["X"]):] = units["X"]
        for name, array in self.arrays.items():
            if name != "X":
                array[start:start + n] = units[name]
            self.digests[name].append(data.unit_digest(name, units[name], self.layout.kind, self.layout.n_features))
        self.rows_done, self.fill = start + n, 0
        self.pending = {name: [] for name in self.pending}

    def close(self, split: str) -> dict:
        """Write what is left; returns {"split/name": digest}, each also stored as the dataset's sha256."""
        self.flush()
        out = {}
        for name, array in self.arrays.items():
            array.attrs["sha256"] = out[f"{split}/{name}"] = data.top_digest(self.digests[name])
        return out

    def statistics(self) -> tuple:
        """(mean, std) of each feature over the steps written; a constant feature gets std 1."""
        mean = self.sums[0] / max(self.steps, 1)
        std = np.sqrt(np.maximum(self.sums[1] / max(self.steps, 1) - mean ** 2, 0))
        return mean.tolist(), np.where(std > 1e-12, std, 1.0).tolist()


def cut(block: sources.Block, max_length: int | None, keep: str) -> sources.Block:
    """The block with each row cut to at most max_length steps, its head or its tail (data.kept_steps)."""
    if not max_length or block.steps.max() <= max_length:
        return block
    return dataclasses.replace(block, steps=np.minimum(block.steps, max_length),
                               values=block.values[data.kept_steps(block.steps, max_length, keep)])


def val_rows(n_train: int, n_val: int, seed: int) -> np.ndarray:
    """Which rows of the train file become the validation split: n_val of them, picked by the seed."""
    if not 1 <= n_val < n_train:
        raise click.BadParameter(f"{n_val}: the train file has {n_train:,} sequences; carve 1 to {n_train - 1}",
                                 param_hint="'--n-val'")
    chosen = np.zeros(n_train, bool)
    chosen[np.random.default_rng(seed).choice(n_train, n_val, replace=False)] = True
    return chosen


def write(path, files: dict, layout: Layout, counts: dict, chosen: dict) -> str:
    """The second pass: every row into its split (train rows marked in counts["carve"] into val)."""
    carve, most_steps = counts.get("carve"), counts["steps"]
    digests = {}
    with h5py.File(path, "w") as f, tqdm(total=sum(counts[s] for s in data.SPLITS), unit="rows", desc="import",
                                         disable=not chosen.get("progress")) as bar:
        writers = {split: SplitWriter(f.create_group(split), counts[split], layout,
                                      most_steps.get(split, most_steps["train"])) for split in data.SPLITS}
        index = {name: i for i, name in enumerate(layout.classes)}
        for split, (source, fmt) in files.items():
            first = 0
            for block in sources.blocks(source, fmt, split):
                block = cut(block, chosen.get("max_length"), chosen["keep"])
                classes = np.array([index[label] for label in block.labels], np.int64)
                rows = np.arange(first, first + len(block.steps))
                into_val = carve[rows] if carve is not None and split == "train" else np.zeros(len(rows), bool)
                for target, chosen_rows in (("val", into_val), (split, ~into_val)):
                    if chosen_rows.any():
                        steps_kept = chosen_rows[block.row_of_step()]
                        writers[target].add(classes[chosen_rows], block.steps[chosen_rows],
                                            block.values[steps_kept])
                first += len(rows)
                bar.update(len(rows))
        for split, writer in writers.items():
            digests.update(writer.close(split))
        content_hash = data.combine_digests(digests)
        f.attrs.update(_attributes(layout, counts, chosen, writers["train"]))
        f.attrs.update(data.storage_attrs(layout.unit_rows, layout.chunk_rows, "none", content_hash))
    return content_hash


def _attributes(layout: Layout, counts: dict, chosen: dict, train: SplitWriter) -> dict:
    attrs = {"kind": layout.kind, "length": layout.length, "n_features": layout.n_features,
             "n_classes": len(layout.classes), "classes": json.dumps(layout.classes), "pad_value": layout.pad_value,
             "variable_length": layout.variable, "seed": chosen["seed"], "problem": chosen.get("problem") or "",
             "source": json.dumps({split: str(path) for split, (path, _) in chosen["files"].items()}),
             "format": json.dumps({split: fmt for split, (_, fmt) in chosen["files"].items()}),
             **{f"n_{split}": counts[split] for split in data.SPLITS}}
    if chosen.get("max_length"):
        attrs.update(max_length=chosen["max_length"], keep=chosen["keep"])
    if layout.kind == "features":
        attrs["feature_mean"], attrs["feature_std"] = train.statistics()
    return attrs


def import_files(out, chosen: dict) -> tuple:
    """Check and import the files `chosen` names into `out` (written beside it, renamed when complete).
    Returns (the dataset's content hash, its layout)."""
    out = writable_target(out)
    files = files_of(chosen)
    scans = scan_all(files, chosen)
    layout = decide(scans, chosen, files["train"][0])
    counts = {split: s.rows for split, s in scans.items()}
    counts["steps"] = {split: s.steps for split, s in scans.items()}
    if "val" not in files:
        counts["carve"] = val_rows(counts["train"], chosen["n_val"] or max(1, round(counts["train"] / 10)),
                                   chosen["seed"])
        counts["val"] = int(counts["carve"].sum())
        counts["train"] -= counts["val"]
    with atomic_output(out) as tmp:
        return write(tmp, files, layout, counts, {**chosen, "files": files}), layout


@click.command("import")
@click.option("--out", type=click.Path(dir_okay=False), default="data/own.h5", show_default=True,
              help="HDF5 file to write.")
@params.options(params.IMPORT, "import")
def cli(out, **given):
    """Import your own sequences (text/CSV, .npz or .ts files) into one HDF5 file."""
    problem = given["problem"]
    preset = params.preset_section(problem, "import") if problem else {}
    if given["train_file"]:  # your files win over the preset's
        preset = {k: v for k, v in preset.items() if k not in (*params.SOURCES, "val_file")}
    chosen = params.resolve(params.IMPORT, given, {})
    chosen.update({k: v for k, v in preset.items() if given.get(k) is None})
    content_hash, layout = import_files(out, {**chosen, "progress": sys.stderr.isatty()})
    info = data.describe(out)
    shape = f"up to {layout.length}" if layout.variable else f"{layout.length}"
    cut_to = f" (cut to at most {chosen['max_length']}, keeping the {chosen['keep']})" if chosen["max_length"] else ""
    click.echo(f"wrote {out}: {sum(info.rows.values()):,} sequences ({info.rows['train']:,} train, "
               f"{info.rows['val']:,} val, {info.rows['test']:,} test) of {shape} steps{cut_to}, {layout.kind} "
               f"({layout.n_features} per step), {len(layout.classes)} classes, content hash {content_hash[:12]}")
