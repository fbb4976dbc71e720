"""TensorFlow with tf-keras (Keras 2), imported only by the stages that run a model.

tf-keras, not Keras 3: with TensorFlow 2.21, Keras 3's model.fit fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585) while tf-keras runs it (docs/keras.md).
The environment must be set before TensorFlow is first imported.
"""
import gc
import os

from pipeline.startup_log import startup_log_filtered

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with startup_log_filtered():
    import tensorflow as tf
    import tf_keras as keras

# TensorFlow and Keras leave about 300,000 objects that live as long as the process; a full garbage
# collection scanning them took 0.16-0.28 s in the middle of fit. Keep the collector off them.
gc.freeze()

__all__ = ["tf", "keras", "keras3", "versions"]


def keras3():
    """Keras 3, the `keras` that `pip install tensorflow` brings: model files are written in its format so
    that a user's Keras loads them (docs/keras.md). Imported only when needed: it adds 0.6 s to start-up."""
    with startup_log_filtered():
        import keras as keras_3
    return keras_3

# Environment variables that can change numerical results or speed; recorded with every model.
SETTINGS_ENV = ("TF_ENABLE_ONEDNN_OPTS", "TF_USE_LEGACY_KERAS", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC",
                "PYTHONHASHSEED", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                "CUDA_VISIBLE_DEVICES", "TF_XLA_FLAGS")


def versions() -> dict:
    """Library versions, thread settings and environment variables that a result depends on."""
    import platform

    import h5py
    import numpy as np

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "tf_keras": keras.__version__,
            "keras": keras3().__version__,
            "numpy": np.__version__, "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default)"),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "environment": {k: os.environ[k] for k in SETTINGS_ENV if k in os.environ}}
