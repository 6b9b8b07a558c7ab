"""The service on a 3-master Redis Cluster against the service on one Redis, side by side.

    python bench/cluster.py            # full: what the README quotes (about 4 minutes)
    python bench/cluster.py --quick    # a smoke run, under a minute (CI runs it; it asserts nothing)

It starts one redis-server and a Redis Cluster of three, loads the same state
into each through the store, serves the app under the benchmark's gunicorn
settings on each (REDIS_CLUSTER=true for the cluster), and drives the same GET and
POST requests with wrk, the same as bench/run.py. Writes cluster.md and cluster.json
to --out (default bench/results for a full run, bench/out for a quick one).
"""

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, load, report  # noqa: E402
from bench.run import FIVE, SAMPLE  # noqa: E402
from bench.services import API_TOKENS, TOKEN, redis_cluster, redis_server, serving  # noqa: E402
from store import ClusterStore, RedisStore  # noqa: E402
from store.connection import make_client  # noqa: E402

#: (endpoint, method)
RUNS = (("GET labels", "GET"), ("POST attach", "POST"))


def fill(store, ids):
    """The state of bench/run.py's throughput runs: 50 labels, ``ids`` carrying five."""
    store.replace({
        "labels": [{"id": label, "name": label} for label in data.LABELS],
        "customers": [{"id": cid, "name": "Customer", "labels": FIVE} for cid in ids],
    })


def measure(seconds, rounds, directory):
    ids = data.customer_ids(SAMPLE)
    ids_file = Path(directory) / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    body = json.dumps({"labels": FIVE})
    with ExitStack() as stack:
        single = stack.enter_context(redis_server())
        cluster = stack.enter_context(redis_cluster())
        fill(RedisStore(single.client()), ids)
        fill(ClusterStore(make_client(cluster.url, cluster=True)), ids)
        urls = {
            "single": stack.enter_context(serving("app:app", API_TOKENS=API_TOKENS, REDIS_URL=single.url)),
            "cluster": stack.enter_context(
                serving("app:app", API_TOKENS=API_TOKENS, REDIS_URL=cluster.url, REDIS_CLUSTER="true")
            ),
        }
        results, before = {}, commands(cluster)
        for round_ in range(rounds):
            for endpoint, method in RUNS:
                args = [TOKEN, ids_file, method, load.LABELS_PATH, *([body] if method == "POST" else [])]
                if round_ == 0:  # warm up both
                    for url in urls.values():
                        load.run(url, args, 1)
                # Side by side: each round runs one right after the other.
                pair = (load.run(urls["single"], args, seconds), load.run(urls["cluster"], args, seconds))
                results.setdefault(endpoint, []).append(pair)
        shares = command_shares(cluster, before)
    rows = []
    for endpoint, pairs in results.items():
        single, cluster = sorted(pairs, key=lambda pair: pair[1].rps / pair[0].rps)[len(pairs) // 2]
        rows.append({"endpoint": endpoint, "single": single._asdict(), "cluster": cluster._asdict(),
                     "ratio": cluster.rps / single.rps})
    return rows, shares


def commands(cluster):
    """Commands each master has processed so far, by port."""
    return {node.port: node.client().info("stats")["total_commands_processed"] for node in cluster.nodes}


def command_shares(cluster, before):
    """Each master's share of the commands since ``before``, the catalogue's master first."""
    after = commands(cluster)
    done = {port: after[port] - before[port] for port in after}
    total = sum(done.values())
    client = make_client(cluster.url, cluster=True)
    catalogue = client.get_node_from_key(RedisStore(client)._key("labels")).port
    order = sorted(done, key=lambda port: port != catalogue)
    return [{"master": "catalogue" if port == catalogue else "other", "share": done[port] / total} for port in order]


def table(rows):
    lines = [
        "| endpoint | one Redis req/s | p50 ms | p99 ms | 3-master cluster req/s | p50 ms | p99 ms | cluster / one |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        one, three = row["single"], row["cluster"]
        lines.append(
            f"| {row['endpoint']} | {one['rps']:,.0f} | {one['p50']:.2f} | {one['p99']:.2f} "
            f"| {three['rps']:,.0f} | {three['p50']:.2f} | {three['p99']:.2f} | {row['ratio']:.2f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, under a minute")
    parser.add_argument("--out", type=Path, help="where to write cluster.md and cluster.json")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    out = args.out or Path(__file__).resolve().parent / ("out" if args.quick else "results")
    load.ensure_wrk()
    seconds, rounds = (2, 1) if args.quick else (15, 3)
    with tempfile.TemporaryDirectory() as directory:
        rows, shares = measure(seconds, rounds, directory)
    split = ", ".join(f"{share['master']} {share['share']:.0%}" for share in shares)
    text = (f"Measured {date.today()} on {report.machine()}, {mode} mode.\n\n{table(rows)}\n\n"
            f"- The cluster's masters' shares of the commands during the runs: {split}.\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.md").write_text(text)
    (out / "cluster.json").write_text(json.dumps({"rows": rows, "shares": shares}, indent=2))
    print(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
