"""The service as it really runs: gunicorn from the Procfile, and `python app.py`."""

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

import pytest

from .conftest import API_TOKENS, TOKENS

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_command():
    """The Procfile's web line, run by a shell the way a platform runs it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web line")


def environment(**settings):
    env = {k: v for k, v in os.environ.items() if k not in ("API_TOKENS", "REDIS_URL", "REDIS_KEY_PREFIX")}
    # The venv's gunicorn, as a deploy installs it from requirements.txt.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def start(command, **settings):
    return subprocess.Popen(
        ["bash", "-c", command], cwd=ROOT, env=environment(**settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def call(port, method, path, body=None, token=None, host="127.0.0.1"):
    request = urllib.request.Request(
        f"http://{host}:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}"} if token else {},
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


@pytest.fixture
def gunicorn_port():
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS)
    try:
        wait_until_up(process, port)
        yield port
    finally:
        stop(process)


def test_procfile_web_line_serves_the_api(gunicorn_port):
    port = gunicorn_port
    assert call(port, "GET", "/openapi.json")[0] == 200
    status, label = call(port, "POST", "/labels/labels", {"name": "VIP", "id": "vip"}, TOKENS["admin"])
    assert status == 201
    status, customer = call(port, "POST", "/customers/customers", {"name": "Ada"}, TOKENS["admin"])
    assert status == 201
    url = f"/customers/customers/{customer['id']}/labels"
    assert call(port, "POST", url, {"labels": ["vip"]}, TOKENS["editor"]) == (200, {"data": [label]})
    assert call(port, "GET", url, token=TOKENS["reader"]) == (200, {"data": [label]})
    status, problem = call(port, "GET", url)
    assert status == 401 and problem["status"] == 401
    assert listening_addresses(port) == {"00000000"}  # 0.0.0.0, as a platform's router needs


@pytest.mark.parametrize(
    "settings, setting",
    [
        ({}, "API_TOKENS"),
        ({"API_TOKENS": "just-a-token"}, "API_TOKENS"),
        ({"API_TOKENS": "tok:superuser"}, "API_TOKENS"),
        ({"API_TOKENS": API_TOKENS, "REDIS_URL": "mysql://db/labels"}, "REDIS_URL"),
    ],
    ids=["no-tokens", "no-role", "bad-role", "bad-store"],
)
def test_procfile_web_line_refuses_bad_settings_with_one_line(settings, setting):
    line = refusal(start(web_command(), PORT=str(free_port()), **settings))
    assert line.startswith(f"Error: {setting}: ")  # gunicorn's own "Error: " before ours


def test_dev_server_binds_loopback_and_prints_the_dev_tokens():
    port = free_port()
    process = start(f"{sys.executable} app.py", PORT=str(port))
    try:
        wait_until_up(process, port)
        assert call(port, "GET", "/labels/labels", token="dev-reader") == (200, {"data": [], "nextCursor": None})
        assert call(port, "POST", "/labels/labels", {"name": "x"}, "dev-admin")[0] == 201
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
    finally:
        output = stop(process)
    for token in ("dev-reader", "dev-editor", "dev-admin"):
        assert token in output
    assert f"http://127.0.0.1:{port}" in output


def test_dev_server_with_api_tokens_prints_none():
    port = free_port()
    process = start(f"{sys.executable} app.py", PORT=str(port), API_TOKENS=API_TOKENS)
    try:
        wait_until_up(process, port)
        assert call(port, "GET", "/labels/labels", token="dev-reader")[0] == 401
    finally:
        output = stop(process)
    assert "dev-reader" not in output and TOKENS["admin"] not in output


def test_procfile_web_line_on_real_redis(redis_url, real_redis):
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS, REDIS_URL=redis_url)
    try:
        wait_until_up(process, port)
        assert call(port, "POST", "/labels/labels", {"name": "VIP", "id": "vip"}, TOKENS["admin"])[0] == 201
    finally:
        stop(process)
    assert real_redis.hget("cl:label:vip", "name") == "VIP"  # the default key prefix


@pytest.mark.parametrize(
    "command, settings, setting",
    [
        ("{python} app.py", {"PORT": "http"}, "PORT"),
        ("{python} app.py", {"PORT": "70000"}, "PORT"),
        ("{python} app.py", {"API_TOKENS": "a:root"}, "API_TOKENS"),
        ("{python} app.py", {"REDIS_URL": "memcached://x"}, "REDIS_URL"),
    ],
)
def test_dev_server_refuses_bad_settings_with_one_line(command, settings, setting):
    line = refusal(start(command.format(python=sys.executable), **settings))
    assert line.startswith(f"error: {setting}: ")
