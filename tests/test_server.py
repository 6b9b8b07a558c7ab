"""The server as the Procfile starts it, tried over real sockets as hostile,
slow and broken clients would: deadlines, connection bounds, body limits in
every framing, and the answers the server makes before the app sees a request."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from customer_labels.server import BODY_BOUNDED
from customer_labels.server.bridge import BODY_SECONDS
from customer_labels.server.run import HEADER_MILLISECONDS
from customer_labels.service import create_app
from customer_labels.settings import MAX_BODY_BYTES
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS
from .processes import call, serve, start, stop, wait_until_up
from .redis_server import free_port
from .test_production import children, until
from .wire import Trickle, auth, chunked, closed_after, connect, exchange, read_answer, request_bytes

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"  # carries vip and newsletter in fixtures/example.json
BOB = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # carries beta
LABELS = "/customers/customers/{}/labels"
BETA = b'{"labels": ["beta"]}'  # an attach of a label Ada does not carry
SEEDED = {"MOCK_MODE": "1", "SEED_FILE": "fixtures/example.json"}


@pytest.fixture(scope="module")
def port():
    """The Procfile's web line without Redis (requests on the event loop), seeded."""
    process, port = serve("", API_TOKENS, **SEEDED)
    yield port
    stop(process)


@pytest.fixture
def fresh(port):
    """The module's server, put back to the seed before the test."""
    assert call(port, "POST", "/__admin/reset", token=TOKENS["admin"])[0] == 204
    return port


def labels_of(port, customer):
    status, body = call(port, "GET", LABELS.format(customer), token=TOKENS["reader"])
    assert status == 200
    return [label["id"] for label in body["data"]]


def timed_get(port, path, token=None):
    started = time.monotonic()
    status, _ = call(port, "GET", path, token=token)
    return status, time.monotonic() - started


# -- slow and idle clients ----------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def any_store_port(request):
    """The Procfile's web line on the in-memory store and on a real Redis (threads)."""
    url = ""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    process, port = serve(url, API_TOKENS, **SEEDED)
    yield port
    stop(process)


def test_fifty_slow_and_idle_connections_hold_no_request_thread(any_store_port):
    port = any_store_port
    body = BETA + b" " * 20
    head = request_bytes("POST", LABELS.format(ADA), auth(), body)[: -len(body)]
    clients = (
        # headers, one byte every 2 s
        [Trickle(port, b"", b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"x" * 30) for _ in range(17)]
        # a body, one byte every 2 s
        + [Trickle(port, head, body) for _ in range(17)]
        # nothing at all
        + [Trickle(port, b"") for _ in range(16)]
    )
    for client in clients:
        client.start()
    try:
        time.sleep(0.5)  # every one of them connected and started
        for _ in range(5):
            status, seconds = timed_get(port, "/healthz")
            assert status == 200 and seconds < 2, seconds
            status, seconds = timed_get(port, LABELS.format(ADA), TOKENS["reader"])
            assert status == 200 and seconds < 2, seconds
        assert all(client.is_alive() for client in clients), "the slow clients were cut before the probes"
    finally:
        for client in clients:
            client.close()
    assert labels_of(port, ADA) == ["newsletter", "vip"]  # no slow body was taken


def test_idle_slow_and_silent_connections_end_at_their_deadlines(fresh):
    port = fresh
    deadline = HEADER_MILLISECONDS / 1000
    silent = connect(port)
    slow_head = Trickle(port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: " + b"x" * 40)
    slow_head.start()
    kept_alive = connect(port)
    kept_alive.sendall(request_bytes("GET", "/healthz", framing="none"))
    assert read_answer(kept_alive).status == 200
    slow_body = Trickle(port, _attach_beta()[: -len(BETA)], BETA)
    slow_body.start()
    results = {}
    watchers = [
        threading.Thread(target=lambda name=name, sock=sock: results.update({name: closed_after(sock, deadline + 5)}))
        for name, sock in (("silent", silent), ("slow head", slow_head.sock), ("kept alive", kept_alive))
    ]
    for watcher in watchers:
        watcher.start()
    slow_body.sock.settimeout(BODY_SECONDS + 5)
    time.sleep(0.2)
    answer = read_answer(slow_body.sock)
    for watcher in watchers:
        watcher.join()
    slow_head.close()
    slow_body.close()
    for name, seconds in results.items():
        assert seconds is not None and deadline - 1 < seconds < deadline + 3, (name, seconds)
    assert answer.status == 408 and answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close" and "x-request-id" in answer.headers
    assert labels_of(port, ADA) == ["newsletter", "vip"]


def test_open_connections_per_process_are_bounded():
    process, port = serve("", API_TOKENS, WEB_MAX_CONNECTIONS="16")
    idle = [connect(port) for _ in range(16)]
    try:
        time.sleep(0.3)
        waiting = connect(port)
        waiting.settimeout(1)
        waiting.sendall(request_bytes("GET", "/healthz", framing="none"))
        with pytest.raises(TimeoutError):
            waiting.recv(1)  # connected by the kernel, not taken by the server
        idle.pop().close()
        waiting.settimeout(5)
        assert read_answer(waiting).status == 200
    finally:
        for sock in idle:
            sock.close()
        stop(process)


# -- body limits in every framing ------------------------------------------------------


def _attach_beta(framing="length"):
    """A whole request attaching "beta" to Ada, its body framed as ``framing``."""
    return request_bytes("POST", LABELS.format(ADA), auth(), BETA, framing)


def _padded(labels, size):
    """A change body of exactly ``size`` bytes."""
    text = json.dumps({"labels": labels})
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def _is_problem(answer, status):
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/problem+json"
    for name in ("x-request-id", "x-content-type-options", "cache-control"):
        assert name in answer.headers, name
    assert answer.json()["status"] == status


def test_an_endless_chunked_body_is_refused_at_the_limit(fresh):
    raw = request_bytes("POST", LABELS.format(ADA), auth(), b"x" * (MAX_BODY_BYTES + 1), "chunked")
    with connect(fresh, timeout=3) as sock:
        sock.sendall(raw[: -len(b"0\r\n\r\n")])  # no last chunk: it could go on for ever
        _is_problem(read_answer(sock), 413)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_over_the_limit_is_refused_whole_in_every_framing(fresh, framing):
    body = _padded(["beta"], MAX_BODY_BYTES + 1)
    answer = exchange(fresh, request_bytes("POST", LABELS.format(ADA), auth(), body, framing))
    _is_problem(answer, 413)
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_of_exactly_the_limit_is_taken_in_every_framing(fresh, framing):
    body = _padded(["beta"], MAX_BODY_BYTES)
    answer = exchange(fresh, request_bytes("POST", LABELS.format(ADA), auth(), body, framing))
    assert answer.status == 200, answer
    assert labels_of(fresh, ADA) == ["beta", "newsletter", "vip"]


@pytest.mark.fast
def test_the_app_reads_a_body_the_server_bounded_as_it_is_and_any_other_through_the_limit():
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore()})
    over = b"x" * (MAX_BODY_BYTES + 1)
    # Under this project's server the body is whole and bounded already: read as it is.
    with app.test_request_context(method="POST", data=over, environ_overrides={BODY_BOUNDED: True}):
        assert request.max_content_length is None and request.get_data() == over
    # Under any other server (here werkzeug's test client), MAX_CONTENT_LENGTH holds.
    with app.test_request_context(method="POST", data=over):
        assert request.max_content_length == MAX_BODY_BYTES
        with pytest.raises(RequestEntityTooLarge):
            request.get_data()


def test_a_small_content_length_beside_chunked_framing_does_not_lift_the_limit(fresh):
    # Both headers: the chunks frame the body (RFC 9112), so the chunks must be bounded.
    body = _padded(["beta"], MAX_BODY_BYTES + 1)
    raw = request_bytes("POST", LABELS.format(ADA), [*auth(), ("Content-Length", "20")], body, "chunked")
    with connect(fresh, timeout=3) as sock:
        sock.sendall(raw[: -len(b"0\r\n\r\n")])  # and more would follow: refused at the limit, not at the end
        _is_problem(read_answer(sock), 413)
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


def test_a_cut_and_padded_chunked_body_is_refused_not_run(fresh):
    # 64 KiB of a valid body, then garbage: once cut at the limit and run.
    body = _padded(["beta"], 65_536) + b"x" * 16_000
    answer = exchange(fresh, request_bytes("DELETE", LABELS.format(BOB), auth(), body, "chunked"))
    _is_problem(answer, 413)
    assert labels_of(fresh, BOB) == ["beta"]


def test_a_body_with_neither_length_nor_chunks_is_not_taken(fresh):
    # With neither header a request has no body: the bytes after it are no
    # request, and the server refuses them; nothing is attached.
    raw = request_bytes("POST", LABELS.format(ADA), auth(), framing="none") + _padded(["beta"], MAX_BODY_BYTES + 10)
    with connect(fresh) as sock:
        sock.sendall(raw)
        first = read_answer(sock)
        second = read_answer(sock)
    _is_problem(first, 400)  # an empty body: not a JSON document
    assert second is None or second.status == 400
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_cut_short_by_a_client_that_leaves_runs_nothing(fresh, framing):
    with connect(fresh) as sock:
        sock.sendall(_attach_beta(framing)[: -len(BETA) if framing == "length" else -12])
    time.sleep(0.3)
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_cut_short_by_a_half_closed_client_is_a_400(fresh, framing):
    with connect(fresh) as sock:
        sock.sendall(_attach_beta(framing)[:-5])
        sock.shutdown(1)  # no more to send; still reading
        answer = read_answer(sock)
    _is_problem(answer, 400)
    assert answer.headers["connection"] == "close"
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


def test_chunked_trailers_are_refused(fresh):
    head = request_bytes("POST", LABELS.format(ADA), auth(), framing="chunked")[: -len(b"0\r\n\r\n")]
    raw = head + chunked(BETA)[: -len(b"\r\n")] + b"X-Trailer: 1\r\n\r\n"
    _is_problem(exchange(fresh, raw), 400)
    assert labels_of(fresh, ADA) == ["newsletter", "vip"]


def test_expect_continue_over_the_limit_is_refused_before_the_body(fresh):
    headers = [*auth(), ("Expect", "100-continue"), ("Content-Length", str(MAX_BODY_BYTES + 1))]
    raw = request_bytes("POST", LABELS.format(ADA), headers, framing="none")
    _is_problem(exchange(fresh, raw), 413)  # answered without the body ever sent


def test_a_body_in_many_small_chunks_is_taken_whole(fresh):
    body = b'{"labels": ["beta", "churn-risk"]}'
    raw = request_bytes("POST", LABELS.format(ADA), auth(), framing="chunked")[: -len(b"0\r\n\r\n")]
    answer = exchange(fresh, raw + chunked(body, size=1))
    assert answer.status == 200, answer
    assert labels_of(fresh, ADA) == ["beta", "churn-risk", "newsletter", "vip"]


# -- what the server answers before the app ---------------------------------------------


def test_long_urls_and_many_headers_up_to_the_documented_sizes_are_served(port):
    url = "/labels/labels?limit=2&pad=" + "a" * (8 * 1024 - 30)
    headers = [*auth("reader")] + [(f"X-Extra-{i}", "v" * 900) for i in range(16)]  # 16 KiB in all
    answer = exchange(port, request_bytes("GET", url, headers, framing="none"))
    assert answer.status == 200, answer


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 200_000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400),
        (b"POST /labels/labels HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
    ids=["long-url", "huge-header", "many-headers", "malformed-header", "bad-length", "garbage"],
)
def test_what_the_server_refuses_itself_is_documented(port, raw, status):
    answer = exchange(port, raw)
    assert answer.status == status and answer.body == b""  # the server's own answer: no body
    assert answer.headers["connection"] == "close"
    _, document = call(port, "GET", "/openapi.json")
    for path in document["paths"].values():
        for operation in path.values():
            assert str(status) in operation["responses"], operation["operationId"]


def test_headers_spelt_with_underscores_are_dropped(fresh):
    # X_Request_ID would otherwise pose as X-Request-ID (both are HTTP_X_REQUEST_ID).
    raw = request_bytes("GET", "/healthz", [("X_Request_ID", "forged")], framing="none")
    assert exchange(fresh, raw).headers["x-request-id"] != "forged"
    raw = request_bytes("GET", "/healthz", [("X-Request-ID", "kept")], framing="none")
    assert exchange(fresh, raw).headers["x-request-id"] == "kept"


def test_a_mock_delay_holds_no_thread(fresh):
    # Without Redis requests run on the event loop: a delayed one must not stop the others.
    delayed = []
    started = time.monotonic()
    slow = threading.Thread(
        target=lambda: delayed.append(
            call(fresh, "GET", LABELS.format(ADA), token=TOKENS["reader"], headers={"Prefer": "delay=1500"})[0]
        )
    )
    slow.start()
    time.sleep(0.2)
    status, seconds = timed_get(fresh, "/healthz")
    assert status == 200 and seconds < 0.5, seconds
    slow.join()
    assert delayed == [200] and time.monotonic() - started >= 1.5


# -- logs, crashes and stopping ---------------------------------------------------------


def healthy(port):
    try:
        return call(port, "GET", "/healthz")[0] == 200
    except OSError:  # refused: not listening (yet)
        return False


def test_every_line_the_server_writes_is_json_on_stdout_crashes_included(redis_url):
    process, port = serve(redis_url, API_TOKENS, WEB_CONCURRENCY="2")
    try:
        until(lambda: len(children(process.pid)) == 2, "booted two workers")
        worker = children(process.pid)[0]
        os.kill(worker, signal.SIGKILL)
        until(lambda: worker not in children(process.pid) and len(children(process.pid)) == 2, "replaced the worker")
        # Each process listens on a socket of its own (SO_REUSEPORT): the one killed may
        # have been the only one listening yet, and its replacement may not listen yet.
        until(lambda: healthy(port), "served again")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=25) == 0
    finally:
        if process.poll() is None:  # failed above: stopped first, or reading its output would wait for ever
            stop(process)
        out, err = process.stdout.read(), process.stderr.read()
    assert err == ""
    lines = [json.loads(line) for line in out.splitlines()]  # every line JSON
    for line in lines:
        assert {"time", "level", "message"} <= line.keys(), line
    messages = [line["message"] for line in lines]
    for expected in ("Starting granian", "Spawning worker-1", "Unexpected exit from worker", "Shutting down"):
        assert any(message.startswith(expected) for message in messages), (expected, messages)
    assert any(line["level"] == "ERROR" and "Unexpected exit" in line["message"] for line in lines)


@pytest.mark.parametrize(
    ("path", "status", "requests"),
    [("/healthz", 200, 100), ("/" + "p" * 6000, 404, 25)],
    ids=["short-lines", "lines-over-PIPE_BUF"],
)
def test_every_request_line_of_every_process_comes_out_whole_and_none_is_lost_at_sigterm(
    redis_url, path, status, requests
):
    # Three processes share one stdout pipe and write their lines in batches: no
    # batch may cut another process's line, and none may be lost when they stop.
    # A line longer than PIPE_BUF (a long URL's) is no atomic write: the kernel may
    # split it when the pipe is full, so the processes take turns at the pipe.
    process, port = serve(redis_url, API_TOKENS, WEB_CONCURRENCY="3")
    sent, out = [], []

    def read_slowly():
        # A slow log reader: the pipe fills while it sleeps, and the processes' writes
        # wait on it half done, which is when two writes could mix. It takes a page at a
        # time, so that a long write waiting for room gets it a page at a time too.
        while chunk := os.read(process.stdout.fileno(), 4096):
            out.append(chunk)
            time.sleep(0.005)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    try:
        until(lambda: len(children(process.pid)) == 3, "booted three workers")

        def client(number):
            for n in range(requests):
                request_id = f"{number}-{n}-" + "x" * 120  # long lines fill batches sooner
                answered, _ = call(port, "GET", path, headers={"X-Request-ID": request_id})
                assert answered == status
                sent.append(request_id)

        clients = [threading.Thread(target=client, args=(number,)) for number in range(6)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(60)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # to every process of the group, as platforms send it
        try:
            exit_code = process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            stop(process)  # not otherwise: it reads stdout, which is the reader's
            raise
        reader.join(10)
    assert exit_code == 0
    lines = [json.loads(line) for line in b"".join(out).decode().splitlines()]  # every line JSON
    logged = [line["requestId"] for line in lines if line.get("logger") == "customer_labels.access"]
    assert len(sent) == 6 * requests
    assert sorted(logged) == sorted(sent)
    assert all(line["path"] == path for line in lines if line.get("logger") == "customer_labels.access")


def test_the_local_mock_runs_on_the_same_server():
    port = free_port()
    process = start(f"{sys.executable} app.py", PORT=str(port))
    try:
        wait_until_up(process, port)
        answer = exchange(port, request_bytes("GET", "/healthz", framing="none"))
        assert answer.headers.get("server") == "granian"
    finally:
        output = stop(process)
    assert "Starting granian" in output


def _threads_of_workers(redis_url, **settings):
    process, _ = serve(redis_url, API_TOKENS, **settings)
    try:
        until(lambda: len(children(process.pid)) == int(settings["WEB_CONCURRENCY"]), "booted its workers")
        time.sleep(0.5)
        return [len(os.listdir(f"/proc/{worker}/task")) for worker in children(process.pid)]
    finally:
        stop(process)


def test_web_concurrency_and_web_threads_still_apply(redis_url):
    two = _threads_of_workers(redis_url, WEB_CONCURRENCY="3", WEB_THREADS="2")
    six = _threads_of_workers(redis_url, WEB_CONCURRENCY="2", WEB_THREADS="6")
    assert len(two) == 3 and len(six) == 2
    assert len(set(two)) == 1 and len(set(six)) == 1
    assert six[0] - two[0] == 4  # the request threads, and nothing else, differ
