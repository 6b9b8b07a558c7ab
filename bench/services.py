"""Starting the service and the baselines under the same gunicorn settings, and
a redis-server of the benchmark's own."""

import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import environment, wait_until_up  # noqa: E402  (the tests' process helpers)
from tests.redis_server import RedisClusterServers, RedisServer, free_port  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
API_TOKENS = f"{TOKEN}:admin"


def redis_server():
    """A redis-server of the benchmark's own."""
    return _own(RedisServer)


def redis_cluster():
    """A 3-master Redis Cluster of the benchmark's own."""
    return _own(RedisClusterServers)


@contextmanager
def _own(kind):
    """A ``kind`` of server in a scratch directory, started; stopped after."""
    with tempfile.TemporaryDirectory() as directory:
        server = kind(Path(directory)).start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def serving(app, **settings):
    """``app`` (e.g. app:app) under the benchmark's gunicorn settings; yields its base URL.

    Its log goes to a file, as a platform would collect it: one JSON line a request.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "bench" / "gunicorn_bench.py"), app]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment(PORT=str(port), LOG_LEVEL="INFO", **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(process, port)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
