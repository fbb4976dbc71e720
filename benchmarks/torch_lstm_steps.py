"""The PyTorch peer of the LSTM step rows: LSTM(128) -> Linear over a batch of benchmarks/lstm_shapes.py,
cross-entropy, Adam, on CPU, in two ways: padded (the LSTM runs over the padded batch and each row's output
is taken at its last real step) and packed (pack_padded_sequence: each row runs only its own steps).
After --warmup untimed steps, --rounds rounds of --steps steps; prints one JSON line per way:

    {"framework": "torch", "shape": S, "how": "padded", "ms_per_step": M, "rounds": [...], "threads": T}

It runs in its own virtual environment (torch and numpy only) and imports nothing of the project:

    .venv-torch/bin/python benchmarks/torch_lstm_steps.py --shape varied
"""
import argparse
import json

import torch
from lstm_shapes import CLASSES, SHAPES, UNITS, batch, timed


class Classifier(torch.nn.Module):
    def __init__(self, n_features: int, packed: bool):
        super().__init__()
        self.lstm = torch.nn.LSTM(n_features, UNITS, batch_first=True)
        self.head = torch.nn.Linear(UNITS, CLASSES)
        self.packed = packed

    def forward(self, X, lengths):
        if self.packed:
            packed = torch.nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.head(h[-1])
        out, _ = self.lstm(X)
        return self.head(out[torch.arange(len(X)), lengths - 1])  # each row's last real step


def measure(shape: str, packed: bool, args) -> dict:
    data = batch(shape, args.seed)
    X, lengths, y = (torch.from_numpy(data[k]) for k in ("X", "lengths", "y"))
    torch.manual_seed(args.seed)
    model = Classifier(X.shape[-1], packed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(X, lengths), y).backward()
        optimizer.step()

    return {"framework": "torch", "shape": shape, "how": "packed" if packed else "padded", **timed(step, args),
            "threads": torch.get_num_threads()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=list(SHAPES), default="equal")
    p.add_argument("--how", choices=["padded", "packed", "both"], default="both")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for how in (["padded", "packed"] if args.how == "both" else [args.how]):
        print(json.dumps(measure(args.shape, how == "packed", args)), flush=True)


if __name__ == "__main__":
    main()
