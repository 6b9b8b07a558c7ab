"""The benchmark: the service against bare baselines, side by side in one run.

    python bench/run.py            # full: what the README and docs/performance.md quote (about 16 minutes)
    python bench/run.py --quick    # a smoke run, about 2 minutes (CI runs it; it asserts nothing)

It starts its own redis-server and, in rounds side by side (each pair one right
after the other, the first of a pair alternating between rounds), drives with wrk:
the service as the Procfile runs it against the bare Flask + redis-py app of
bench/baseline.py under gunicorn (2 gthread workers of 4 threads: what a user
would write by hand) and under this project's own server and settings; and the
local mock (`make run`) against json-server 0.17 answering one record. Then
it times probes while 50 slow and idle clients hold connections open. It
writes a table, results.json and chart.png to --out (default bench/results for
a full run, bench/out for a quick one).
"""

import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data, load, report, scale  # noqa: E402
from bench.services import (  # noqa: E402
    API_TOKENS,
    TOKEN,
    bare_gunicorn,
    bare_own_server,
    json_server,
    local_mock,
    redis_server,
    service,
)
from tests.processes import call  # noqa: E402
from tests.wire import Trickle, request_bytes  # noqa: E402

SAMPLE = 1000  # customers the throughput runs spread their requests over
FIVE = data.LABELS[:5]  # the labels those customers carry
#: (endpoint, service, baseline, method, service path, baseline path, target ratio)
RUNS = (
    ("GET labels", "service", "bare app, gunicorn gthread 2x4", "GET", load.LABELS_PATH, "/smembers/{id}", 1.3),
    ("POST attach", "service", "bare app, gunicorn gthread 2x4", "POST", load.LABELS_PATH, "/sadd/{id}", 1.1),
    ("GET labels", "service", "bare app, this server", "GET", load.LABELS_PATH, "/smembers/{id}", 0.75),
    ("POST attach", "service", "bare app, this server", "POST", load.LABELS_PATH, "/sadd/{id}", 0.75),
    ("GET labels", "mock", "json-server 0.17", "GET", load.LABELS_PATH, "/customers/{id}", 1.0),
    # What RATE_LIMIT costs: the service with limits on, against itself with them off.
    ("GET labels", "limited", "service, limits off", "GET", load.LABELS_PATH, load.LABELS_PATH, None),
    ("POST attach", "limited", "service, limits off", "POST", load.LABELS_PATH, load.LABELS_PATH, None),
    # What the copies of customers' labels buy: the service with them off, against itself.
    ("GET labels", "uncopied", "service, copies on", "GET", load.LABELS_PATH, load.LABELS_PATH, None),
)
#: What each of the service's runs keeps its data in.
STORES = {
    "service": "Redis",
    "limited": "Redis, RATE_LIMIT on",
    "uncopied": "Redis, REDIS_CACHE_MB=0",
    "mock": "memory",
}
#: A limit the runs never reach: every request is counted, none refused.
UNREACHED = "1000000000/hour"
SLOW_CLIENTS = 50


def sample_state(ids):
    """The throughput runs' state: 50 labels, and ``ids`` each carrying the same five."""
    return {
        "labels": [{"id": label, "name": label} for label in data.LABELS],
        "customers": [{"id": cid, "name": "Customer", "labels": FIVE} for cid in ids],
    }


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
    seed = Path(directory) / "seed.json"
    seed.write_text(json.dumps(sample_state(ids)))
    body = json.dumps({"labels": FIVE})
    tokens = {"service": TOKEN, "limited": TOKEN, "uncopied": TOKEN, "mock": "dev-reader"}
    with ExitStack() as stack:
        urls = {
            "service": stack.enter_context(service(API_TOKENS=API_TOKENS, REDIS_URL=server.url)),
            "limited": stack.enter_context(service(API_TOKENS=API_TOKENS, REDIS_URL=server.url, RATE_LIMIT=UNREACHED)),
            "uncopied": stack.enter_context(service(API_TOKENS=API_TOKENS, REDIS_URL=server.url, REDIS_CACHE_MB="0")),
            "mock": stack.enter_context(local_mock(seed)),
            "bare app, gunicorn gthread 2x4": stack.enter_context(bare_gunicorn(server.url)),
            "bare app, this server": stack.enter_context(bare_own_server(server.url)),
            "json-server 0.17": stack.enter_context(
                json_server({"customers": [{"id": cid, "labels": FIVE} for cid in ids]}, directory)
            ),
        }
        urls["service, limits off"] = urls["service, copies on"] = urls["service"]
        results = {}
        for round_ in range(rounds):
            for endpoint, mine, base, method, path, base_path, target in RUNS:
                extra = [body] if method == "POST" else []
                base_args = [TOKEN, ids_file, method, base_path, *extra]
                args = [tokens[mine], ids_file, method, path, *extra]
                if round_ == 0:  # warm up both
                    load.run(urls[base], base_args, 1)
                    load.run(urls[mine], args, 1)
                runs = [partial(load.run, urls[base], base_args, seconds), partial(load.run, urls[mine], args, seconds)]
                base_result, result = report.in_turn(round_, runs)
                results.setdefault((endpoint, mine, base, target), []).append((result, base_result))
        slow = slow_clients(urls["service"], ids[0])
    rows = []
    for (endpoint, mine, base, target), pairs in results.items():
        result, base_result = report.median_round(pairs, lambda pair: pair[0].rps / pair[1].rps)
        rows.append(
            {
                "endpoint": endpoint,
                "store": STORES[mine],
                "baseline": base,
                "rps": result.rps,
                "p50": result.p50,
                "p99": result.p99,
                "baseline_rps": base_result.rps,
                "baseline_p99": base_result.p99,
                "ratio": result.rps / base_result.rps,
                "ratios": [pair[0].rps / pair[1].rps for pair in pairs],
                "target": target,
            }
        )
    return rows, slow


def slow_clients(url, customer):
    """Probe latency (ms) while SLOW_CLIENTS connections trickle headers or a body, or sit idle."""
    port = int(url.rsplit(":", 1)[1])
    head = request_bytes("POST", f"/customers/customers/{customer}/labels", body=b"x" * 40)[:-40]
    kinds = [
        (b"", b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"x" * 30),  # headers, a byte every 2 s
        (head, b"y" * 40),  # a body, a byte every 2 s
        (b"", b""),  # nothing at all
    ]
    clients = [Trickle(port, *kinds[i % len(kinds)]) for i in range(SLOW_CLIENTS)]
    for client in clients:
        client.start()
    timings = {"GET /healthz": [], "GET labels": []}
    try:
        time.sleep(0.5)
        for _ in range(20):
            for name, path in (("GET /healthz", "/healthz"), ("GET labels", f"/customers/customers/{customer}/labels")):
                started = time.perf_counter()
                assert call(port, "GET", path, token=TOKEN)[0] == 200
                timings[name].append((time.perf_counter() - started) * 1000)
    finally:
        for client in clients:
            client.close()
    return [
        f"with {SLOW_CLIENTS} slow and idle connections open (a third each: headers, a body one byte every 2 s, "
        f"nothing), {name} took a median {statistics.median(ms):.1f} ms, at most {max(ms):.1f} ms (target: median "
        f"under 100 ms)"
        for name, ms in timings.items()
    ]


def main():
    args = report.options(__doc__, "a smoke run, under 2 minutes", "results.md, results.json and chart.png")
    seconds, rounds = args.seconds, args.rounds
    load.ensure_wrk()
    with tempfile.TemporaryDirectory() as directory, redis_server() as server:
        print(f"throughput: wrk, {seconds} s a run, {rounds} round(s)", flush=True)
        rows, slow = throughput(server, seconds, rounds, directory)
        print(report.table(rows), flush=True)
        print("\n".join(slow), flush=True)
        customers = 10_000 if args.quick else 100_000
        service_bytes, plain_bytes = data.memory_per_attachment(server.client(), customers)
        memory = slow + [
            f"memory: {service_bytes:.1f} bytes per attachment (target ≤ 50), against {plain_bytes:.1f} "
            f"for plain sets of ids both ways; {customers:,} existing customers given 5 of 50 labels"
        ]
        print(memory[-1], flush=True)
        scale_lines = scale.run(server, directory, quick=args.quick)
    print(report.write(args.out, rows, memory, scale_lines, args.mode))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
