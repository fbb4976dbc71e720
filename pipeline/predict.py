"""Stage 4, predict: predictions for the test split, streamed in batches, in file order.

Reads --data and --model; writes --out (predictions.csv: index, sequence (its tokens; for real-valued
features, its length), expected, predicted (class names), confidence; row i is test row i, though
sequences of different lengths are read sorted by length within blocks) and, beside
it, predictions.json (their scores, metrics.py's, and where they came from). Prints a few rows the
way the reference book does. With --sequence, predicts one sequence of tokens and prints it.

    python -m pipeline predict --data data/echo.h5 --model artifacts/model.keras --out artifacts/predictions.csv
    python -m pipeline predict --model artifacts/model.keras --sequence 7,0,2,6,7
"""
import csv
import dataclasses
import io
import time
from pathlib import Path

import click
import numpy as np

from pipeline import batches, config, data, metrics, modelfile, tokens
from pipeline.files import TEXT_ENCODING, BadFile, existing_file, json_text, published_together
from pipeline.inputs import open_inputs
from pipeline.options import data_option, int_list, model_option


def columns(problem: dict) -> list:
    return ["index", "sequence" if problem["kind"] == "tokens" else "length", "expected", "predicted", "confidence"]


def prediction_line(sequence: str, expected, predicted) -> str:
    """The reference book's line for a sequence shown as text; `expected` None when its label is not known."""
    known = "" if expected is None else f" Expected: {expected}"
    return f"Sequence: {sequence}{known} Predicted: {predicted}"


def csv_lines(first: int, sequences: list, expected: list, predicted: list, confidence) -> str:
    """CSV rows for one batch: each sequence as text (its tokens separated by spaces, or its length),
    labels as names; fields that need it are quoted."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(zip(range(first, first + len(sequences)), sequences, expected, predicted,
                         np.char.mod("%.6f", confidence).tolist()))
    return buf.getvalue()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, `width` columns each, as uint8 (n, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, np.int64)[:, None] // powers % 10 + ord("0")).astype(np.uint8)


def csv_single_digits(first, seqs, expected, predicted, confidence) -> str:
    """The same rows as csv_lines for fixed-length tokens and labels that are single digits (the echo
    problem's), built as one byte matrix: several times faster than formatting row by row. Rows whose
    index has the same number of digits share a layout."""
    length = seqs.shape[1]
    conf = np.rint(np.asarray(confidence, np.float64) * 1e6).astype(np.int64)  # as "%.6f" rounds
    cuts = [first] + [10 ** k for k in range(1, 19) if first < 10 ** k < first + len(seqs)] + [first + len(seqs)]
    parts = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        r = slice(lo - first, hi - first)
        seq = np.full((hi - lo, 2 * length - 1), ord(" "), np.uint8)
        seq[:, ::2] = seqs[r] + ord("0")
        fields = [_digits(np.arange(lo, hi), len(str(lo))), seq, _digits(expected[r], 1), _digits(predicted[r], 1),
                  _digits(conf[r] // 10 ** 6, 1), _digits(conf[r] % 10 ** 6, 6)]
        cols = []
        for field, sep in zip(fields, b",,,,.\n"):
            cols += [field, np.full((hi - lo, 1), sep, np.uint8)]
        parts.append(np.hstack(cols).tobytes().decode("ascii"))
    return "".join(parts)


class Rows:
    """Turns a batch of stored rows and the model's probabilities into CSV text and book lines."""

    def __init__(self, info):
        self.info, self.names = info, np.array(info.classes, dtype=object)
        self.digits = (info.kind == "tokens" and not info.variable and info.n_classes <= 10
                       and info.classes == [str(i) for i in range(info.n_classes)] and info.n_features <= 10)

    def lengths(self, X: np.ndarray) -> np.ndarray:
        """Each row's real steps: those before the padding (which no real step equals in every feature)."""
        if not self.info.variable:
            return np.full(len(X), X.shape[1])
        return (X != self.info.pad_value).any(axis=-1).sum(axis=-1)

    def sequences(self, X: np.ndarray, lengths) -> list:
        if self.info.kind != "tokens":
            return [str(n) for n in lengths]
        return [" ".join(map(str, t[:n])) for t, n in zip(tokens.decode(X).tolist(), lengths)]

    def csv(self, first, X, expected, probs) -> str:
        predicted, confidence = probs.argmax(axis=-1), probs.max(axis=-1)
        if self.digits:
            return csv_single_digits(first, tokens.decode(X), expected, predicted, confidence)
        return csv_lines(first, *zip(*self.fields(X, expected, probs))) if len(X) else ""

    def fields(self, X, expected, probs) -> list:
        """Each row's CSV fields after its index: (sequence, expected, predicted, confidence)."""
        predicted = probs.argmax(axis=-1)
        return list(zip(self.sequences(X, self.lengths(X)), self.names[expected].tolist(),
                        self.names[predicted].tolist(), probs.max(axis=-1).tolist()))

    def lines(self, X, expected, probs, n: int) -> list:
        """The first n rows as the book prints them."""
        X, expected, predicted = X[:n], expected[:n], probs[:n].argmax(axis=-1)
        if self.info.kind == "tokens":
            shown = [tokens.format_sequence(t[:k]) for t, k in zip(tokens.decode(X).tolist(), self.lengths(X))]
        else:
            shown = [f"[{k} steps of {self.info.n_features} features]" for k in self.lengths(X)]
        return [prediction_line(s, self.names[e], self.names[p]) for s, e, p in zip(shown, expected, predicted)]


@dataclasses.dataclass
class Written:
    """What predict has written so far: rows, their confusion counts, the first rows as the book shows
    them (by row), and when the first batch (which traces the model) was done."""
    counts: np.ndarray
    rows: int = 0
    shown: dict = dataclasses.field(default_factory=dict)
    t: float | None = None
    timed_from: int = 0


def predict(data_path, model_path, out, batch_size: int | None = None, show: int = 5) -> dict:
    """Write predictions for every test row; returns the summary written to predictions.json.
    batch_size: None for config.PREDICT_BATCH, or fewer rows for long sequences (data.forward_batch)."""
    inputs = open_inputs(data_path, model_path, out)
    info, net = inputs.info, inputs.net
    from pipeline import reader
    from pipeline.backend import tf

    batch_size = batch_size or data.forward_batch(config.PREDICT_BATCH, info.length, info.n_features)
    ds = reader.make_dataset(info, "test", batch_size, reader.Reading(row_index=info.variable))
    # One trace for every batch size: predict_on_batch would trace again for the last, shorter batch.
    spec = ds.element_spec["X"] if info.variable else ds.element_spec[0]
    jit = not info.variable and data.forward_compiles(info.rows["test"], info.length)
    forward = tf.function(lambda X: net(X, training=False), input_signature=[spec], jit_compile=jit)
    out, done = Path(out), Written(np.zeros((info.n_classes, info.n_classes), np.int64))
    t0 = time.perf_counter()
    last = data.short_last_batch(info.rows["test"], batch_size)
    if jit and last:  # XLA compiles each batch shape: the last one now, before the timing
        forward(tf.zeros((last, *spec.shape[1:]), spec.dtype))
    with published_together() as outputs:  # the CSV and its JSON replace the previous pair together
        with outputs.output(out) as tmp, open(tmp, "w") as f:
            f.write(",".join(columns(info.problem)) + "\n")
            write_rows(f, ds, forward, Rows(info), done, show)
        end = time.perf_counter()
        summary = {"path": str(out), "rows": done.rows, **metrics.scores(done.counts, info.classes),
                   "seconds": round(end - t0, 4),
                   "samples_per_s": round((done.rows - done.timed_from) / (end - done.t) if done.rows > done.timed_from
                                          else done.rows / (end - t0)),
                   "columns": list(columns(info.problem)), "batch_size": batch_size, "xla": jit,
                   **inputs.provenance()}
        with outputs.output(out.with_suffix(".json")) as tmp:
            tmp.write_text(json_text(summary))
    summary["shown"] = [done.shown[i] for i in sorted(done.shown)][:show]
    return summary


def write_rows(f, ds, forward, rows: Rows, done: Written, show: int) -> None:
    """Every batch's predictions into the CSV file f, in file order: batches of sequences of different
    lengths come with their rows' indices (sorted by length within a block), and wait there for the rows
    before them."""
    in_order = batches.InFileOrder()
    for batch in ds:
        batch = batch if isinstance(batch, dict) else dict(zip("Xy", batch))
        X, probs, expected = batch["X"].numpy(), forward(batch["X"]).numpy(), batch["y"].numpy().argmax(axis=-1)
        index = batch["index"].numpy() if "index" in batch else np.arange(done.rows, done.rows + len(X))
        if "index" in batch:
            due = in_order.add(index, rows.fields(X, expected, probs))
            f.write(csv_lines(in_order.next - len(due), *zip(*due)) if due else "")
        else:
            f.write(rows.csv(done.rows, X, expected, probs))
        done.counts += metrics.confusion(expected, probs.argmax(axis=-1), len(rows.names))
        wanted = np.flatnonzero(index < show)  # the first rows of the file, which the book shows
        done.shown.update(zip(index[wanted].tolist(), rows.lines(X[wanted], expected[wanted], probs[wanted], show)))
        done.rows += len(X)
        if done.t is None:  # the first batch traces the model; throughput is timed after it
            done.t, done.timed_from = time.perf_counter(), done.rows


def check_sequence(tokens: list, problem: dict) -> np.ndarray:
    """The tokens as an array, or ValueError saying why the model cannot take them. A model trained on
    sequences of different lengths takes any length up to the longest; one trained on sequences cut to
    max_length takes any length, cut the same way (data.truncated)."""
    if problem.get("max_length") and tokens:
        tokens = data.truncated(tokens, problem["max_length"], problem["keep"])
    if len(tokens) != problem["length"] and not (problem.get("variable") and 1 <= len(tokens) <= problem["length"]):
        takes = f"up to {problem['length']}" if problem.get("variable") else f"of length {problem['length']}"
        raise ValueError(f"has {len(tokens)} values; the model takes sequences {takes}")
    bad = [t for t in tokens if not 0 <= t < problem["n_features"]]
    if bad:
        raise ValueError(f"value {bad[0]} is outside [0, {problem['n_features']})")
    return np.array(tokens, dtype=np.int64)


def parse_sequence(text: str, problem: dict) -> np.ndarray:
    """Integers from '7,0,2,6,7', checked against the problem the model was trained on."""
    try:
        return check_sequence(int_list(text, "7,0,2,6,7"), problem)
    except click.BadParameter as e:
        e.param_hint = "'--sequence'"
        raise
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--sequence'") from None


def read_sequences(path, problem: dict) -> list:
    """A user's sequences, one per line, values separated by commas or spaces; blank lines and lines
    starting with # are skipped. BadFile names the first line the model cannot take."""
    path = existing_file(path, "sequences")
    rows = []
    try:
        lines = path.read_text(encoding=TEXT_ENCODING).splitlines()
    except UnicodeDecodeError:
        raise BadFile(f"sequences {path}: not a text file") from None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"sequences {path}, line {number}"
        try:
            values = [int(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise BadFile(f"{where}: {text[:40]!r} is not integers separated by commas or spaces") from None
        try:
            rows.append(check_sequence(values, problem))
        except ValueError as e:
            raise BadFile(f"{where}: {e}") from None
    if not rows:
        raise BadFile(f"sequences {path}: no sequences (one per line, e.g. 7,0,2,6,7)")
    return rows


def predict_lines(model_path, sequences: list) -> list:
    """The book's line for each sequence of tokens (with the expected value for the echo problem)."""
    from pipeline.model import load_model

    net, metadata = load_model(model_path)  # the model file is read once, its metadata with it
    problem = metadata["dataset"]["problem"]
    batch_size = data.forward_batch(config.PREDICT_BATCH, problem["length"], problem["n_features"])
    width = max(map(len, sequences)) if problem.get("variable") else problem["length"]  # padded to the longest given
    X = tokens.padded_one_hot(sequences, width, problem["n_features"])
    predicted = net.predict(X, batch_size=batch_size, verbose=0).argmax(axis=-1)
    names, out_index = problem["classes"], problem.get("out_index")
    return [prediction_line(tokens.format_sequence(t), None if out_index is None else names[t[out_index]], names[p])
            for t, p in zip((list(map(int, s)) for s in sequences), predicted)]


@click.command("predict")
@data_option
@model_option
@click.option("--out", type=click.Path(), default=config.PREDICTIONS_PATH, show_default=True,
              help="Predictions CSV to write (predictions.json is written beside it).")
@click.option("--sequence", default=None, help="Predict this one sequence of tokens instead, e.g. 7,0,2,6,7.")
@click.option("--sequences", "sequences_path", type=click.Path(), default=None,
              help="Predict the sequences of tokens in this text file instead (one per line, e.g. 7,0,2,6,7), "
                   "printing a line for each.")
def cli(data_path, model_path, out, sequence, sequences_path):
    """Predict the test split (or one --sequence, or the --sequences of a file)."""
    if sequence is not None or sequences_path is not None:
        if sequence is not None and sequences_path is not None:
            raise click.UsageError("give --sequence or --sequences, not both")
        problem = modelfile.read_metadata(model_path)["dataset"]["problem"]
        if problem["kind"] != "tokens":
            raise click.UsageError("--sequence and --sequences take tokens; this model takes real-valued "
                                   "features: import them and predict the dataset's test split")
        sequences = ([parse_sequence(sequence, problem)] if sequence is not None
                     else read_sequences(sequences_path, problem))
        for line in predict_lines(model_path, sequences):
            click.echo(line)
        return
    s = predict(data_path, model_path, out)
    for line in s["shown"]:
        click.echo(line)
    click.echo(f"wrote {out}: {s['rows']:,} predictions, accuracy {s['accuracy']:.6f}, "
               f"{s['samples_per_s']:,} samples/s")
