"""Measure how the service behaves when Redis stops, hangs and comes back.

Starts its own redis-server and the service from the Procfile's web line,
then prints the time each request takes to get its 503 while Redis is stopped
or hung, and the time from Redis answering again to the first 200.

    python bench/redis_faults.py [--requests 20]
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.processes import call, start, stop, wait_until_up, web_command  # noqa: E402
from tests.redis_server import RedisServer, free_port  # noqa: E402

TOKEN = "bench-admin-token-0123456789"


def timed_status(port, path):
    started = time.perf_counter()
    status, _ = call(port, "GET", path, token=TOKEN)
    return status, (time.perf_counter() - started) * 1000


def summary(name, samples):
    statuses = sorted({status for status, _ in samples})
    times = [ms for _, ms in samples]
    print(f"{name:<28} statuses {statuses}  median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        redis = RedisServer(Path(directory)).start()
        port = free_port()
        service = start(web_command(), PORT=str(port), API_TOKENS=f"{TOKEN}:admin", REDIS_URL=redis.url)
        try:
            wait_until_up(service, port)
            path = "/labels/labels"
            summary("Redis up", [timed_status(port, path) for _ in range(args.requests)])
            redis.stop()
            summary("Redis stopped", [timed_status(port, path) for _ in range(args.requests)])
            redis.start()
            back = time.perf_counter()
            while timed_status(port, path)[0] != 200:
                pass
            print(f"{'recovered after Redis start':<28} {(time.perf_counter() - back) * 1000:7.1f} ms to the first 200")
            redis.pause()
            summary("Redis hung (SIGSTOP)", [timed_status(port, path) for _ in range(min(args.requests, 6))])
            redis.resume()
            back = time.perf_counter()
            while timed_status(port, path)[0] != 200:
                pass
            print(f"{'recovered after SIGCONT':<28} {(time.perf_counter() - back) * 1000:7.1f} ms to the first 200")
        finally:
            stop(service)
            redis.stop(signal.SIGKILL)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
