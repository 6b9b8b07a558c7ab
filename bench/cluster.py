"""The service on a 3-master Redis Cluster against the service on one Redis, side by side.

    python bench/cluster.py            # full: what docs/performance.md quotes (about 6 minutes)
    python bench/cluster.py --quick    # a smoke run, under a minute (CI runs it; it asserts nothing)

It starts one redis-server and a Redis Cluster of three, loads the same state
into each through the store, serves the app on each as the Procfile's web line
does (REDIS_CLUSTER=true for the cluster), and drives the same GET and
POST requests with wrk, the same as bench/run.py. Writes cluster.md and cluster.json
to --out (default bench/results for a full run, bench/out for a quick one).
"""

import json
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, load, report  # noqa: E402
from bench.run import FIVE, SAMPLE, sample_state  # noqa: E402
from bench.services import API_TOKENS, TOKEN, redis_cluster, redis_server, service  # noqa: E402
from customer_labels.store import ClusterStore, RedisStore  # noqa: E402
from customer_labels.store.connection import make_client  # noqa: E402

#: (endpoint, method, settings of both services): GETs are answered from copies by
#: default, so Redis's work per GET is measured with them off.
RUNS = (
    ("GET labels", "GET", {}),
    ("GET labels, copies off", "GET", {"REDIS_CACHE_MB": "0"}),
    ("POST attach", "POST", {}),
)


def measure(seconds, rounds, directory):
    ids = data.customer_ids(SAMPLE)
    ids_file = Path(directory) / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    body = json.dumps({"labels": FIVE})
    with ExitStack() as stack:
        single = stack.enter_context(redis_server())
        cluster = stack.enter_context(redis_cluster())
        RedisStore(single.client()).replace(sample_state(ids))
        client = make_client(cluster.url, cluster=True)
        clustered = ClusterStore(client)
        clustered.replace(sample_state(ids))
        # The catalogue's master first, then the others.
        catalogue = client.get_node_from_key(clustered._key("labels")).port
        masters = sorted(cluster.nodes, key=lambda node: node.port != catalogue)
        targets = {}  # the settings' items -> [(URL, nodes) of one Redis's service, of the cluster's]
        for settings in {tuple(settings.items()) for _, _, settings in RUNS}:
            on_one = service(API_TOKENS=API_TOKENS, REDIS_URL=single.url, **dict(settings))
            on_cluster = service(API_TOKENS=API_TOKENS, REDIS_URL=cluster.url, REDIS_CLUSTER="true", **dict(settings))
            targets[settings] = [(stack.enter_context(on_one), [single]), (stack.enter_context(on_cluster), masters)]
        results = {}
        for round_ in range(rounds):
            for endpoint, method, settings in RUNS:
                args = [TOKEN, ids_file, method, load.LABELS_PATH, *([body] if method == "POST" else [])]
                pair = targets[tuple(settings.items())]
                if round_ == 0:  # warm up both
                    for url, _ in pair:
                        load.run(url, args, 1)
                # Side by side: each round runs one right after the other.
                runs = [partial(run, *target, args, seconds) for target in pair]
                pair = report.in_turn(round_, runs)
                results.setdefault(endpoint, []).append(pair)
    rows = []
    for endpoint, pairs in results.items():
        single, cluster = report.median_round(pairs, lambda pair: pair[1][0].rps / pair[0][0].rps)
        rows.append(
            {
                "endpoint": endpoint,
                "single": single[0]._asdict(),
                "cluster": cluster[0]._asdict(),
                "ratio": cluster[0].rps / single[0].rps,
                # Redis CPU per request over every round: one Redis's, and each master's.
                "cpu_us_single": cpu_per_request(pairs, 0)[0],
                "cpu_us_masters": cpu_per_request(pairs, 1),
            }
        )
    return rows


def cpu_seconds(node):
    cpu = node.client().info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


#: Redis CPU per request under which no ceiling is shown (GETs answered from copies).
MEANINGFUL_CPU_US = 2


def run(url, nodes, args, seconds):
    """One wrk run: its result, the Redis CPU seconds each of ``nodes`` spent, and the requests."""
    before = [cpu_seconds(node) for node in nodes]
    result = load.run(url, args, seconds)
    return result, [cpu_seconds(node) - b for node, b in zip(nodes, before)], result.rps * seconds


def cpu_per_request(pairs, which):
    """Microseconds of Redis CPU per request, per node, over the rounds of one target."""
    runs = [pair[which] for pair in pairs]
    requests = sum(requests for _, _, requests in runs)
    return [round(sum(cpu[i] for _, cpu, _ in runs) / requests * 1e6, 1) for i in range(len(runs[0][1]))]


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


def cpu_table(rows):
    """Redis CPU per request, and the throughput it allows where Redis is the limit:
    a Redis node runs commands on one thread, so the busiest node sets the ceiling.
    GETs answered from copies cost Redis next to nothing: no ceiling is shown for them."""
    lines = [
        "| endpoint | one Redis: CPU µs/request | cluster: catalogue master | other masters "
        "| Redis-bound ceiling, one Redis | cluster |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        one, (catalogue, *others) = row["cpu_us_single"], row["cpu_us_masters"]
        busiest = max(catalogue, *others)
        ceilings = [f"{1e6 / cpu:,.0f} req/s" if cpu >= MEANINGFUL_CPU_US else "none" for cpu in (one, busiest)]
        lines.append(
            f"| {row['endpoint']} | {one:.1f} | {catalogue:.1f} | {', '.join(f'{o:.1f}' for o in others)} "
            f"| {' | '.join(ceilings)} |"
        )
    return "\n".join(lines)


def main():
    args = report.options(__doc__, "a smoke run, under a minute", "cluster.md and cluster.json")
    out = args.out
    load.ensure_wrk()
    with tempfile.TemporaryDirectory() as directory:
        rows = measure(args.seconds, args.rounds, directory)
    text = f"Measured {date.today()} on {report.machine()}, {args.mode} mode.\n\n{table(rows)}\n\n{cpu_table(rows)}\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.md").write_text(text)
    (out / "cluster.json").write_text(json.dumps(rows, indent=2))
    print(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
