"""The benchmarks still work: their quick modes, end to end. It asserts no speed:
the figures are for people to read (README), not for tests to judge."""

import json
import subprocess
import sys

import pytest

from .processes import ROOT
from .redis_server import require

pytestmark = pytest.mark.bench


def quick(script, out, timeout):
    """Run a benchmark's quick mode, writing to ``out``; it must succeed."""
    done = subprocess.run(
        [sys.executable, script, "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_quick_benchmark_runs_and_writes_its_table_and_chart(tmp_path):
    require("wrk", package="wrk")
    quick("bench/run.py", tmp_path, 600)
    table = (tmp_path / "results.md").read_text()
    for row in (
        "| GET labels | Redis |",
        "| POST attach | Redis |",
        "| bare app, gunicorn gthread 2x4 |",
        "| bare app, this server |",
        "| GET labels | memory |",
        "| json-server 0.17 |",
    ):
        assert row in table
    for line in ("slow and idle connections open", "memory:", "GET latency with", "attach 100 labels", "deleting"):
        assert line in table
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_quick_cluster_benchmark_runs_and_writes_its_table(tmp_path):
    require("wrk", package="wrk")
    require("redis-server", "redis-cli", package="redis-server")
    quick("bench/cluster.py", tmp_path, 300)
    table = (tmp_path / "cluster.md").read_text()
    assert "| GET labels |" in table and "| GET labels, copies off |" in table and "| POST attach |" in table
    rows = json.loads((tmp_path / "cluster.json").read_text())
    assert [row["endpoint"] for row in rows] == ["GET labels", "GET labels, copies off", "POST attach"]
    assert all(len(row["cpu_us_masters"]) == 3 for row in rows)
    assert "Redis-bound ceiling" in table


def test_quick_bulk_benchmark_loads_and_exports_and_writes_its_table(tmp_path):
    require("redis-server", package="redis-server")
    quick("bench/bulk.py", tmp_path, 300)
    rows = json.loads((tmp_path / "bulk.json").read_text())
    assert [row["command"] for row in rows] == ["load", "load again (replacing)", "export"]
    assert all(row["customers"] == 10_000 and row["peak_mb"] > 0 for row in rows)
    assert "| 10,000 |" in (tmp_path / "bulk.md").read_text()


def test_quick_segments_benchmark_runs_and_writes_its_table(tmp_path):
    require("redis-server", package="redis-server")
    quick("bench/segments.py", tmp_path, 300)
    result = json.loads((tmp_path / "segments.json").read_text())
    assert len(result["rows"]) == 8 and result["slowest_command"]["ms"] > 0
    assert result["round_trips"] == {"attach": 1, "guarded replace": 1}
    assert "| attach one label to 1,000 customers |" in (tmp_path / "segments.md").read_text()


def test_quick_copies_benchmark_counts_old_answers(tmp_path):
    require("redis-server", package="redis-server")
    quick("bench/copies.py", tmp_path, 300)
    lines = json.loads((tmp_path / "copies.json").read_text())
    assert len(lines) == 2 and all("old answers in" in line for line in lines)
