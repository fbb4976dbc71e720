"""The pipeline's constants: paths, batch sizes and byte budgets (the named problems: presets.py).

No imports beyond the standard library: every module may read it, and `--help` stays instant.
"""
# Where `make` and the stages' defaults put things.
DATA_PATH = "data/echo.h5"
MODEL_PATH = "artifacts/model.keras"
METRICS_PATH = "artifacts/metrics.json"
BASELINE_PATH = "artifacts/baseline.json"
PREDICTIONS_PATH = "artifacts/predictions.csv"
EXPORT_PATH = "artifacts/export"
RUN_FOLDER = "artifacts"  # a run's model, train.json, metrics.json, ... (a sweep's: artifacts/sweeps/<PARAM>/<value>)
REPORT_PATH = "artifacts/report.md"

# Batches of the stages that only run the model forward: large, since no gradients are kept, but
# fewer rows for long sequences, so that a batch's float32 inputs stay within FORWARD_BYTES.
VAL_BATCH = 4096
EVAL_BATCH = 8192
PREDICT_BATCH = 16384
FORWARD_BYTES = 512 << 20
# From this many time steps in a pass (rows x length), evaluate and predict compile the model with
# XLA: its compile (about 1.5-2.5 s per batch shape) is then repaid by its faster steps (docs/performance.md).
FORWARD_XLA_STEPS = 1 << 22
# Training saves its state for a resumed run at most this often (and after its first and last epoch): a
# checkpoint of the JapaneseVowels preset took 50-70 ms, as long as two of its epochs.
BACKUP_SECONDS = 5.0

# Byte budgets that size row counts (a row is one sequence: (length + 1) * n_features bytes with its label).
UNIT_BYTES = 4 << 20  # a generation and hashing unit
CHUNK_BYTES = 1 << 20  # an HDF5 chunk of X; h5py advises chunks of 10 KiB to 1 MiB
BLOCK_BYTES = 4 << 20  # one read of the tf.data reader
SORT_BYTES = 32 << 20  # one read of sequences of different lengths, sorted by length into batches
READ_CACHE_BYTES = 64 << 20  # h5py's chunk cache per open file: larger than any compressed chunk we write
READ_CACHE_SLOTS = 10007  # a prime over 100 times the chunks the cache holds, as h5py advises
COMPRESSION = {"none": {}, "gzip": {"compression": "gzip", "compression_opts": 1}, "lzf": {"compression": "lzf"}}
