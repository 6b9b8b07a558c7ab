"""Running the service as a platform does: helpers for the process tests."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from customer_labels import logs, metrics, settings

from .redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
#: The service's environment settings: a test sets the ones it means, no others. (The
#: directory and lock a server's processes share, too: each server makes its own.)
SETTINGS = {*settings.DEFAULTS, *settings.PROCESS_SETTINGS, "FLASK_DEBUG", metrics.SHARED, logs.SHARED_LOCK}


def web_command():
    """The Procfile's web line, run by a shell the way a platform runs it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web line")


def environment(**settings):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    # The venv's python, as a deploy installs it from requirements.txt.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def start(command, **settings):
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env=environment(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def call(port, method, path, body=None, token=None, host="127.0.0.1", headers=None):
    request = urllib.request.Request(
        f"http://{host}:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_until_up(process, port, deadline=20):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("never started listening")


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.stdout.read() + process.stderr.read()


def refusal(process):
    """The one line a process that refuses to start prints; it must exit non-zero."""
    try:
        process.wait(timeout=30)
    finally:
        output = stop(process)
    assert process.returncode != 0
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def listening_addresses(port):
    """The local addresses of the TCP sockets listening on ``port`` (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def serve(redis_url, api_tokens, **settings):
    """The Procfile's web line on ``redis_url``; (process, port)."""
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=api_tokens, REDIS_URL=redis_url, **settings)
    wait_until_up(process, port)
    return process, port
