"""The benchmark: the service against the bare stack, side by side in one run.

    python bench/run.py            # full: what docs/performance.md quotes (about 8 minutes)
    python bench/run.py --quick    # a smoke run, under 2 minutes (CI runs it; it asserts nothing)

It starts its own redis-server, the service under gunicorn (Redis and in-memory
stores) and the bare baselines of bench/baseline.py under the same gunicorn
settings, drives each with wrk, and writes a table, results.json and chart.png
to --out (default bench/results for a full run, bench/out for a quick one).
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, load, report, scale  # noqa: E402
from bench.services import API_TOKENS, TOKEN, redis_server, serving  # noqa: E402

SAMPLE = 1000  # customers the throughput runs spread their requests over
FIVE = data.LABELS[:5]  # the labels those customers carry
#: (endpoint, store, method, baseline path, target ratio)
RUNS = (
    ("GET labels", "memory", "GET", "/dict/{id}", 0.8),
    ("GET labels", "redis", "GET", "/smembers/{id}", 0.8),
    ("POST attach", "redis", "POST", "/sadd/{id}", 0.8),
)


def sample_state(ids):
    """The throughput runs' state: 50 labels, and ``ids`` each carrying the same five."""
    return {
        "labels": [{"id": label, "name": label} for label in data.LABELS],
        "customers": [{"id": cid, "name": "Customer", "labels": FIVE} for cid in ids],
    }


def seed_file(directory, ids):
    """A fixture with the sample, for the in-memory store."""
    path = Path(directory) / "seed.json"
    path.write_text(json.dumps(sample_state(ids)))
    return path


def throughput(server, seconds, rounds, directory):
    client = server.client()
    store, ids = data.fill(client, "cl:", SAMPLE, per_customer=0)
    data.attach(store, ids, FIVE, 5)
    with client.pipeline(transaction=False) as pipe:
        for cid in ids:
            pipe.sadd(f"bare:{cid}", *FIVE)
        pipe.execute()
    ids_file = Path(directory) / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    body = json.dumps({"labels": FIVE})
    with (
        serving("app:app", API_TOKENS=API_TOKENS, REDIS_URL=server.url) as on_redis,
        serving("app:app", API_TOKENS=API_TOKENS, MOCK_MODE="1", SEED_FILE=str(seed_file(directory, ids))) as in_memory,
        serving("bench.baseline:app", BENCH_REDIS_URL=server.url) as bare,
    ):
        urls = {"redis": on_redis, "memory": in_memory}
        results = {}
        for round_ in range(rounds):
            for endpoint, store_kind, method, bare_path, target in RUNS:
                extra = [body] if method == "POST" else []
                bare_args = [TOKEN, ids_file, method, bare_path, *extra]
                args = [TOKEN, ids_file, method, load.LABELS_PATH, *extra]
                if round_ == 0:  # warm up both
                    load.run(bare, bare_args, 1)
                    load.run(urls[store_kind], args, 1)
                base = load.run(bare, bare_args, seconds)
                mine = load.run(urls[store_kind], args, seconds)
                results.setdefault((endpoint, store_kind, target), []).append((mine, base))
    rows = []
    for (endpoint, store_kind, target), pairs in results.items():
        # The median round, by ratio, reported whole.
        mine, base = sorted(pairs, key=lambda pair: pair[0].rps / pair[1].rps)[len(pairs) // 2]
        rows.append(
            {
                "endpoint": endpoint,
                "store": store_kind,
                "rps": mine.rps,
                "p50": mine.p50,
                "p99": mine.p99,
                "baseline_rps": base.rps,
                "baseline_p99": base.p99,
                "ratio": mine.rps / base.rps,
                "target": target,
            }
        )
    return rows


def main():
    args = report.options(__doc__, "a smoke run, under 2 minutes", "results.md, results.json and chart.png")
    seconds, rounds = args.seconds, args.rounds
    load.ensure_wrk()
    with tempfile.TemporaryDirectory() as directory, redis_server() as server:
        print(f"throughput: wrk, {seconds} s a run, {rounds} round(s)", flush=True)
        rows = throughput(server, seconds, rounds, directory)
        print(report.table(rows), flush=True)
        customers = 10_000 if args.quick else 100_000
        service_bytes, plain_bytes = data.memory_per_attachment(server.client(), customers)
        memory = [
            f"memory: {service_bytes:.1f} bytes per attachment (target ≤ 50), against {plain_bytes:.1f} "
            f"for plain sets of ids both ways; {customers:,} existing customers given 5 of 50 labels"
        ]
        print(memory[0], flush=True)
        scale_lines = scale.run(server, directory, quick=args.quick)
    print(report.write(args.out, rows, memory, scale_lines, args.mode))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
