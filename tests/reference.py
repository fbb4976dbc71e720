"""What the model says of the test split, computed without the reader: the independent side of the
evaluate and predict tests."""
import h5py
import numpy as np


def independent(model_path, data_path, split="test"):
    """Tokens, labels and the model's probabilities for every row of a split, without the reader."""
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    with h5py.File(data_path) as f:
        X, y = f[split]["X"][:], f[split]["y"][:]
    probs = net.predict(X.astype(np.float32), batch_size=1000, verbose=0)
    tokens, labels = X.argmax(-1), y.argmax(-1)
    p_true = probs[np.arange(len(labels)), labels].astype(np.float64)
    return tokens, labels, probs, float(-np.log(np.clip(p_true, 1e-7, 1)).mean())

