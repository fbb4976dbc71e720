"""The PyTorch peer of goal 2: the same vanilla LSTM, trained on CPU from tensors held in memory.

The model is the echo problem's: LSTM(units) over one-hot sequences, then Linear(n_features), with
softmax cross-entropy and Adam (learning rate 0.001, as the bench's own throughput runs). The data is
echo data of the bench's shape (length 5, 10 features, the target is the token at out_index 2),
generated here as one tensor, so the peer reads nothing while it trains: its best case.

For each batch size, a fresh model takes --warmup-steps batches untimed (first-call allocations and
kernel selection), then --passes timed passes over the --samples sequences (at most --max-steps
batches each), each pass in a new random order and in whole batches only (as ours: the last, partial
batch of a pass is left out). Threads are
left as PyTorch chooses on this machine (reported as "threads"). Prints one JSON line per batch size:

    {"framework": "torch", "batch_size": B, "samples_per_s": S, "accuracy": A, "threads": T}

where accuracy is on --eval-samples fresh sequences after training. It runs in its own virtual
environment (torch and numpy only) and imports nothing of the project:

    .venv-torch/bin/python benchmarks/torch_peer.py --batch-sizes 32,128,512
"""
import time

import numpy as np
import torch
from peer_args import echo_tokens, parse, parser, pass_rows, print_results


def echo_data(args, rows: int, rng: np.random.Generator):
    """One-hot sequences (rows, length, n_features) float32 and the class to echo (rows,) int64."""
    tokens, target = echo_tokens(args, rows, rng)
    one_hot = np.eye(args.n_features, dtype=np.float32)[tokens]
    return torch.from_numpy(one_hot), torch.from_numpy(target.astype(np.int64))


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
    timed_steps = args.passes * pass_rows(args, batch_size) // batch_size
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
    p = parser(__doc__)
    p.add_argument("--warmup-steps", type=int, default=50, help="untimed batches first")
    args, batch_sizes = parse(p, argv)
    if args.warmup_steps < 0:
        p.error("need --warmup-steps >= 0")
    print_results(args, batch_sizes, echo_data, measure)


if __name__ == "__main__":
    main()
