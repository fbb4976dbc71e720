"""What a saved or exported model carries besides its weights, readable without TensorFlow.

A .keras file is a zip archive; train adds `echo_pipeline.json` to it: the training parameters, the
dataset's problem, parameters and content hash, and library versions. Evaluate and predict use it
to refuse a model trained on a different problem; inspect prints it.
"""
import json
import zipfile
from pathlib import Path

from pipeline import NAME
from pipeline.files import BadFile, existing_file

METADATA = NAME.replace("-", "_") + ".json"
EXPORT_METADATA = Path("assets.extra") / METADATA  # inside an exported SavedModel folder
SIGNATURE = "serving_default"  # an exported model's serving function
PROBLEM_KEYS = ("kind", "length", "n_features", "n_classes", "classes")  # what every stage reads of the problem


def read_metadata(path) -> dict:
    """The metadata stored in a model file, or BadFile if it is not a model made by `train`."""
    p = existing_file(path, "model")
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise BadFile(f"model {p}: not a Keras .keras model (no config.json inside)")
            if METADATA not in names:
                raise BadFile(f"model {p}: has no {METADATA}; not saved by 'train'")
            metadata = json.loads(z.read(METADATA))
    except (zipfile.BadZipFile, json.JSONDecodeError, OSError) as e:
        raise BadFile(f"model {p}: not a Keras .keras model ({e})") from None
    problem = metadata.get("dataset", {}).get("problem", {}) if isinstance(metadata, dict) else {}
    missing = [k for k in PROBLEM_KEYS if k not in problem]
    if missing:
        raise BadFile(f"model {p}: its {METADATA} has no {', '.join(missing)} (made by an older version?); "
                      "run 'train' again")
    return metadata


def read_export_metadata(folder) -> dict:
    """The metadata of an exported model, or {} when the folder has none."""
    path = Path(folder) / EXPORT_METADATA
    return json.loads(path.read_text()) if path.is_file() else {}


def add_metadata(path: Path, metadata: dict) -> None:
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(METADATA, json.dumps(metadata, indent=2))


def check_compatible(model_path, metadata: dict, info) -> None:
    """Refuse a model whose problem differs from the dataset's; the message names what differs."""
    trained = metadata.get("dataset", {}).get("problem", {})
    differ = problem_differences(trained, info.problem)
    if differ:
        raise BadFile(f"model {model_path} was trained on a problem with {problem_text(trained, differ)} but "
                      f"dataset {info.path} holds {problem_text(info.problem, differ)}")


def problem_differences(a: dict, b: dict) -> list:
    """The keys in which two problems (a dataset's inputs, their padding, its classes; for the echo problem
    its position) differ, sorted. A model standardises with its own training statistics, so those are
    left out: the same problem on other data has others."""
    return [k for k in sorted(set(a) | set(b)) if k not in ("feature_mean", "feature_std") and a.get(k) != b.get(k)]


def problem_text(problem: dict, keys) -> str:
    """'n_classes=10, classes=[...]': the problem's values of `keys`, each shortened to 40 characters."""
    return ", ".join(f"{k}={_short(problem.get(k))}" for k in keys)


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
