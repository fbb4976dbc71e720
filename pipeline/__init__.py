"""Echo sequence prediction with a vanilla LSTM: generate, train, evaluate, predict, inspect."""
__version__ = "0.1.0"
NAME = "echo-pipeline"  # the command, and what its files are named after
