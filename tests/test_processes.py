"""The service as it really runs: the Procfile's web line, and `python app.py`."""

import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from customer_labels.server.run import LEFTOVER, PORT_LOCK

from .conftest import API_TOKENS, TOKENS
from .processes import call, listening_addresses, refusal, start, stop, wait_until_up, web_command
from .redis_server import free_port


@pytest.fixture
def web_port():
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS)
    try:
        wait_until_up(process, port)
        yield port
    finally:
        stop(process)


def test_procfile_web_line_serves_the_api(web_port):
    port = web_port
    assert call(port, "GET", "/openapi.json")[0] == 200
    status, label = call(port, "POST", "/labels/labels", {"name": "VIP", "id": "vip"}, TOKENS["admin"])
    assert status == 201
    status, customer = call(port, "POST", "/customers/customers", {"name": "Ada"}, TOKENS["admin"])
    assert status == 201
    url = f"/customers/customers/{customer['id']}/labels"
    card = {field: value for field, value in label.items() if field != "customerCount"}
    assert call(port, "POST", url, {"labels": ["vip"]}, TOKENS["editor"]) == (200, {"data": [card]})
    assert call(port, "GET", url, token=TOKENS["reader"]) == (200, {"data": [card]})
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
    assert line.startswith(f"Error: {setting}: ")


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
    assert real_redis.hget("cl:{cl:catalogue}:label:vip", "name") == "VIP"  # the default key prefix


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


def test_mock_mode_under_the_procfile_only_when_asked():
    port = free_port()
    process = start(
        web_command(), PORT=str(port), API_TOKENS=API_TOKENS, MOCK_MODE="1", SEED_FILE="fixtures/example.json"
    )
    try:
        wait_until_up(process, port)
        assert len(call(port, "GET", "/labels/labels", token=TOKENS["reader"])[1]["data"]) == 4
        assert call(port, "POST", "/__admin/reset", token=TOKENS["admin"])[0] == 204
        status, _ = call(port, "GET", "/labels/labels", token=TOKENS["reader"], headers={"Prefer": "code=503"})
        assert status == 503
    finally:
        stop(process)
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS)
    try:
        wait_until_up(process, port)
        assert call(port, "POST", "/__admin/reset", token=TOKENS["admin"])[0] == 404
        assert call(port, "GET", "/labels/labels", token=TOKENS["reader"], headers={"Prefer": "code=503"})[0] == 200
    finally:
        stop(process)


def test_dev_server_never_prints_a_redis_password(redis_proc, real_redis):
    port = free_port()
    url = f"redis://:s3cret-password@{redis_proc.host}:{redis_proc.port}/0"
    # One worker, answering before the stop: a SIGTERM that comes while granian still
    # starts a worker waits out its kill timeout (granian 2.8; see the README's Shutdown).
    process = start(f"{sys.executable} app.py", PORT=str(port), REDIS_URL=url, WEB_CONCURRENCY="1")
    try:
        wait_until_up(process, port)
        assert call(port, "GET", "/healthz")[0] == 200
    finally:
        output = stop(process)
    assert f"redis://:***@{redis_proc.host}:{redis_proc.port}/0" in output
    assert "s3cret-password" not in output


#: Both ways a server starts (the Procfile's web line, the local mock), and how each
#: begins the one line it prints when it refuses to start.
EITHER_SERVER = pytest.mark.parametrize(
    "command, prefix",
    [(web_command(), "Error: PORT: "), (f"{sys.executable} app.py", "error: PORT: ")],
    ids=["procfile", "dev"],
)


@EITHER_SERVER
def test_a_second_server_on_a_taken_port_refuses_and_the_first_keeps_every_connection(web_port, command, prefix):
    # granian binds each process with SO_REUSEPORT: unchecked, a second server would
    # start on the same port, and the kernel would share the connections out between them.
    line = refusal(start(command, PORT=str(web_port), API_TOKENS=API_TOKENS))
    assert line.startswith(prefix) and f"{web_port} is taken" in line
    assert call(web_port, "POST", "/labels/labels", {"id": "vip", "name": "VIP"}, TOKENS["admin"])[0] == 201
    for _ in range(20):  # each call a new connection: every one reaches the first server
        assert call(web_port, "GET", "/labels/labels/vip", token=TOKENS["reader"])[0] == 200


#: A process that claims a port as a starting server does, and holds it without listening.
CLAIM = (
    "{python} -c 'import sys, time; from customer_labels.server.run import claim_port; "
    'claim_port("127.0.0.1", int(sys.argv[1])); print("claimed", flush=True); time.sleep(60)\' {port}'
)


@EITHER_SERVER
def test_a_port_another_server_has_claimed_but_not_yet_listens_on_is_refused(command, prefix):
    # Between checking that nothing listens and listening, a second server started at the
    # same moment would pass the check as well (and with SO_REUSEPORT both would serve).
    port = free_port()
    holder = start(CLAIM.format(python=sys.executable, port=port))
    try:
        assert holder.stdout.readline() == "claimed\n"
        line = refusal(start(command, PORT=str(port), API_TOKENS=API_TOKENS))
        assert line.startswith(prefix) and f"{port} is taken" in line
        assert not listening_addresses(port)  # the claim alone refused it
    finally:
        stop(holder)
    # The kernel let go of the claim with its holder, killed: the port serves again. (Its
    # file may be there still, or removed by a server started meanwhile: either will do.)
    lock_file = Path(PORT_LOCK.format(port=port))
    process = start(command, PORT=str(port), API_TOKENS=API_TOKENS)
    try:
        wait_until_up(process, port)
        assert call(port, "GET", "/healthz")[0] == 200
    finally:
        stop(process)
    assert process.returncode == 0 and not lock_file.exists()  # a server that stops removes it


def test_of_two_servers_started_together_on_one_port_one_serves_and_the_other_refuses():
    port = free_port()
    both = [start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS) for _ in range(2)]
    try:
        deadline = time.monotonic() + 30  # long enough for both to start, if both could
        while all(p.poll() is None for p in both) and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = [p for p in both if p.poll() is not None]
        assert len(refused) == 1, "both servers started on one port"
        serving = next(p for p in both if p not in refused)
        assert refusal(refused[0]).startswith("Error: PORT: ")
        wait_until_up(serving, port)
        for _ in range(10):  # each call a new connection: every one reaches the one server
            assert call(port, "GET", "/healthz")[0] == 200
        assert serving.poll() is None
    finally:
        for process in both:
            stop(process)


def scrape(port, wanted):
    """/metrics of the server on ``port``, once it shows ``wanted`` (each process writes
    its counts about once a second) or 5 s have gone."""
    headers = {"Authorization": f"Bearer {TOKENS['admin']}"}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    deadline = time.monotonic() + 5
    while True:
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read().decode()
        if wanted in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def test_what_a_killed_server_left_the_next_server_to_start_removes(tmp_path, redis_url):
    """A server killed outright (SIGKILL) runs no exit hook: its port's lock, its metrics
    directory (a server on Redis runs several processes) and its log lock stay in the
    temporary directory. The next server to start removes them, and nothing of a server
    that lives."""

    def left(port):
        found = (LEFTOVER.fullmatch(name) for name in os.listdir(tmp_path))
        return sorted(match[0].split("-")[2] for match in found if match and int(match[1] or match[2]) == port)

    ports = [free_port() for _ in range(3)]
    settings = {"API_TOKENS": API_TOKENS, "REDIS_URL": redis_url, "TMPDIR": str(tmp_path)}
    live, killed = (start(web_command(), PORT=str(port), **settings) for port in ports[:2])
    following = None
    try:
        for process, port in zip((live, killed), ports):
            wait_until_up(process, port)
            assert left(port) == ["log", "metrics", "port"]
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert left(ports[1]) == ["log", "metrics", "port"]  # nothing removed them
        following = start(web_command(), PORT=str(ports[2]), **settings)
        wait_until_up(following, ports[2])
        assert left(ports[1]) == []
        assert left(ports[0]) == left(ports[2]) == ["log", "metrics", "port"]
        assert call(ports[0], "GET", "/healthz")[0] == 200
        assert 'route="/healthz"' in scrape(ports[0], 'route="/healthz"')  # its metrics directory stands
    finally:
        for process in (live, killed, following):
            if process is not None:
                stop(process)
    assert os.listdir(tmp_path) == []  # a server that stops removes its own


def test_a_temporary_directory_that_cannot_be_listed_still_lets_a_server_start(monkeypatch):
    from customer_labels.server import run

    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(run.os, "listdir", refuse)
    port = free_port()
    run.claim_port("127.0.0.1", port)  # its leftovers left as they are, and no error
    assert run._claimed[port] is not None
