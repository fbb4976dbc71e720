"""Batches of sequences of different lengths, in NumPy: which rows go together, and how far each batch is
padded. The reader (reader.py) uses it for every dataset whose lengths vary; predict uses in_file_order.

Rows are stored without padding (data.py). A block of rows is sorted by length into batches, so that
each batch holds rows of similar length; a batch is padded only to its longest row, rounded up to one of
a few bucket lengths (a geometric series), so that the batches of a whole run take a bounded number of
shapes, however many lengths there are. Training jitters the sort (rows of about the same length meet in
different batches on every pass) and shuffles the batches' order; evaluation keeps them sorted.
"""
import numpy as np

BUCKET_RATIO = 2 ** 0.25  # each bucket about 19% longer than the one before: at most that much padding
SMALLEST_BUCKET = 8
JITTER = 0.1  # training sorts by length * U(1, 1 + JITTER): about one bucket's width


def bucket_lengths(longest: int, ratio: float = BUCKET_RATIO, smallest: int = SMALLEST_BUCKET) -> np.ndarray:
    """The lengths batches are padded to: a geometric series from `smallest` up to `longest` (always the
    last), each at least one step longer than the one before; int64, increasing. Its size is at most
    1 + ceil(log(longest / smallest) / log(ratio)) (46 for 20,000 steps), or longest when that is fewer."""
    lengths, n = [], min(smallest, longest)
    while n < longest:
        lengths.append(n)
        n = max(n + 1, int(np.ceil(n * ratio)))
    return np.array([*lengths, longest], np.int64)


def bucket_of(lengths: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """The shortest bucket length that holds each of `lengths`."""
    return buckets[np.searchsorted(buckets, lengths)]


def batch_order(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None,
                drop_remainder: bool = False) -> list:
    """The rows of a block as batches, each an array of row positions: sorted by length and cut into
    batches of batch_size rows (the last one shorter). With rng (training): ties and near-ties broken at
    random, the batches' order shuffled, and with drop_remainder the rows past the last whole batch,
    picked at random, left out. Without rng: by length, in a fixed order (drop_remainder leaves out the
    last batch, of the longest rows, when it is shorter)."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        rows = rng.permutation(n)
        if drop_remainder:
            rows = rows[:n // batch_size * batch_size]
        key = lengths[rows] * rng.uniform(1, 1 + JITTER, len(rows))
        order = rows[np.argsort(key, kind="stable")]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if drop_remainder and batches and len(batches[-1]) < batch_size:
        batches.pop()
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad_rows(steps: np.ndarray, lengths: np.ndarray, width: int, pad_value: float = 0.0) -> np.ndarray:
    """Rows given as their steps one after the other (sum(lengths), n_features) and their lengths, as one
    array (rows, width, n_features) padded with pad_value after each row's steps (width >= the longest)."""
    out = np.full((len(lengths), width, steps.shape[-1]), pad_value, steps.dtype)
    out.reshape(-1, steps.shape[-1])[_padded_positions(lengths, width)] = steps
    return out


def _padded_positions(lengths: np.ndarray, width) -> np.ndarray:
    """Where each stored step lands among the rows padded to `width` steps each (flattened): row r's
    step j at r * width + j. `width` may be one per row."""
    lengths = np.asarray(lengths, np.int64)
    starts = np.cumsum(lengths) - lengths
    row_starts = np.cumsum(np.broadcast_to(width, lengths.shape)) - width
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(row_starts - starts, lengths)


def padded_batches(steps: np.ndarray, lengths: np.ndarray, batches: list, buckets: np.ndarray,
                   pad_value: float = 0.0) -> dict:
    """The block's rows as its batches, each padded to the bucket length of its longest row, all in one
    flat array. steps: the block's steps, row after row (sum(lengths), n_features). Returns X (the
    batches' padded steps, one batch after the other), rows (the row positions in batch order) and table
    (one line per batch: its first step in X, its first row in rows, its number of rows and its width)."""
    rows = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    sizes = np.array([len(b) for b in batches], np.int64)
    widths = np.array([bucket_of(lengths[b].max(), buckets) for b in batches], np.int64)
    first_row = np.cumsum(sizes) - sizes
    first_step = np.cumsum(sizes * widths) - sizes * widths
    X = np.full((int((sizes * widths).sum()), steps.shape[-1]), pad_value, steps.dtype)
    starts = np.cumsum(lengths) - lengths
    kept = lengths[rows]
    source = np.arange(int(kept.sum()), dtype=np.int64) + np.repeat(starts[rows] - (np.cumsum(kept) - kept), kept)
    X[_padded_positions(kept, np.repeat(widths, sizes))] = steps[source]
    table = np.stack([first_step, first_row, sizes, widths], axis=1) if batches else np.zeros((0, 4), np.int64)
    return {"X": X, "rows": rows.astype(np.int64), "table": table}


class InFileOrder:
    """Items that come in any order within blocks of rows, given back in file order: add() takes a batch's
    file row indices and their items and returns the items now due, a run from the next row on."""

    def __init__(self, first: int = 0):
        self.next, self.pending = first, {}

    def add(self, index, items) -> list:
        self.pending.update(zip(np.asarray(index).tolist(), items))
        due = []
        while self.next in self.pending:
            due.append(self.pending.pop(self.next))
            self.next += 1
        return due
