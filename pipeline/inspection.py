"""inspect: a readable summary of a dataset, a model, or any artifact.

Datasets (.h5), JSON and CSV files are read with h5py and the standard library only, so inspecting
them is instant; only a model (.keras) loads TensorFlow, for its layer summary.

    python -m pipeline inspect data/echo.h5
    python -m pipeline inspect artifacts/model.keras
"""
import collections
import csv
import json
from pathlib import Path

import click
import numpy as np

from pipeline import data, metrics, modelfile, sources, sweep, tokens
from pipeline.files import TEXT_ENCODING, BadFile, existing_file

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def dataset_report(path, rows: int = 5, verify: bool = False) -> str:
    info = data.describe(path)
    a = info.attrs
    echo_at = "" if info.out_index is None else f", echo of step {info.out_index}"
    lines = [f"dataset {path}",
             f"  problem: {info.kind}, length {info.length}{' (longest)' if info.variable else ''}, "
             f"n_features {info.n_features}, {info.n_classes} classes{echo_at} ({a.get('problem') or 'custom'})",
             f"  seed {info.seed}, format_version {a['format_version']}, generator {a.get('generator', '?')}"
             + (f", from {a['source']} ({a.get('format')})" if a.get("source") else ""),
             f"  content_hash {info.content_hash}" + ("  (verified)" if verify and data.verify(path) else ""),
             f"  storage: chunk_rows {a.get('chunk_rows')}, compression {a.get('compression')}, "
             f"unit_rows {a['unit_rows']}, {Path(path).stat().st_size / 1e6:,.1f} MB on disk"]
    with data.open_h5(path) as f:
        for split in data.SPLITS:
            X, y = f[split]["X"], f[split]["y"]
            lines.append(f"  {split:5s} {info.rows[split]:,} sequences, {info.steps[split]:,} steps: X {X.shape} "
                         f"{X.dtype} chunks {X.chunks}   y {y.shape} {y.dtype}")
        lines += _balance(info, data.label_counts(f["train"]["y"]))
        if info.variable:
            lines.append("  lengths: " + "; ".join(_lengths(split, np.diff(data.row_offsets(f[split], info.length)))
                                                   for split in data.SPLITS))
        if info.truncation:
            lines.append("  sequences cut to at most {max_length} steps on import, keeping the {keep}".format(
                **info.truncation))
        lines.append(f"  first {rows} train rows:")
        offsets = data.row_offsets(f["train"], info.length)[:rows + 1]
        first = data.read_rows(f["train"], offsets, 0, len(offsets) - 1)
        starts = np.cumsum(first["lengths"]) - first["lengths"]
        for start, n, label in zip(starts, first["lengths"], tokens.decode(first["y"])):
            x = first["X"][start:start + n]
            shown = tokens.format_sequence(tokens.decode(x)) if info.kind == "tokens" else \
                f"{n} steps, first {np.array2string(x[0], precision=3, threshold=6, max_line_width=200)}"
            lines.append(f"    {shown} -> {info.classes[label]}")
    return "\n".join(lines)


def _balance(info, counts) -> list:
    share = counts / counts.sum()
    listed = ", ".join(f"{name} {n:,}" for name, n in zip(info.classes, counts.tolist()))
    return [f"  train label balance: min {share.min():.4f}, max {share.max():.4f} (uniform {1 / len(counts):.4f})"
            + (f"; counts {listed}" if len(counts) <= 20 else "")]


def _lengths(split: str, lengths) -> str:
    """A split's distribution of sequence lengths, as min / median / max."""
    return f"{split} {'-'.join(map(str, data.length_range(lengths).values()))} (min-median-max)"


def model_report(path) -> str:
    metadata = modelfile.read_metadata(path)
    from pipeline.model import load_model

    net, _ = load_model(path)
    lines = [f"  {layer.name} ({type(layer).__name__}): output {tuple(layer.output.shape)}, "
             f"{layer.count_params():,} weights" for layer in net.layers]
    lines.append(f"  {net.count_params():,} weights in all; input {tuple(net.input_shape)}")
    p = metadata.get("settings", {})
    ds = metadata.get("dataset", {})
    lines += [f"trained with: {', '.join(f'{k}={v}' for k, v in p.items() if v is not None)}",
              f"trained on: {ds.get('path')} (content_hash {str(ds.get('content_hash'))[:12]}, "
              f"problem {ds.get('problem')})",
              f"versions: {metadata.get('versions')}"]
    return f"model {path}\n" + "\n".join(lines)


def json_report(path) -> str:
    try:
        obj = json.loads(Path(path).read_text())
    except ValueError as e:
        raise BadFile(f"{path}: not valid JSON ({e})") from None
    if isinstance(obj, dict) and {"confusion", "per_class"} <= set(obj):  # metrics.json, predictions.json
        rest = {k: v for k, v in obj.items() if k not in ("confusion", "per_class")}
        beside = metrics.baseline_beside(path, obj.get("dataset", {}).get("content_hash"))
        return f"{path}\n" + "\n".join([*metrics.table(obj), *metrics.beside_baselines(obj["accuracy"], beside),
                                        *_flatten(rest, "  ")])
    return f"{path}\n" + "\n".join(_flatten(obj, "  "))


def _flatten(obj, indent):
    for k, v in obj.items():
        if isinstance(v, dict):
            yield f"{indent}{k}:"
            yield from _flatten(v, indent + "  ")
        else:
            yield f"{indent}{k}: {v}"


def csv_report(path, rows: int = 5) -> str:
    with open(path, newline="", encoding=TEXT_ENCODING) as f:
        reader = csv.DictReader(f)
        if "predicted" in (reader.fieldnames or []):
            return _predictions_report(path, reader, rows)
        table = list(reader)  # a history: one row per epoch
    if not table:
        raise BadFile(f"{path}: empty CSV")
    cols = list(table[0])
    lines = [f"{path}: {len(table):,} rows, columns {', '.join(cols)}"]
    if "val_accuracy" in cols:  # a training history
        best = max(table, key=lambda r: float(r["val_accuracy"] or 0))
        lines.append(f"  epochs {len(table)}; best val_accuracy {float(best['val_accuracy']):.5f} at epoch "
                     f"{best['epoch']}; final loss {float(table[-1]['loss']):.5f} after {table[-1]['seconds']} s")
        show = table if len(table) <= 2 * rows else table[:rows] + table[-rows:]
    else:
        show = table[:rows]
    return "\n".join(lines + _rows(show))


def _rows(table) -> list:
    return ["  " + "  ".join(f"{k}={v}" for k, v in r.items()) for r in table]


def _predictions_report(path, reader, rows: int) -> str:
    """One pass in constant memory: a predictions file has a row per test sequence. Its scores are
    those metrics.py derives from the (expected, predicted) pairs it counts."""
    pairs = collections.Counter()
    conf_sum, conf_min, show = 0.0, float("inf"), []
    for r in reader:
        pairs[r["expected"], r["predicted"]] += 1
        conf = float(r["confidence"])
        conf_sum, conf_min = conf_sum + conf, min(conf_min, conf)
        if len(show) < rows:
            show.append(r)
    n = sum(pairs.values())
    if not n:
        raise BadFile(f"{path}: empty CSV")
    classes = _class_order(path, {name for pair in pairs for name in pair})
    index = {name: i for i, name in enumerate(classes)}
    counts = np.zeros((len(classes), len(classes)), np.int64)
    for (expected, predicted), k in pairs.items():
        counts[index[expected], index[predicted]] = k
    result = metrics.scores(counts, classes)
    wrong = n - int(counts.trace())
    return "\n".join([f"{path}: {n:,} rows, columns {', '.join(reader.fieldnames)}",
                      f"  {wrong:,} wrong; confidence mean {conf_sum / n:.4f}, min {conf_min:.4f}",
                      *metrics.table(result)] + _rows(show))


def _class_order(path, seen: set) -> list:
    """The classes in the order the model has them (predictions.json beside the file), else sorted (as
    numbers when they all are)."""
    summary = Path(path).with_suffix(".json")
    try:
        known = json.loads(summary.read_text())["dataset"]["problem"]["classes"]
    except (OSError, ValueError, KeyError, TypeError):
        known = []
    return list(known) if seen <= set(known) else sources.class_order(seen)


def export_report(path) -> str:
    """An exported SavedModel: its serving signature and the model it came from."""
    from pipeline.backend import tf

    metadata = modelfile.read_export_metadata(path)
    try:
        signature = tf.saved_model.load(str(path)).signatures[modelfile.SIGNATURE]
    except (OSError, ValueError, KeyError) as e:
        raise BadFile(f"export {path}: not a SavedModel with a {modelfile.SIGNATURE} signature ({e})") from None
    inputs = signature.structured_input_signature[1]
    lines = [f"export {path} (TensorFlow SavedModel)", f"  signature {modelfile.SIGNATURE}:"]
    lines += [f"    input  {name}: {spec.dtype.name} {tuple(spec.shape)}" for name, spec in inputs.items()]
    lines += [f"    output {name}: {spec.dtype.name} {tuple(spec.shape)}"
              for name, spec in signature.structured_outputs.items()]
    ds = metadata.get("dataset", {})
    lines += [f"  from model {metadata.get('model_file')}, trained on {ds.get('path')} (content_hash "
              f"{str(ds.get('content_hash'))[:12]}, problem {ds.get('problem')})"]
    return "\n".join(lines)


def report(path, rows: int = 5, verify: bool = False) -> str:
    p = Path(path)
    if p.is_dir() and (p / "saved_model.pb").is_file():
        return export_report(p)
    if p.is_dir():  # a sweep: artifacts/sweeps/<PARAM>
        return sweep.report(p)
    existing_file(p, "file")
    with open(p, "rb") as f:
        head = f.read(8)
    if head == HDF5_SIGNATURE or p.suffix in (".h5", ".hdf5"):
        return dataset_report(p, rows, verify)
    if p.suffix == ".keras":
        return model_report(p)
    if p.suffix == ".json":
        return json_report(p)
    if p.suffix == ".csv":
        return csv_report(p, rows)
    raise BadFile(f"{p}: don't know how to inspect this (expected .h5, .keras, .json, .csv or a sweep folder)")


@click.command("inspect")
@click.argument("path", type=click.Path())
@click.option("--rows", type=click.IntRange(min=0), default=5, show_default=True, help="Rows to show.")
@click.option("--verify", is_flag=True, help="Recompute a dataset's content hash (reads the whole file).")
def cli(path, rows, verify):
    """Summarise a dataset, a model, metrics, history, predictions or a sweep folder."""
    click.echo(report(path, rows, verify))
