"""TensorFlow's start-up lines are dropped unless -v asks for them; anything else written meanwhile passes."""
import os

import pytest

from pipeline import startup_log

NOISE = ("W0000 00:00:1.2  42 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU "
         "instructions\nI0000 00:00:1.3  42 port.cc:153] oneDNN custom operations are on.\n")
WARNING = "a warning of the run itself\n"


@pytest.mark.parametrize("verbose", [False, True])
def test_start_up_noise_is_dropped_unless_verbose(capfd, monkeypatch, verbose):
    monkeypatch.setenv(startup_log.VERBOSE, "1" if verbose else "0")
    capfd.readouterr()
    with startup_log.startup_log_filtered():
        os.write(2, (NOISE + WARNING).encode())
    assert capfd.readouterr().err == (NOISE + WARNING if verbose else WARNING)
