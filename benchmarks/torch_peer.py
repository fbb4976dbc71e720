"""The PyTorch peer of goal 2: the same vanilla LSTM, trained on CPU from tensors held in memory.

The model is the echo problem's: LSTM(units) over one-hot sequences, then Linear(n_features), with
softmax cross-entropy and Adam (learning rate 0.001, as the bench's own throughput runs). The data is
echo data of the bench's shape (length 5, 10 features, the target is the token at out_index 2),
generated here as one tensor, so the peer reads nothing while it trains: its best case.

For each batch size, a fresh model takes --warmup-steps batches untimed (first-call allocations and
kernel selection), then --passes timed passes over the --samples sequences, each pass in a new random
order and in whole batches only (as ours: the last, partial batch of a pass is left out). Threads are
left as PyTorch chooses on this machine (reported as "threads"). Prints one JSON line per batch size:

    {"framework": "torch", "batch_size": B, "samples_per_s": S, "accuracy": A, "threads": T}

where accuracy is on --eval-samples fresh sequences after training. It runs in its own virtual
environment (torch and numpy only) and imports nothing of the project:

    .venv-torch/bin/python benchmarks/torch_peer.py --batch-sizes 32,128,512
"""
import argparse
import json
import time

import numpy as np
import torch


def echo_data(rng: np.random.Generator, rows: int, length: int, n_features: int, out_index: int):
    """One-hot sequences (rows, length, n_features) float32 and the class to echo (rows,) int64."""
    tokens = rng.integers(0, n_features, size=(rows, length))
    one_hot = np.eye(n_features, dtype=np.float32)[tokens]
    return torch.from_numpy(one_hot), torch.from_numpy(tokens[:, out_index].astype(np.int64))


class EchoLSTM(torch.nn.Module):
    def __init__(self, n_features: int, units: int):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size=n_features, hidden_size=units, batch_first=True)
        self.head = torch.nn.Linear(units, n_features)

    def forward(self, sequences):
        _, (hidden, _) = self.lstm(sequences)  # hidden: (1, batch, units), the last step's state
        return self.head(hidden[0])  # logits; the softmax is in the loss


def batch_orders(rows: int, batch_size: int, generator: torch.Generator):
    """Row indices of whole batches, pass after pass, each pass in a new random order."""
    whole = rows // batch_size * batch_size
    while True:
        order = torch.randperm(rows, generator=generator)[:whole]
        yield from order.view(-1, batch_size)


def measure(X, y, X_eval, y_eval, batch_size: int, args) -> dict:
    torch.manual_seed(args.seed)
    model = EchoLSTM(X.shape[-1], args.units)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    batches = batch_orders(len(X), batch_size, generator)

    def step(index):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(X[index]), y[index]).backward()
        optimizer.step()

    for _ in range(args.warmup_steps):
        step(next(batches))
    timed_steps = args.passes * (len(X) // batch_size)
    start = time.perf_counter()
    for _ in range(timed_steps):
        step(next(batches))
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (model(X_eval).argmax(dim=-1) == y_eval).float().mean().item()
    return {"framework": "torch", "batch_size": batch_size,
            "samples_per_s": round(timed_steps * batch_size / seconds), "accuracy": round(accuracy, 4),
            "threads": torch.get_num_threads()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="32,128,512", help="comma-separated")
    parser.add_argument("--samples", type=int, default=131_072, help="training sequences held in memory")
    parser.add_argument("--passes", type=int, default=2, help="timed passes over them")
    parser.add_argument("--warmup-steps", type=int, default=50, help="untimed batches first")
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=5)
    parser.add_argument("--n-features", type=int, default=10)
    parser.add_argument("--out-index", type=int, default=2)
    parser.add_argument("--units", type=int, default=25)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if not 0 <= args.out_index < args.length:
        parser.error(f"--out-index must be in [0, {args.length})")
    if min(batch_sizes) < 1 or max(batch_sizes) > args.samples or args.passes < 1 or args.warmup_steps < 0:
        parser.error("need 1 <= batch size <= --samples, --passes >= 1 and --warmup-steps >= 0")
    rng = np.random.default_rng(args.seed)
    X, y = echo_data(rng, args.samples, args.length, args.n_features, args.out_index)
    X_eval, y_eval = echo_data(rng, args.eval_samples, args.length, args.n_features, args.out_index)
    for batch_size in batch_sizes:
        print(json.dumps(measure(X, y, X_eval, y_eval, batch_size, args)), flush=True)


if __name__ == "__main__":
    main()
