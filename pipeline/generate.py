"""Stage 1, generate: write a seeded one-hot echo dataset to one HDF5 file.

Reads nothing; writes --out with splits train/val/test (layout in data.py).
Rows are made in fixed units, each from its own seed (seed, split, unit), so the bytes depend only on
the parameters, never on chunking or block size; units are made on worker threads and written in
order, so memory stays flat whatever N is. The file is published by an atomic rename.

    python -m pipeline generate --out data/echo.h5 --n-train 1000000 --seed 0
"""
import json
import shutil
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import click
import h5py
import numpy as np
from tqdm import tqdm

from pipeline import config, data, echo, params
from pipeline.files import BadFile, atomic_output, background_sync, size_text, writable_target


def unit_tokens(spec: dict, split_index: int, unit: int, rows: int) -> np.ndarray:
    """The tokens of unit `unit` of a split: `rows` sequences from the generator seeded by (seed, split, unit)."""
    rng = np.random.default_rng([spec["seed"], split_index, unit])
    return echo.random_sequences(rng, rows, spec["length"], spec["n_features"])


def default_chunk_rows(length: int, n_features: int) -> int:
    return data.power_of_two_rows(config.CHUNK_BYTES, length, n_features, most=1 << 14)


def check_spec(spec: dict) -> None:
    if spec["out_index"] >= spec["length"]:
        raise click.BadParameter(f"{spec['out_index']} is not in [0, length={spec['length']})",
                                 param_hint="'--out-index'")


def check_chunks(spec: dict, chunk_rows: int, compression: str) -> None:
    """Refuse compressed chunks larger than the readers' chunk cache: each batch-sized read would
    decompress the whole chunk again, hundreds of times slower (docs/scaling.md)."""
    rows = chunk_rows or default_chunk_rows(spec["length"], spec["n_features"])
    rows = max(min(rows, spec[f"n_{split}"]) for split in data.SPLITS)  # as write_dataset makes them
    chunk_bytes = rows * spec["length"] * spec["n_features"]
    if compression != "none" and chunk_bytes > config.READ_CACHE_BYTES:
        most = config.READ_CACHE_BYTES // (spec["length"] * spec["n_features"])
        raise click.BadParameter(f"{chunk_rows} rows make {compression} chunks of {chunk_bytes / 2**20:.0f} MiB, "
                                 f"more than the {config.READ_CACHE_BYTES >> 20} MiB chunk cache readers use; "
                                 f"use at most {most} (0 picks about 1 MiB)", param_hint="'--chunk-rows'")


def estimate_bytes(spec: dict) -> int:
    """Uncompressed size of the data the file will hold."""
    n = sum(spec[f"n_{s}"] for s in data.SPLITS)
    return n * data.sample_bytes(spec["length"], spec["n_features"])


def write_dataset(path, spec: dict, *, chunk_rows: int, compression: str,
                  workers: int = 2, progress: bool = False) -> str:
    """Write the dataset for `spec` to `path` (not atomically; see generate()). Returns the content hash."""
    length, n_features = spec["length"], spec["n_features"]
    step = data.unit_rows(length, n_features)
    chunk_rows = chunk_rows or default_chunk_rows(length, n_features)
    total = sum(spec[f"n_{s}"] for s in data.SPLITS)
    digests = {}
    # Units made of whole chunks go straight to the file: HDF5's chunk cache would copy every chunk
    # once more (2.5x slower writes, measured); chunks that straddle units need the cache.
    cache = 0 if step % chunk_rows == 0 else config.READ_CACHE_BYTES
    with h5py.File(path, "w", rdcc_nbytes=cache) as f, ThreadPoolExecutor(max(1, workers)) as pool, \
            tqdm(total=total, unit="rows", unit_scale=True, desc="generate", disable=not progress) as bar:
        for split_index, split in enumerate(data.SPLITS):
            n = spec[f"n_{split}"]
            g = f.create_group(split)
            steps = {"X": length, "y": 1}  # stored rows per sequence: X holds its steps one after the other
            dsets = {name: g.create_dataset(name, shape=(n * k, n_features), dtype=np.uint8,
                                            chunks=(min(chunk_rows, n) * k, n_features),
                                            **config.COMPRESSION[compression])
                     for name, k in steps.items()}
            unit_digests = {name: [] for name in data.ARRAYS}
            for start, unit in _units_in_order(pool, spec, split_index, n, step, window=2 * workers):
                for name, (array, digest) in unit.items():
                    k = steps[name]
                    dsets[name][start * k:(start + len(array)) * k] = array.reshape(-1, n_features)
                    unit_digests[name].append(digest)
                bar.update(len(array))
            for name in data.ARRAYS:
                top = data.top_digest(unit_digests[name])
                dsets[name].attrs["sha256"] = top
                digests[f"{split}/{name}"] = top
        content_hash = data.combine_digests(digests)
        f.attrs.update({k: spec[k] for k in data.ECHO_ATTRS})
        f.attrs.update({"kind": "tokens", "n_classes": n_features, "pad_value": 0.0,
                        "classes": json.dumps(echo.class_names(n_features)), "problem": spec.get("problem", ""),
                        **data.storage_attrs(step, chunk_rows, compression, content_hash)})
    return content_hash


def _units_in_order(pool, spec, split_index, n, step, window):
    """Yield (start row, {name: (array, digest)}) for each unit of a split, in order, made on the pool
    with at most `window` units in flight, so memory stays flat (a unit is about 4 MiB). Units are
    made into window + 1 buffers, reused once the caller is done with a unit: fresh arrays would cost
    more in page faults than the one-hot encoding itself."""
    L, F = spec["length"], spec["n_features"]
    free = deque((np.empty((step, L, F), np.uint8), np.empty((step, F), np.uint8)) for _ in range(window + 1))
    pending = deque()

    def done(keep):
        while len(pending) > keep:
            start, buffers, fut = pending.popleft()
            yield start, fut.result()  # the caller writes it before asking for the next
            free.append(buffers)

    for unit, start in enumerate(range(0, n, step)):
        buffers = free.popleft()
        pending.append((start, buffers, pool.submit(_unit_with_digests, spec, split_index, unit,
                                                    min(step, n - start), buffers)))
        yield from done(window)
    yield from done(0)


def _unit_with_digests(spec, split_index, unit, rows, buffers) -> dict:
    """The unit's examples, made into `buffers`, with their digests (from the tokens: data.py)."""
    tokens = unit_tokens(spec, split_index, unit, rows)
    F, labels = spec["n_features"], tokens[:, spec["out_index"]]
    X, y = echo.make_examples(tokens, spec["out_index"], F, (buffers[0][:rows], buffers[1][:rows]))
    return {"X": (X, data.token_digest(tokens, F)), "y": (y, data.token_digest(labels, F))}


def generate(out, spec: dict, chunk_rows: int = 0, compression: str = "none", **kw) -> str:
    """Check the parameters and free disk space, write to a temporary file beside `out`, and rename it
    into place. chunk_rows: 0 for about 1 MiB chunks; kw: write_dataset's workers and progress."""
    out = writable_target(out)  # before the disk check, which needs the folder
    check_spec(spec)
    check_chunks(spec, chunk_rows, compression)
    need = estimate_bytes(spec)
    free = shutil.disk_usage(out.parent).free
    if compression == "none" and need > free * 0.95:
        raise BadFile(f"output {out}: the dataset needs about {size_text(need)} but only {size_text(free)} "
                      "is free there")
    with atomic_output(out) as tmp, background_sync(tmp):
        return write_dataset(tmp, spec, chunk_rows=chunk_rows, compression=compression, **kw)


@click.command("generate")
@click.option("--out", type=click.Path(dir_okay=False), default=config.DATA_PATH, show_default=True,
              help="HDF5 file to write.")
@params.options(params.GENERATE, "generate")
def cli(out, **given):
    """Generate the one-hot echo dataset into one HDF5 file."""
    chosen = params.resolve(params.GENERATE, given, params.preset_section(given["problem"], "generate"))
    spec = {k: chosen[k] for k in ("problem", "seed", *data.ECHO_ATTRS)}
    content_hash = generate(out, spec, chunk_rows=chosen["chunk_rows"], compression=chosen["compression"],
                            workers=chosen["workers"], progress=sys.stderr.isatty())
    n = sum(chosen[f"n_{split}"] for split in data.SPLITS)
    click.echo(f"wrote {out}: {n:,} sequences of length {chosen['length']} over {chosen['n_features']} values, "
               f"echo position {chosen['out_index']}, content hash {content_hash[:12]}")
