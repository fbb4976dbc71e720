"""What the model says of the test split, computed without the reader: the independent side of the
evaluate and predict tests."""
import numpy as np

from pipeline import data


def independent(model_path, data_path, split="test"):
    """Tokens, labels and the model's probabilities for every row of a split, without the reader."""
    from pipeline.model import load_model

    net, _ = load_model(model_path)
    X, y = data.read_padded(data_path, split)
    probs = net.predict(X.astype(np.float32), batch_size=1000, verbose=0)
    tokens, labels = X.argmax(-1), y.argmax(-1)
    p_true = probs[np.arange(len(labels)), labels].astype(np.float64)
    return tokens, labels, probs, float(-np.log(np.clip(p_true, 1e-7, 1)).mean())

