"""Ours for the LSTM step rows: the training step of the pipeline's model (pipeline.model.build_model:
LSTM(128) -> Dense, over standardised real-valued series, masked when lengths vary; the legacy fused Adam)
on a batch of benchmarks/lstm_shapes.py, the compiled call alone, from Python, as the PyTorch peer
(torch_lstm_steps.py) steps. After --warmup untimed calls (the first traces), --rounds rounds of --steps
calls; prints one JSON line:

    {"framework": "ours", "shape": S, "ms_per_step": M, "rounds": [...]}

    .venv/bin/python -m benchmarks.lstm_steps --shape varied
"""
import argparse
import json

from benchmarks.lstm_shapes import CLASSES, PAD, SHAPES, UNITS, batch, timed


def problem(shape: str) -> dict:
    """The problem of an imported dataset of such series (data.DatasetInfo.problem)."""
    return {"kind": "features", "length": SHAPES[shape][1], "n_features": 1, "n_classes": CLASSES,
            "classes": [str(c) for c in range(CLASSES)], "variable": shape == "varied", "pad_value": PAD,
            "feature_mean": [0.0], "feature_std": [1.0]}


def measure(shape: str, args) -> dict:
    from pipeline import model as m
    from pipeline.backend import keras, tf

    data = batch(shape, args.seed)
    keras.utils.set_random_seed(args.seed)
    net = m.build_model(problem(shape), {"units": UNITS})
    m.compile_model(net, m.make_optimizer("adam", 1e-3))
    one_hot = tf.one_hot(data["y"], CLASSES)
    iterator = iter(tf.data.Dataset.from_tensors((data["X"], one_hot)).repeat())
    net.make_train_function()

    def step():
        float(net.train_function(iterator)["loss"])  # waits for the step

    return {"framework": "ours", "shape": shape, **timed(step, args)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=list(SHAPES), default="equal")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.shape, args)))


if __name__ == "__main__":
    main()
