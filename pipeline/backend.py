"""TensorFlow with tf-keras (Keras 2), imported only by the stages that run a model.

tf-keras, not Keras 3: with TensorFlow 2.21, Keras 3's model.fit fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585) while tf-keras runs it (README, "Why tf-keras").
The environment must be set before TensorFlow is first imported.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras", "versions"]


def versions() -> dict:
    return {"tensorflow": tf.__version__, "tf_keras": keras.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default)")}
