"""Named problems: plain data, a section per stage (as DVC's params.yaml), checked against the parameter
tables of pipeline/params.py whenever a command runs (params.checked_presets).

- `generate`: the echo problem's shape and split sizes (every generate parameter declared PRESET);
- `import`: where the data comes from instead: `dataset` (a UEA/UCR benchmark that comes with aeon) or
  `train_file` and `test_file` (paths from the project's folder; Make reruns `import` when they change),
  and any other import parameter;
- `train`: training defaults; the keys left out are those of DEFAULT_PROBLEM.

Options given on the command line override all of them. A new problem is a new entry here; a key that
is not a parameter of its stage, or a value of the wrong type, stops every command with one line naming
the preset and the key. Measurements behind the values: docs/experiments.md.

Standard library only: tools/presets.py reads this file before anything is installed.
"""
# train: learning_rate is one rate or one per optimizer ({"adam": 0.003, "sgd": 0.1}); curriculum lists
# the prefix lengths trained on before the full length (() for none); lr_at_length: a curriculum trains
# at learning_rate from this length on, and a shorter stage at learning_rate * sqrt(lr_at_length /
# length) (0: one rate at every length); chrono: the lag in steps of the chrono initialisation of the
# LSTM's gate biases (0: Keras' initialisation); settle_epochs: epochs trained after validation accuracy
# first reaches the target, a margin for the sequences the validation split does not hold (reference:
# test accuracy 0.99996 without, 1.0 with one; long, seed 0: 0.998 on 10,000 test sequences after 1.0
# on 2,000 validation ones without). long's rows are 10 KB each, longer's 50 KB: their splits stay small.
_SHORT = {"cell": "lstm", "layers": 1, "bidirectional": False, "conv": 0, "pool": "last", "front_mean": False,
          "branch_dropout": 0.0, "batch_size": 256, "clipnorm": 0.0, "curriculum": (), "lr_at_length": 0,
          "chrono": 0, "settle_epochs": 1, "dropout": 0.0, "label_smoothing": 0.0, "ema": 0.0, "backwards": False,
          "stop_at_target": True, "schedule": "constant", "keep_best": False}
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
DEFAULT_PROBLEM = "reference"
