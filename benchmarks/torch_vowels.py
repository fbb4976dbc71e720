"""The PyTorch peer of the JapaneseVowels row: the preset's recipe (pipeline/presets.py) in PyTorch on CPU,
on the splits of the imported dataset (an .npz written by benchmarks/vowels.py).

The recipe: features standardised with the training split's mean and std; dropout of the LSTM's inputs
(each row, step and feature, as tf-keras' LSTM); LSTM(128) reading each sequence from its last step (each
row reversed within its length); Linear -> softmax, cross-entropy with label smoothing; Adam (epsilon
1e-7, as Keras') keeping an exponential moving average of the weights, which the model takes at the end;
batches of 32, each pass the training rows shuffled, the last partial batch left out, sorted by a jittered
length and cut into batches in shuffled order (as the reader); validation after every epoch. The LSTM
runs padded (over each batch padded to its longest row, each row's output taken at its last real step) or
packed (pack_padded_sequence). Prints one JSON line:

    {"framework": "torch", "how": H, "fit_seconds": S, "test_accuracy": A, "val_accuracy": V, "threads": T}

fit_seconds: the epochs with their validation, from the first batch to the last validation. It runs in
its own virtual environment (torch and numpy only) and imports nothing of the project:

    .venv-torch/bin/python benchmarks/torch_vowels.py --data vowels.npz --how padded
"""
import argparse
import copy
import json
import time

import numpy as np
import torch


class Classifier(torch.nn.Module):
    def __init__(self, data, args):
        super().__init__()
        self.mean = torch.from_numpy(data["feature_mean"]).float()
        self.std = torch.from_numpy(data["feature_std"]).float()
        self.dropout, self.packed = args.dropout, args.how == "packed"
        self.lstm = torch.nn.LSTM(self.mean.numel(), args.units, batch_first=True)
        self.head = torch.nn.Linear(args.units, int(data["n_classes"]))

    def forward(self, X, lengths):
        """X (rows, steps, features), each row reversed within its length (read from its last step)."""
        x = (X - self.mean) / self.std
        if self.training and self.dropout:
            x = torch.nn.functional.dropout(x, self.dropout)
        if self.packed:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.head(h[-1])
        out, _ = self.lstm(x)
        return self.head(out[torch.arange(len(x)), lengths - 1])


def padded(data, split: str, rows) -> tuple:
    """The rows of a split, each reversed within its length, padded to the longest: X, lengths, y."""
    lengths = data[f"lengths_{split}"][rows]
    starts = data[f"offsets_{split}"][rows]
    X = np.zeros((len(rows), lengths.max(), data[f"X_{split}"].shape[-1]), np.float32)
    for row, start, n in zip(X, starts, lengths):
        row[:n] = data[f"X_{split}"][start:start + n][::-1]
    return torch.from_numpy(X), torch.from_numpy(lengths), torch.from_numpy(data[f"y_{split}"][rows])


def batches(data, rng, batch_size: int) -> list:
    """One pass's batches: rows shuffled, the rows past the last whole batch left out, sorted by jittered
    length, cut into batches, in shuffled order."""
    lengths = data["lengths_train"]
    rows = rng.permutation(len(lengths))[:len(lengths) // batch_size * batch_size]
    rows = rows[np.argsort(lengths[rows] * rng.uniform(1, 1.1, len(rows)), kind="stable")]
    cut = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    return [padded(data, "train", cut[i]) for i in rng.permutation(len(cut))]


def accuracy(model, split) -> float:
    X, lengths, y = split
    model.eval()
    with torch.no_grad():
        return (model(X, lengths).argmax(-1) == y).float().mean().item()


def fit(model, data, args) -> dict:
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=1e-7)
    average = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    rng = np.random.default_rng(args.seed)
    val = padded(data, "val", np.arange(len(data["y_val"])))
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        for X, lengths, y in batches(data, rng, args.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X, lengths), y).backward()
            optimizer.step()
            average.update_parameters(model)
        val_accuracy = accuracy(model, val)
    seconds = time.perf_counter() - start
    final = copy.deepcopy(average.module)
    test = padded(data, "test", np.arange(len(data["y_test"])))
    return {"fit_seconds": round(seconds, 3), "test_accuracy": round(accuracy(final, test), 4),
            "val_accuracy": round(val_accuracy, 4)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the splits, as benchmarks/vowels.py writes them")
    p.add_argument("--how", choices=["padded", "packed"], default="padded")
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=0.003)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.99)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    data = dict(np.load(args.data))
    result = fit(Classifier(data, args), data, args)
    print(json.dumps({"framework": "torch", "how": args.how, **result, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
