"""The fit behind the recipe's conv step cost (benchmarks/recipe_costs.py): it recovers the costs that
made the times, and refuses shapes the recipe gives no front end."""
import subprocess
import sys

import pytest

from benchmarks import recipe_costs


def test_the_fit_recovers_a_fixed_and_a_per_step_cost():
    rows = [{"median": m, "batch": b, "seconds": 0.04 + 3e-6 * b * m} for m in (150, 900) for b in (8, 64)]
    assert recipe_costs.fit(rows) == pytest.approx((0.04, 3e-6), rel=1e-6)


def test_a_length_with_no_front_end_is_one_line():
    r = subprocess.run([sys.executable, "-m", "benchmarks.recipe_costs", "--lengths", "64"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--lengths" in r.stderr and "no conv front end" in r.stderr
