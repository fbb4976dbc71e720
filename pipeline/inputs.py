"""The inputs evaluate and predict share: a dataset, and a model trained on the same problem."""
import dataclasses

from pipeline import data, modelfile
from pipeline.files import BadFile, writable_target


@dataclasses.dataclass(frozen=True)
class Inputs:
    info: data.DatasetInfo  # the dataset, validated
    net: object  # the model, loaded in Keras 3
    metadata: dict  # what train stored in the model file
    model_path: str

    def provenance(self) -> dict:
        """The dataset and model an artifact was made from."""
        return {"dataset": self.info.provenance,
                "model": {"path": str(self.model_path), "train_settings": self.metadata.get("settings"),
                          "trained_on": self.metadata.get("dataset", {}).get("content_hash")}}


def open_inputs(data_path, model_path, out) -> Inputs:
    """Validate the dataset, the model's metadata and the output path before loading TensorFlow;
    then load the model."""
    info = data.describe(data_path)
    metadata = modelfile.read_metadata(model_path)
    modelfile.check_compatible(model_path, metadata, info)
    writable_target(out)
    from pipeline.model import load_model

    net, metadata = load_model(model_path)
    takes = (None if info.variable else info.length, info.n_features)
    if tuple(net.input_shape[1:]) != takes:
        raise BadFile(f"model {model_path} takes inputs {tuple(net.input_shape[1:])} but dataset {info.path} "
                      f"holds {takes}; run 'train' again")
    return Inputs(info, net, metadata, model_path)
