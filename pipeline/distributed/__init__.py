"""Multi-worker training with tf.distribute: each worker's role from TF_CONFIG (role), what a worker
does differently in `train` (worker) and the local launcher behind `train-cluster` (launcher)."""
