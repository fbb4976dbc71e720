"""What evaluate and predict share: open a dataset and a model trained on the same problem."""
from pipeline import data, modelfile
from pipeline.files import BadFile, writable_target


def open_inputs(data_path, model_path, out):
    """Validate the dataset, the model's metadata and the output path before loading TensorFlow;
    then load the model. Returns (dataset info, model, metadata)."""
    info = data.describe(data_path)
    metadata = modelfile.read_metadata(model_path)
    modelfile.check_compatible(model_path, metadata, info)
    writable_target(out)
    from pipeline.model import load_model

    net, metadata = load_model(model_path)
    if tuple(net.input_shape[1:]) != (info.length, info.n_features):
        raise BadFile(f"model {model_path} takes inputs {tuple(net.input_shape[1:])} but dataset {info.path} "
                      f"holds ({info.length}, {info.n_features})")
    return info, net, metadata


def provenance(info, model_path, metadata) -> dict:
    """The dataset and model an artifact was made from."""
    return {
        "dataset": info.provenance,
        "model": {"path": str(model_path), "train_params": metadata.get("params"),
                  "trained_on": metadata.get("dataset", {}).get("content_hash")},
    }
