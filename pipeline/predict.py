"""Stage 4, predict: predictions for the test split, streamed in batches, in file order.

Reads --data and --model; writes --out (predictions.csv: index, sequence, expected, predicted,
confidence; row i is test row i) and, beside it, predictions.json (where they came from). Prints a
few rows the way the reference book does. With --sequence, predicts one sequence and prints it.

    python -m pipeline predict --data data/echo.h5 --model artifacts/model.keras --out artifacts/predictions.csv
    python -m pipeline predict --model artifacts/model.keras --sequence 7,0,2,6,7
"""
import time
from pathlib import Path

import click
import numpy as np

from pipeline import config, data, echo, modelfile
from pipeline.files import BadFile, existing_file, json_text, published_together
from pipeline.inputs import open_inputs
from pipeline.options import data_option, int_list, model_option

COLUMNS = ("index", "sequence", "expected", "predicted", "confidence")


def book_line(tokens, expected, predicted) -> str:
    return f"Sequence: {echo.format_sequence(tokens)} Expected: {int(expected)} Predicted: {int(predicted)}"


def csv_lines(first: int, tokens: np.ndarray, expected, predicted, confidence) -> str:
    """CSV rows for one batch; the sequence is its integers separated by spaces."""
    if tokens.size and max(tokens.max(), expected.max(), predicted.max()) < 10:
        return _csv_single_digits(first, tokens, expected, predicted, confidence)
    names = np.array([str(i) for i in range(int(max(tokens.max(initial=0), predicted.max(initial=0))) + 1)],
                     dtype=object)
    seqs = [" ".join(r) for r in names[tokens].tolist()]
    conf = np.char.mod("%.6f", confidence).tolist()
    return "".join(f"{i},{s},{e},{p},{c}\n" for i, s, e, p, c in
                   zip(range(first, first + len(seqs)), seqs, expected.tolist(), predicted.tolist(), conf))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, `width` columns each, as uint8 (n, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, np.int64)[:, None] // powers % 10 + ord("0")).astype(np.uint8)


def _csv_single_digits(first, tokens, expected, predicted, confidence) -> str:
    """The same rows built as one byte matrix when every value is a single digit (several times
    faster than formatting row by row): rows whose index has the same number of digits share a layout."""
    length = tokens.shape[1]
    conf = np.rint(np.asarray(confidence, np.float64) * 1e6).astype(np.int64)  # as "%.6f" rounds
    cuts = [first] + [10 ** k for k in range(1, 19) if first < 10 ** k < first + len(tokens)] + [first + len(tokens)]
    parts = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        r = slice(lo - first, hi - first)
        seq = np.full((hi - lo, 2 * length - 1), ord(" "), np.uint8)
        seq[:, ::2] = tokens[r] + ord("0")
        fields = [_digits(np.arange(lo, hi), len(str(lo))), seq, _digits(expected[r], 1), _digits(predicted[r], 1),
                  _digits(conf[r] // 10 ** 6, 1), _digits(conf[r] % 10 ** 6, 6)]
        columns = []
        for field, sep in zip(fields, b",,,,.\n"):
            columns += [field, np.full((hi - lo, 1), sep, np.uint8)]
        parts.append(np.hstack(columns).tobytes().decode("ascii"))
    return "".join(parts)


def predict(data_path, model_path, out, batch_size: int | None = None, show: int = 5) -> dict:
    """Write predictions for every test row; returns the summary written to predictions.json.
    batch_size: None for config.PREDICT_BATCH, or fewer rows for long sequences (data.forward_batch)."""
    inputs = open_inputs(data_path, model_path, out)
    info, net = inputs.info, inputs.net
    from pipeline import reader
    from pipeline.backend import tf

    batch_size = batch_size or data.forward_batch(config.PREDICT_BATCH, info.length, info.n_features)
    ds = reader.make_dataset(info, "test", batch_size)
    # One trace for every batch size: predict_on_batch would trace again for the last, shorter batch.
    forward = tf.function(lambda X: net(X, training=False), input_signature=[ds.element_spec[0]])
    out = Path(out)
    correct, first, shown = 0, 0, []
    t0 = time.perf_counter()
    t = None
    with published_together() as outputs:  # the CSV and its JSON replace the previous pair together
        with outputs.output(out) as tmp, open(tmp, "w") as f:
            f.write(",".join(COLUMNS) + "\n")
            for X, y in ds:
                probs = forward(X).numpy()
                tokens = echo.decode(X.numpy())
                expected, predicted = echo.decode(y.numpy()), probs.argmax(axis=-1)
                f.write(csv_lines(first, tokens, expected, predicted, probs.max(axis=-1)))
                correct += int((expected == predicted).sum())
                shown += [book_line(*row) for row in zip(tokens[:show - len(shown)], expected, predicted)]
                first += len(tokens)
                if t is None:  # the first batch traces the model; throughput is timed after it
                    t, timed_from = time.perf_counter(), first
        end = time.perf_counter()
        summary = {"path": str(out), "rows": first, "accuracy": correct / first, "seconds": round(end - t0, 4),
                   "samples_per_s": round((first - timed_from) / (end - t) if first > timed_from
                                          else first / (end - t0)),
                   "columns": list(COLUMNS), **inputs.provenance()}
        with outputs.output(out.with_suffix(".json")) as tmp:
            tmp.write_text(json_text(summary))
    summary["shown"] = shown
    return summary


def check_sequence(tokens: list, problem: dict) -> np.ndarray:
    """The tokens as an array, or ValueError saying why the model cannot take them."""
    if len(tokens) != problem["length"]:
        raise ValueError(f"has {len(tokens)} values; the model takes sequences of length {problem['length']}")
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


def read_sequences(path, problem: dict) -> np.ndarray:
    """A user's sequences, one per line, values separated by commas or spaces; blank lines and lines
    starting with # are skipped. BadFile names the first line the model cannot take."""
    path = existing_file(path, "sequences")
    rows = []
    try:
        lines = path.read_text().splitlines()
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
    return np.stack(rows)


def _forward(net, metadata: dict, tokens: np.ndarray):
    n_features = metadata["dataset"]["problem"]["n_features"]
    batch_size = data.forward_batch(config.PREDICT_BATCH, tokens.shape[1], n_features)
    probs = net.predict(echo.one_hot(tokens, n_features).astype(np.float32), batch_size=batch_size, verbose=0)
    return probs.argmax(axis=-1), probs.max(axis=-1)


def predict_lines(model_path, tokens: np.ndarray) -> list:
    """The book's line for each sequence."""
    from pipeline.model import load_model

    net, metadata = load_model(model_path)  # the model file is read once, its metadata with it
    predicted, _ = _forward(net, metadata, tokens)
    out_index = metadata["dataset"]["problem"]["out_index"]
    return [book_line(t, t[out_index], p) for t, p in zip(tokens, predicted)]


@click.command("predict")
@data_option
@model_option
@click.option("--out", type=click.Path(), default=config.PREDICTIONS_PATH, show_default=True,
              help="Predictions CSV to write (predictions.json is written beside it).")
@click.option("--sequence", default=None, help="Predict this one sequence instead, e.g. 7,0,2,6,7.")
@click.option("--sequences", "sequences_path", type=click.Path(), default=None,
              help="Predict the sequences in this text file instead (one per line, e.g. 7,0,2,6,7), printing "
                   "a line for each.")
def cli(data_path, model_path, out, sequence, sequences_path):
    """Predict the test split (or one --sequence, or the --sequences of a file)."""
    if sequence is not None or sequences_path is not None:
        if sequence is not None and sequences_path is not None:
            raise click.UsageError("give --sequence or --sequences, not both")
        problem = modelfile.read_metadata(model_path)["dataset"]["problem"]
        tokens = (parse_sequence(sequence, problem)[None] if sequence is not None
                  else read_sequences(sequences_path, problem))
        for line in predict_lines(model_path, tokens):
            click.echo(line)
        return
    s = predict(data_path, model_path, out)
    for line in s["shown"]:
        click.echo(line)
    click.echo(f"wrote {out}: {s['rows']:,} predictions, accuracy {s['accuracy']:.6f}, "
               f"{s['samples_per_s']:,} samples/s")
