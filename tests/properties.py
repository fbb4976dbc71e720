"""Settings of the property tests (hypothesis): fewer, derandomized examples under `make mutation`, which
runs each test many times."""
from hypothesis import HealthCheck, settings

from tests.conftest import ROOT

MUTATION = ROOT.name == "mutants"  # make mutation runs each test many times: fewer examples there

FAST = settings(max_examples=15 if MUTATION else 40, deadline=None, derandomize=MUTATION,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

SLOW = settings(max_examples=6 if MUTATION else 12, deadline=None, derandomize=MUTATION,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
