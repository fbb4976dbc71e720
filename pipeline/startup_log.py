"""Quiet start-up: what TensorFlow's C++ code prints to file descriptor 2 while it loads, caught and
filtered. It writes there before absl logging is set up, whatever TF_CPP_MIN_LOG_LEVEL says, so only
capturing the descriptor itself (not sys.stderr) keeps a stage's output to its own lines.
"""
import contextlib
import os
import re
import sys
import tempfile

VERBOSE = "ECHO_PIPELINE_VERBOSE"  # set by `echo-pipeline -v`: TensorFlow's start-up log is shown as it is

# What TensorFlow's C++ code prints while it loads, before absl logging is set up and so whatever
# TF_CPP_MIN_LOG_LEVEL says: facts about the build and the machine, not about this run.
STARTUP_NOISE = re.compile(r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
                           r"Could not find cuda drivers|Unable to register cu(DNN|FFT|BLAS) factory|"
                           r"TF-TRT Warning|computation placer already registered|"
                           r"This TensorFlow binary is optimized to use available CPU instructions|"
                           r"rebuild TensorFlow with the appropriate compiler flags")


@contextlib.contextmanager
def startup_log_filtered():
    """Catch what is written to file descriptor 2 in the body and pass on all but STARTUP_NOISE."""
    if os.environ.get(VERBOSE) == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines(keepends=True):
                if not STARTUP_NOISE.search(line):
                    sys.stderr.write(line)


