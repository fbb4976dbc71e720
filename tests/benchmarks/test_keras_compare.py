"""benchmarks/keras_compare.py: its summary (medians, per-pair ratios, runs that miss the target) and that
its Keras 3 model is pipeline.model's."""
import pytest

from benchmarks import keras_compare

pytestmark = pytest.mark.slow


def _run(seconds, sps):
    return {"seconds_to_target": seconds, "build_seconds_to_target": seconds and seconds + 0.1,
            "epochs_to_target": 1 if seconds else None, "samples_per_s": sps,
            "import_keras3_s": 0.6, "convert_save_s": 0.2}


def test_summary_takes_medians_and_per_pair_ratios():
    pairs = [{"tf_keras": _run(1.0, 100.0), "keras3": _run(1.2, 100.0)},
             {"tf_keras": _run(2.0, 50.0), "keras3": _run(2.2, 60.0)},  # a slow moment for both: cancels
             {"tf_keras": _run(1.0, 100.0), "keras3": _run(None, 90.0)}]  # no ratio without a target
    s = keras_compare.summarize(pairs)
    assert s["seconds_to_target"] == {"tf_keras": 1.0, "keras3": 1.7, "ratio": 1.15, "ratios": [1.2, 1.1]}
    assert s["samples_per_s"]["ratio"] == 1.0 and s["samples_per_s"]["ratios"] == [1.0, 1.2, 0.9]
    assert s["not_reached"] == {"tf_keras": 0, "keras3": 1}
    assert s["convert_save_s"] == 0.2
    table = keras_compare.table(s)
    assert "| seconds in fit to val accuracy >= 0.999 | 1.00 | 1.70 | 1.15 |" in table


def test_keras3_model_is_the_pipelines():
    from pipeline import echo
    from pipeline.backend import keras3
    from pipeline.model import build_model

    k3 = keras3()
    ours = keras_compare.keras3_model(k3)
    theirs = build_model(echo.problem(keras_compare.LENGTH, keras_compare.N_FEATURES, 2),
                         {"units": keras_compare.UNITS}, keras=k3)
    assert ours.get_config() == theirs.get_config()
