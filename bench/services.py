"""Starting what a benchmark measures: the service as the Procfile runs it, the
local mock, the bare baselines under gunicorn and under this project's own
server, json-server, and a redis-server of the benchmark's own."""

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import environment, wait_until_up, web_command  # noqa: E402  (the tests' process helpers)
from tests.redis_server import RedisClusterServers, RedisServer, free_port  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
API_TOKENS = f"{TOKEN}:admin"
#: json-server, from the npm registry, in a folder of the benchmark's own.
JSON_SERVER = "json-server@0.17.4"
NODE_FOLDER = ROOT / "bench" / ".node"


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
def _running(command, port, **settings):
    """``command`` (a list, or a shell line) started with ``settings``; yields its base URL.

    Its output goes to a file, as a platform would collect it: one JSON line a request.
    """
    shell = isinstance(command, str)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            ["bash", "-c", command] if shell else command,
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


def service(**settings):
    """The service as the Procfile's web line runs it."""
    return _running(web_command(), free_port(), **settings)


def local_mock(seed_file):
    """The local mock as `make run` runs it (dev mode, dev tokens), seeded."""
    return _running([sys.executable, "app.py"], free_port(), SEED_FILE=str(seed_file))


def bare_gunicorn(redis_url):
    """The bare app (bench/baseline.py) as a user would serve it: gunicorn, 2 gthread workers of 4 threads."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "gthread"]
    return _running([*command, "--threads", "4", "bench.baseline:app"], port, BENCH_REDIS_URL=redis_url)


def bare_own_server(redis_url):
    """The bare app on this project's server, with the Procfile's settings."""
    return _running([sys.executable, "-m", "bench.baseline"], free_port(), BENCH_REDIS_URL=redis_url)


def ensure_json_server():
    """json-server's command, installed from the npm registry on first use."""
    program = NODE_FOLDER / "node_modules" / ".bin" / "json-server"
    if not program.exists():
        if not shutil.which("npm"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "nodejs", "npm"], check=True, capture_output=True)
        NODE_FOLDER.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_FOLDER), JSON_SERVER],
            check=True,
            capture_output=True,
        )
    return program


def json_server(database, directory):
    """json-server 0.17 serving ``database`` (a dict), as a frontend developer would run it."""
    path = Path(directory) / "db.json"
    path.write_text(json.dumps(database))
    port = free_port()
    return _running([str(ensure_json_server()), "--quiet", "--port", str(port), str(path)], port)
