"""The pipeline's constants: paths, the problem presets' values, batch sizes and byte budgets.

No imports beyond the standard library: every module may read it, and `--help` stays instant.
"""
# Where `make` and the stages' defaults put things.
DATA_PATH = "data/echo.h5"
MODEL_PATH = "artifacts/model.keras"
METRICS_PATH = "artifacts/metrics.json"
PREDICTIONS_PATH = "artifacts/predictions.csv"
EXPORT_PATH = "artifacts/export"

# Batches of the stages that only run the model forward: large, since no gradients are kept, but
# fewer rows for long sequences, so that a batch's float32 inputs stay within FORWARD_BYTES.
VAL_BATCH = 4096
EVAL_BATCH = 8192
PREDICT_BATCH = 16384
FORWARD_BYTES = 512 << 20
# From this many time steps in a pass (rows x length), evaluate and predict compile the model with
# XLA: its compile (about 1.5-2.5 s per batch shape) is then repaid by its faster steps (docs/performance.md).
FORWARD_XLA_STEPS = 1 << 22

# Byte budgets that size row counts (a row is one sequence: (length + 1) * n_features bytes with its label).
UNIT_BYTES = 4 << 20  # a generation and hashing unit
CHUNK_BYTES = 1 << 20  # an HDF5 chunk of X; h5py advises chunks of 10 KiB to 1 MiB
BLOCK_BYTES = 4 << 20  # one read of the tf.data reader
READ_CACHE_BYTES = 64 << 20  # h5py's chunk cache per open file: larger than any compressed chunk we write
READ_CACHE_SLOTS = 10007  # a prime over 100 times the chunks the cache holds, as h5py advises
COMPRESSION = {"none": {}, "gzip": {"compression": "gzip", "compression_opts": 1}, "lzf": {"compression": "lzf"}}

# Named problems, each a section per stage (as DVC's params.yaml): `generate` fills the problem's shape
# and split sizes, `train` the training defaults of every parameter declared with PRESET in
# pipeline/params.py. Explicit options override any of them. Measurements behind the training
# defaults: docs/experiments.md.
#
# train: learning_rate is per optimizer; curriculum lists the prefix lengths trained on before the
# full length (() for none); lr_at_length: a curriculum trains at learning_rate from this length on,
# and a shorter stage at learning_rate * sqrt(lr_at_length / length) (0: one rate at every length);
# chrono: the lag in steps of the chrono initialisation of the LSTM's gate biases (0: Keras'
# initialisation); settle_epochs: epochs trained after validation accuracy first reaches the target, a
# margin for the sequences the validation split does not hold (reference: test accuracy 0.99996
# without, 1.0 with one; long, seed 0: 0.998 on 10,000 test sequences after 1.0 on 2,000 validation
# ones without). long's rows are 10 KB each, longer's 50 KB: their splits stay small.
_SHORT = {"batch_size": 256, "clipnorm": 0.0, "curriculum": (), "lr_at_length": 0, "chrono": 0, "settle_epochs": 1,
          "dropout": 0.0, "label_smoothing": 0.0, "ema": 0.0, "backwards": False, "stop_at_target": True}
_BENCHMARK = {**_SHORT, "batch_size": 32, "steps_per_epoch": 0, "learning_rate": {"adam": 0.003, "sgd": 0.1},
              "settle_epochs": 0, "dropout": 0.3, "label_smoothing": 0.1, "ema": 0.99, "backwards": True,
              "stop_at_target": False}
_LONG = {**_SHORT, "steps_per_epoch": 32, "clipnorm": 1.0, "lr_at_length": 160}
PRESETS = {
    "reference": {
        "generate": {"length": 5, "n_features": 10, "out_index": 2,
                     "n_train": 1_000_000, "n_val": 20_000, "n_test": 100_000},
        "train": {**_SHORT, "units": 25, "epochs": 100, "steps_per_epoch": 64,
                  "learning_rate": {"adam": 0.04, "sgd": 0.5}},
    },
    "wide": {
        "generate": {"length": 25, "n_features": 100, "out_index": 2,
                     "n_train": 100_000, "n_val": 10_000, "n_test": 20_000},
        "train": {**_SHORT, "units": 100, "epochs": 100, "steps_per_epoch": 32,
                  "learning_rate": {"adam": 0.005, "sgd": 0.5}},
    },
    "long": {
        "generate": {"length": 1000, "n_features": 10, "out_index": 2,
                     "n_train": 131_072, "n_val": 2_000, "n_test": 10_000},
        "train": {**_LONG, "units": 64, "epochs": 60, "learning_rate": {"adam": 0.002, "sgd": 0.5},
                  "curriculum": (5, 10, 20, 40, 80, 160, 320, 640), "chrono": 1000},
    },
    "longer": {
        "generate": {"length": 5000, "n_features": 10, "out_index": 2,
                     "n_train": 32_768, "n_val": 2_000, "n_test": 2_000},
        "train": {**_LONG, "units": 32, "epochs": 100, "learning_rate": {"adam": 0.002, "sgd": 0.5},
                  "curriculum": (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560), "chrono": 5000},
    },
    # Benchmarks of the UEA archive that come with aeon (the `ts` extra), imported, not generated.
    "japanese-vowels": {
        "import": {"dataset": "JapaneseVowels"},
        "train": {**_BENCHMARK, "units": 128, "epochs": 80},
    },
    "basic-motions": {  # 36 training sequences: a pass is one batch, so epochs of 8 batches, 720 in all
        "import": {"dataset": "BasicMotions"},
        "train": {**_BENCHMARK, "units": 128, "epochs": 90, "steps_per_epoch": 8},
    },
}
DEFAULT_PROBLEM = "reference"


def preset(problem, stage: str) -> dict:
    """A preset's section for a stage; a dataset of no preset we know (custom, or older) gets the reference's."""
    return PRESETS.get(problem or DEFAULT_PROBLEM, PRESETS[DEFAULT_PROBLEM])[stage]
