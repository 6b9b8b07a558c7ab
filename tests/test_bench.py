"""The benchmark still works: its quick mode, end to end. It asserts no speed:
the figures are for people to read (README), not for tests to judge."""

import os
import shutil
import subprocess
import sys

import pytest

from .processes import ROOT


def test_quick_benchmark_runs_and_writes_its_table_and_chart(tmp_path):
    if not shutil.which("wrk"):
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed, and CI must run the benchmark's smoke test")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    table = (tmp_path / "results.md").read_text()
    for row in ("| GET labels | memory |", "| GET labels | redis |", "| POST attach | redis |"):
        assert row in table
    for line in ("memory:", "GET latency with", "attach 100 labels", "deleting a label"):
        assert line in table
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
