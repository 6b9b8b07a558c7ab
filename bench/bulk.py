"""The bulk benchmark: `flask fixtures load` and `export` of large states, as an operator
runs them against a Redis of the benchmark's own.

    python bench/bulk.py            # 100,000 and 1,000,000 customers (about 10 minutes)
    python bench/bulk.py --quick    # 10,000 customers, under a minute (CI runs it)

Each customer carries 5 of 50 labels. For each size it reports the wall time and the
command's peak memory (maximum resident set), and Redis's slowest command meanwhile
(its SLOWLOG, which records every command that took 10 ms or more): the target is
none over 50 ms. It writes bulk.md and bulk.json to --out.
"""

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench.data import LABELS, customer_ids  # noqa: E402
from bench.services import API_TOKENS, ROOT, environment, redis_server  # noqa: E402
from customer_labels.mock.seed import text as fixture_text  # noqa: E402

#: Runs the command given and prints its peak resident memory (KB): measured from a small
#: parent, since a child forked from this benchmark would start with its memory.
MEASURED = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)
#: Redis logs every command at least this slow (microseconds).
SLOWLOG_US = 10_000
TARGET_MS = 50


def write_fixture(path, customers, seed=1):
    """A fixture file of ``customers`` customers with 5 of the 50 labels each, written a
    record at a time (never whole in memory), as `fixtures export` writes one."""
    rng = random.Random(seed)
    labels = [{"id": label, "name": label.title()} for label in LABELS]
    people = (
        ({"id": customer_id, "name": f"Customer {n}", "email": None}, rng.sample(LABELS, 5))
        for n, customer_id in enumerate(customer_ids(customers, seed))
    )
    with open(path, "w") as out:
        out.writelines(fixture_text(labels, people, line="\n"))


def run(command, server):
    """One command, with Redis's slow log cleared first: its row's figures."""
    client = server.client()
    client.config_set("slowlog-log-slower-than", SLOWLOG_US)
    client.slowlog_reset()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, sys.executable, "-m", "flask", "--app", "app", *command],
        cwd=ROOT,
        env=environment(REDIS_URL=server.url, API_TOKENS=API_TOKENS),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    peak_kb = int(done.stdout.strip().splitlines()[-1])
    slow = client.slowlog_get(128)
    slowest = max((entry["duration"] for entry in slow), default=0) / 1000
    names = sorted({" ".join(str(part) for part in entry["command"].split()[:1]) for entry in slow})
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, "slowest_ms": slowest, "slow": names}


def main():
    args = report.options(__doc__, "10,000 customers, under a minute", "bulk.md and bulk.json")
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    rows = []
    with tempfile.TemporaryDirectory() as directory, redis_server() as server:
        for size in sizes:
            fixture, exported = Path(directory) / "state.json", Path(directory) / "export.json"
            write_fixture(fixture, size)
            megabytes = fixture.stat().st_size / 2**20
            for name, command in (
                ("load", ["fixtures", "load", str(fixture)]),
                ("load again (replacing)", ["fixtures", "load", str(fixture)]),
                ("export", ["fixtures", "export", str(exported)]),
            ):
                row = {"customers": size, "file_mb": megabytes, "command": name, **run(command, server)}
                rows.append(row)
                print(line(row), flush=True)
            assert exported.stat().st_size > 0
    text = table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bulk.json").write_text(json.dumps(rows, indent=2))
    (args.out / "bulk.md").write_text(f"Measured on {report.machine()}, {args.mode} mode.\n\n{text}\n")
    print(text)


def line(row):
    return (
        f"{row['customers']:,} customers, {row['command']}: {row['seconds']:.1f} s, peak {row['peak_mb']:.0f} MB, "
        f"slowest Redis command {row['slowest_ms']:.1f} ms"
    )


def table(rows):
    lines = [
        "| customers (5 labels each) | file | command | time | peak memory "
        f"| slowest Redis command (target < {TARGET_MS} ms) |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        slowest = f"{row['slowest_ms']:.1f} ms" if row["slowest_ms"] else f"none ≥ {SLOWLOG_US // 1000} ms"
        lines.append(
            f"| {row['customers']:,} | {row['file_mb']:.0f} MB | {row['command']} | {row['seconds']:.1f} s "
            f"| {row['peak_mb']:.0f} MB | {slowest} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
