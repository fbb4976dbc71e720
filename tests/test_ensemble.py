"""ensemble: one Keras 3 model whose probabilities are the mean of its members' (real tiny models), which
evaluate takes as any model; ensemble-summary puts it beside its members. Refusals (one line, nothing
written, before TensorFlow loads) are in tests/cli/test_errors.py; plain Keras 3 and the export in
tests/cli/test_portable.py."""
import json

import numpy as np
import pytest

from pipeline import ensemble, ensemble_summary, evaluate, modelfile
from pipeline.files import BadFile
from tests.reference import independent


@pytest.fixture(scope="module")
def pair(trained, weak, tmp_path_factory):
    """The ensemble of the trained and the weak model (seeds 1 and 5) and its metadata."""
    out = tmp_path_factory.mktemp("ensemble") / "model.keras"
    return out, ensemble.ensemble([trained["model_path"], weak["model_path"]], out)


def test_the_ensembles_probabilities_are_the_mean_of_its_members(pair, trained, weak):
    out, _ = pair
    _, labels, probs, _ = independent(out, trained["data_path"])
    members = [independent(m["model_path"], m["data_path"])[2] for m in (trained, weak)]
    assert not np.allclose(*members, atol=0.1)  # members that disagree: a wrong vote shows
    assert np.allclose(probs, np.mean(members, axis=0), atol=1e-6)


def test_the_ensemble_names_its_members_and_their_data(pair, trained, weak):
    out, metadata = pair
    stored = modelfile.read_metadata(out)
    assert stored["ensemble"]["name"] == "ensemble of 2" and stored["settings"]["ensemble_of"] == 2
    assert [m["seed"] for m in stored["ensemble"]["members"]] == [1, 5]
    assert [m["path"] for m in stored["ensemble"]["members"]] == [str(trained["model_path"]), str(weak["model_path"])]
    assert stored["ensemble"]["members"][1]["settings"]["steps_per_epoch"] == 2  # the weak model's own settings
    assert stored["dataset"] == trained["dataset"] and stored == json.loads(json.dumps(metadata))


def test_evaluate_takes_the_ensemble_and_the_summary_puts_it_beside_its_members(pair, trained, weak, tmp_path):
    out, _ = pair
    result = evaluate.evaluate(trained["data_path"], out, tmp_path / "metrics.json")
    _, labels, probs, _ = independent(out, trained["data_path"])
    assert result["accuracy"] == pytest.approx((probs.argmax(1) == labels).mean(), abs=1e-9)
    assert result["model"]["train_settings"]["ensemble_of"] == 2
    members = []
    for i, m in enumerate((trained, weak)):
        members.append(tmp_path / f"member-{i}.json")
        evaluate.evaluate(m["data_path"], m["model_path"], members[-1])
    record = ensemble_summary.summary(tmp_path / "metrics.json", members)
    accuracies = [json.loads(p.read_text())["accuracy"] for p in members]
    assert record["name"] == "ensemble of 2" and record["ensemble"]["accuracy"] == result["accuracy"]
    assert record["single"]["accuracy"] == {"median": np.median(accuracies), "min": min(accuracies),
                                            "max": max(accuracies)}
    assert ensemble_summary.lines(record) == [
        f"ensemble of 2: test accuracy {result['accuracy']:.4f}",
        f"single models (2): test accuracy median {np.median(accuracies):.4f} (range {min(accuracies):.4f} – "
        f"{max(accuracies):.4f})"]
    with pytest.raises(BadFile, match="is not a member of the ensemble"):
        ensemble_summary.summary(tmp_path / "metrics.json", [members[0], tmp_path / "metrics.json"])
