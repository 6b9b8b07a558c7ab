"""Copies of customers' labels: does a GET right after a change show it?

    python bench/copies.py            # full: 1,500 rounds, then 1,000 with busy loops (about a minute)
    python bench/copies.py --quick    # a smoke run, 100 rounds each (CI runs it; it asserts nothing)
    TEST_REDIS_SERVER=/path/to/valkey-server python bench/copies.py   # on Valkey

The service as the Procfile runs it, 3 processes, on a redis-server of its own.
Each round attaches a label to a customer (or detaches it), then at once makes
two GETs of that customer's labels, each on a fresh connection, so that any of
the processes may answer, and counts the answers that differ from the change's.
The customer's copies are made first, in every process that answers. Six other
clients read meanwhile; the second run adds a busy loop per core. Writes
copies.md and copies.json to --out.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench.services import API_TOKENS, TOKEN, redis_server, service  # noqa: E402

CUSTOMERS = 19
READERS = 6


def _request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer.status, data


def rounds(port, count, busy):
    """(old answers, GETs) over ``count`` rounds; with ``busy``, a busy loop per core meanwhile."""
    _request(port, "POST", "/labels/labels", {"id": "vip", "name": "VIP"})
    ids = [json.loads(_request(port, "POST", "/customers/customers", {"name": "C"})[1])["id"] for _ in range(CUSTOMERS)]
    done = threading.Event()

    def read():
        while not done.is_set():
            _request(port, "GET", f"/customers/customers/{ids[0]}/labels")

    readers = [threading.Thread(target=read, daemon=True) for _ in range(READERS)]
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() if busy else 0)]
    for reader in readers:
        reader.start()
    old = gets = 0
    try:
        for number in range(count):
            path = f"/customers/customers/{ids[number % CUSTOMERS]}/labels"
            for _ in range(2):
                _request(port, "GET", path)  # copies, in whichever processes answer
            method = "POST" if (number // CUSTOMERS) % 2 == 0 else "DELETE"
            _, changed = _request(port, method, path, {"labels": ["vip"]})
            for _ in range(2):
                gets += 1
                old += _request(port, "GET", path)[1] != changed
    finally:
        done.set()
        for loop in loops:
            loop.kill()
            loop.wait()
    return old, gets


def main():
    args = report.options(__doc__, "a smoke run, 100 rounds each", "copies.md and copies.json")
    count = 100 if args.quick else 1500
    lines = []
    with redis_server() as server:
        version = server.client().info("server")
        name = "Valkey" if "valkey_version" in version else "Redis"
        with service(API_TOKENS=API_TOKENS, REDIS_URL=server.url, WEB_CONCURRENCY="3") as url:
            port = int(url.rsplit(":", 1)[1])
            for busy in (False, True):
                server.client().flushall()
                started = time.monotonic()
                old, gets = rounds(port, count if not busy else count * 2 // 3, busy)
                what = "with a busy loop per core" if busy else "no other load"
                lines.append(
                    f"{name} {version.get('valkey_version') or version['redis_version']}, 3 processes, {what}: "
                    f"{old} old answers in {gets} GETs made right after a change ({time.monotonic() - started:.0f} s)"
                )
                print(lines[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "copies.json").write_text(json.dumps(lines, indent=2))
    text = [f"Measured {time.strftime('%Y-%m-%d')} on {report.machine()}, {args.mode} mode.", ""]
    (args.out / "copies.md").write_text("\n".join(text + [f"- {line}" for line in lines]) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
