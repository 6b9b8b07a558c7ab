"""Production on a Heroku-like host: the Procfile's web line on a real Redis,
SIGTERM, durability across a Redis crash, TLS, and forked workers."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from customer_labels.service import create_app
from customer_labels.store.connection import make_client

from .conftest import API_TOKENS, TOKENS, auth
from .processes import call, refusal, serve, start, stop, wait_until_up, web_command
from .redis_server import RedisServer, free_port, require_tls


def workers(pid, expected):
    """The master's worker count once it has booted ``expected`` (or after 10 s)."""
    deadline = time.monotonic() + 10
    while len(children(pid)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # and no more come
    return len(children(pid))


def children(pid):
    """Pids of the processes whose parent is ``pid`` (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def until(condition, what, seconds=10):
    """Wait for ``condition()`` to hold, polling; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.01)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(redis_server):
    process, port = serve(redis_server.url, API_TOKENS, WEB_CONCURRENCY="1")
    try:
        _, customer = call(port, "POST", "/customers/customers", {"name": "Ada"}, TOKENS["admin"])
        observer = redis_server.client()
        # Redis holds every script (for at most 1 s, under the service's 1.2 s
        # timeout) while still answering INFO, which shows when the request is waiting
        # on it; it lets them go as soon as the SIGTERM has been seen to take effect,
        # so that a slow machine does not make the request's own wait run out.
        observer.execute_command("CLIENT", "PAUSE", 1000, "WRITE")
        answers = []
        in_flight = threading.Thread(
            target=lambda: answers.append(
                call(port, "GET", f"/customers/customers/{customer['id']}/labels", token=TOKENS["reader"])
            )
        )
        in_flight.start()
        until(lambda: observer.info("clients")["blocked_clients"] >= 1, "reached Redis")
        process.send_signal(signal.SIGTERM)
        until(lambda: refused(port), "refused new connections")
        assert in_flight.is_alive(), "the request finished before SIGTERM: this test would prove nothing"
        observer.execute_command("CLIENT", "UNPAUSE")
        in_flight.join(timeout=10)
        assert answers == [(200, {"data": []})]
        assert process.wait(timeout=25) == 0
    finally:
        output = stop(process)
    assert "Traceback" not in output


def test_web_concurrency_sets_the_workers_and_logs_are_json_lines(redis_server):
    process, port = serve(redis_server.url, API_TOKENS, WEB_CONCURRENCY="3")
    try:
        assert workers(process.pid, 3) == 3
        call(port, "GET", "/labels/labels", token=TOKENS["reader"])
        call(port, "GET", "/labels/labels", token="not-a-token")
    finally:
        output = stop(process)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "customer_labels.access"]
    assert [(line["status"], line["role"]) for line in access] == [(200, "reader"), (401, None)]
    assert TOKENS["reader"] not in output and "not-a-token" not in output


def test_without_redis_there_is_one_worker_so_state_is_one():
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS, WEB_CONCURRENCY="4")
    try:
        wait_until_up(process, port)
        assert workers(process.pid, 1) == 1
        for i in range(8):  # every request sees every earlier write
            assert call(port, "POST", "/labels/labels", {"name": f"n{i}"}, TOKENS["admin"])[0] == 201
            assert len(call(port, "GET", "/labels/labels", token=TOKENS["reader"])[1]["data"]) == i + 1
    finally:
        stop(process)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"WEB_CONCURRENCY": "0"}, "Error: WEB_CONCURRENCY: '0' is not a whole number from 1 to 64"),
        ({"WEB_THREADS": "0"}, "Error: WEB_THREADS: '0' is not a whole number from 1 to 64"),
        ({"LOG_LEVEL": "LOUD"}, "Error: LOG_LEVEL: 'LOUD' is not one of"),
        ({"REDIS_TLS_VERIFY": "maybe"}, "Error: REDIS_TLS_VERIFY: 'maybe' is not a yes or no"),
        ({"REDIS_MAX_CONNECTIONS": "-1"}, "Error: REDIS_MAX_CONNECTIONS: '-1' is not a whole number"),
        ({"REDIS_CACHE_MB": "8MB"}, "Error: REDIS_CACHE_MB: '8MB' is not a whole number from 0 to 4096"),
        ({"API_TOKENS": "short:admin"}, "Error: API_TOKENS: entry 1 is shorter than 16 characters"),
        ({"REDIS_KEY_PREFIX": "a{b}:"}, "Error: REDIS_KEY_PREFIX: 'a{b}:' must not hold { or }"),
        ({"REDIS_CLUSTER": "maybe"}, "Error: REDIS_CLUSTER: 'maybe' is not a yes or no"),
        ({"REDIS_CLUSTER": "true"}, "Error: REDIS_CLUSTER: a cluster needs a redis:// or rediss:// URL, not 'memory'"),
    ],
)
def test_bad_production_settings_stop_the_start_with_one_line(settings, message):
    settings = {"API_TOKENS": API_TOKENS, **settings}
    line = refusal(start(web_command(), PORT=str(free_port()), **settings))
    assert line.startswith(message)


def test_acknowledged_attaches_survive_a_redis_crash(tmp_path):
    """With appendonly yes and appendfsync always, every answered write is on disk."""
    server = RedisServer(tmp_path, "--appendonly", "yes", "--appendfsync", "always").start()
    process, port = serve(server.url, API_TOKENS, WEB_CONCURRENCY="2")
    try:
        admin, editor = TOKENS["admin"], TOKENS["editor"]
        for i in range(20):
            call(port, "POST", "/labels/labels", {"id": f"l{i}", "name": f"L{i}"}, admin)
        customers = [call(port, "POST", "/customers/customers", {"name": f"c{i}"}, admin)[1]["id"] for i in range(10)]
        expected = {}
        for n, customer in enumerate(customers):
            chosen = [f"l{(n + k) % 20}" for k in range(5)]
            status, body = call(port, "POST", f"/customers/customers/{customer}/labels", {"labels": chosen}, editor)
            assert status == 200
            expected[customer] = sorted(chosen)
        server.stop(signal.SIGKILL)  # a crash: no clean shutdown, no final save
        server.start()
        for customer, labels in expected.items():
            status, body = call(port, "GET", f"/customers/customers/{customer}/labels", token=TOKENS["reader"])
            assert status == 200
            assert sorted(label["id"] for label in body["data"]) == labels
    finally:
        stop(process)
        server.stop(signal.SIGKILL)


def test_each_forked_process_gets_its_own_connections(redis_server):
    client = make_client(redis_server.url)
    parent_id = client.client_id()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as a server process forked after the app is made
        try:
            client.set("child", "wrote")
            os.write(writer, str(client.client_id()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    child_id = int(os.read(reader, 64) or 0)
    os.waitpid(pid, 0)
    assert child_id and child_id != parent_id
    assert client.client_id() == parent_id  # the parent's connection was left alone
    assert client.get("child") == "wrote"


@pytest.fixture
def tls_redis(tmp_path):
    """A redis-server that speaks only TLS, with a self-signed certificate."""
    require_tls()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    server = RedisServer(tmp_path)
    tls_port = server.port
    server.port = free_port()  # a plain port too, for the server's own readiness check
    server.args = (
        "--tls-port",
        str(tls_port),
        "--tls-cert-file",
        str(tmp_path / "cert.pem"),
        "--tls-key-file",
        str(tmp_path / "key.pem"),
        "--tls-auth-clients",
        "no",
    )
    server.start()
    yield f"rediss://127.0.0.1:{tls_port}/0"
    server.stop(signal.SIGKILL)


def test_self_signed_tls_needs_the_explicit_setting(tls_redis, caplog):
    verified = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": tls_redis}).test_client()
    assert verified.get("/readyz").status_code == 503  # the certificate is not trusted
    assert verified.get("/labels/labels", headers=auth("reader")).status_code == 503
    # The warning says what to set, at start and for the request.
    warnings = [r.getMessage() for r in caplog.records if "CERTIFICATE_VERIFY_FAILED" in r.getMessage()]
    assert len(warnings) >= 2 and all("needs REDIS_TLS_VERIFY=false" in warning for warning in warnings)
    trusting = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": tls_redis, "REDIS_TLS_VERIFY": False})
    client = trusting.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.post("/labels/labels", json={"name": "Over TLS"}, headers=auth("admin")).status_code == 201


def test_redis_tls_url_wins_over_redis_url(tls_redis, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    monkeypatch.setenv("REDIS_TLS_URL", tls_redis)
    monkeypatch.setenv("REDIS_TLS_VERIFY", "false")
    client = create_app({"API_TOKENS": API_TOKENS}).test_client()
    assert client.get("/readyz").status_code == 200
