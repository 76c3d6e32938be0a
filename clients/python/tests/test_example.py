"""The demo's Python twin trains the digits model through the service as the README shows."""

import os
import re
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "digits.py")


def test_the_digits_example_learns(service):
    run = subprocess.run([sys.executable, EXAMPLE, "--bootstrap-servers", service["bootstrap.servers"], "--steps",
                          "30"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    m = re.search(r"demo: loss ([0-9.]+) -> ([0-9.]+) over 30 steps", run.stdout)
    assert m, run.stdout
    first, last = float(m.group(1)), float(m.group(2))
    assert abs(first - 2.3026) < 1e-4  # zero weights: ln 10, as the Java demo starts
    assert last < first / 3, run.stdout
    assert re.search(r"demo: accuracy 0\.[0-9]+ -> 0\.(8|9)[0-9]+", run.stdout), run.stdout
