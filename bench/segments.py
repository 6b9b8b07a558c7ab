"""The segments benchmark: on one Redis whose customers each carry 5 of 50 labels,
through the service as the Procfile runs it.

    python bench/segments.py           # 1,000,000 customers (about 5 minutes, most of it filling)
    python bench/segments.py --quick   # 20,000 customers, under a minute (CI runs it)

It reports the p50 and p99 of: a three-label segment's count and its first page of 50
(target: p50 under 50 ms), for `labels.all` with `labels.none` and for `labels.any`; and
one label attached to 1,000 customers in one call, and detached (target: p50 under
100 ms). Meanwhile Redis logs every command (SLOWLOG at 0 µs): the slowest is reported
(target: none over 50 ms). It also counts the round trips of an attach and of an
ETag-guarded replace (target: no more for the replace). It writes segments.md and
segments.json to --out.
"""

import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench import data, report  # noqa: E402
from bench.services import API_TOKENS, TOKEN, redis_server, service  # noqa: E402
from customer_labels.store import RedisStore  # noqa: E402
from customer_labels.store.base import labels_tag  # noqa: E402

SEGMENTS = {
    "all 2, none 1": "labels.all=label-1,label-2&labels.none=label-3",
    "any 3": "labels.any=label-4,label-5,label-6",
    "none 1 alone": "labels.none=label-7",
}
BULK = 1000


def call(url, method="GET", body=None, headers=None):
    """One request: (milliseconds, status, the answer parsed)."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read() or b"null")
        return (time.perf_counter() - started) * 1000, response.status, answer


def timed(calls):
    """p50 and p99 (ms) of ``calls``, each a function returning call()'s triple; a warm-up first."""
    calls[0]()
    times = sorted(c()[0] for c in calls)
    return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def round_trips(client, ids):
    """Round trips of an attach and of an ETag-guarded replace, on the store in-process."""
    store, count = RedisStore(client, "cl:"), [0]
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, *args, **kwargs):
        count[0] += 1
        return original(connection, *args, **kwargs)

    store.labels_json(ids[0])  # the scripts are loaded now
    store.labels_json(ids[0], "replace", ["label-1"], if_match="*")
    redis.connection.AbstractConnection.send_packed_command = counted
    try:
        store.labels_json(ids[0], "attach", ["label-2"])
        attach, count[0] = count[0], 0
        text = store.labels_json(ids[1])
        count[0] = 0  # the read that gave the tag is the client's, before its change
        store.labels_json(ids[1], "replace", ["label-1", "label-2"], if_match=(labels_tag(text),))
        return {"attach": attach, "guarded replace": count[0]}
    finally:
        redis.connection.AbstractConnection.send_packed_command = original


def measure(url, ids, repeat):
    rows = {}
    for name, query in SEGMENTS.items():
        count = [lambda q=query: call(f"{url}/customers/customer-count?{q}")] * repeat
        page = [lambda q=query: call(f"{url}/customers/customers?{q}&limit=50")] * repeat
        found = call(f"{url}/customers/customer-count?{query}")[2]["count"]
        rows[f"segment {name}: count ({found:,} customers)"] = timed(count)
        rows[f"segment {name}: first page of 50"] = timed(page)
    batches = [ids[start : start + BULK] for start in range(0, min(len(ids), BULK * repeat), BULK)]
    path = f"{url}/labels/labels/label-0/customers"
    attach = [lambda b=b: call(path, "POST", {"customers": b}) for b in batches]
    detach = [lambda b=b: call(path, "DELETE", {"customers": b}) for b in batches]
    rows[f"attach one label to {BULK:,} customers"] = timed(attach)
    rows[f"detach it from {BULK:,} customers"] = timed(detach)
    return rows


def main():
    args = report.options(__doc__, "20,000 customers, under a minute", "segments.md and segments.json")
    customers, repeat = (20_000, 10) if args.quick else (1_000_000, 40)
    with redis_server() as server:
        client = server.client()
        started = time.perf_counter()
        _, ids = data.fill(client, "cl:", customers)
        filled = time.perf_counter() - started
        with service(API_TOKENS=API_TOKENS, REDIS_URL=server.url) as url:
            call(f"{url}/customers/customer-count")  # the layout is checked, the scripts loaded
            client.config_set("slowlog-log-slower-than", 0)
            client.config_set("slowlog-max-len", 100_000)
            client.slowlog_reset()
            rows = measure(url, ids, repeat)
            slow = client.slowlog_get(100_000)
            client.config_set("slowlog-log-slower-than", 10_000)
        slowest = max(slow, key=lambda entry: entry["duration"])
        trips = round_trips(client, ids)
    result = {
        "customers": customers,
        "fill_seconds": filled,
        "rows": rows,
        "slowest_command": {"ms": slowest["duration"] / 1000, "command": _name(slowest["command"])},
        "round_trips": trips,
    }
    text = table(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "segments.json").write_text(json.dumps(result, indent=2))
    (args.out / "segments.md").write_text(f"Measured on {report.machine()}, {args.mode} mode.\n\n{text}\n")
    print(text)


def _name(command):
    """A SLOWLOG entry's command name (redis-py gives it as bytes or text)."""
    text = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
    return text.split()[0]


def table(result):
    lines = [
        f"One Redis, {result['customers']:,} customers with 5 of 50 labels each, through the service "
        "as the Procfile runs it, one request at a time.",
        "",
        "| request | p50 | p99 | target |",
        "|---|---:|---:|---|",
    ]
    for name, row in result["rows"].items():
        target = "p50 < 100 ms" if "customers" in name and "segment" not in name else "p50 < 50 ms"
        lines.append(f"| {name} | {row['p50']:.1f} ms | {row['p99']:.1f} ms | {target} |")
    slowest, trips = result["slowest_command"], result["round_trips"]
    lines += [
        "",
        f"Slowest Redis command meanwhile: {slowest['command']}, {slowest['ms']:.1f} ms (target: none over 50 ms).",
        f"Round trips: an attach {trips['attach']}, an ETag-guarded replace {trips['guarded replace']}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
