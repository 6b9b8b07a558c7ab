"""One JSON log line per request, request ids, and the headers every answer carries."""

import io
import json
import logging
import multiprocessing
import select
import threading
import time

import pytest

from customer_labels import logs
from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS, auth
from .test_production import until


@pytest.fixture
def log_lines():
    """Everything logged while the test runs, as parsed JSON lines."""
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    saved = root.handlers[:], root.level, werkzeug.level
    stream = io.StringIO()
    logs.configure("INFO", stream)
    yield lambda: [json.loads(line) for line in _written(stream).splitlines()]
    root.handlers[:], level, werkzeug_level = saved
    root.setLevel(level)
    werkzeug.setLevel(werkzeug_level)


def _written(stream):
    """What ``stream`` holds once every waiting line is written (they go out in batches)."""
    logs.flush()
    return stream.getvalue()


def test_configure_leaves_request_lines_to_us_not_werkzeug(log_lines):
    # The dev server's own per-request lines would repeat ours, in another format.
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.NOTSET)
    logs.configure("INFO", io.StringIO())
    assert werkzeug.level == logging.WARNING


def access_lines(lines):
    return [line for line in lines if line["logger"] == "customer_labels.access"]


def test_one_json_line_per_request(client, log_lines):
    client.get("/labels/labels", headers=auth("reader"))
    client.post("/labels/labels", json={"name": "x"}, headers=auth("editor"))
    client.get("/labels/labels")
    reader, editor, anonymous = access_lines(log_lines())
    assert set(reader) >= {"time", "level", "message", "method", "path", "status", "durationMs", "requestId", "role"}
    assert reader["time"].endswith("+00:00") or reader["time"].endswith("Z")
    assert (reader["method"], reader["path"], reader["status"], reader["role"]) == (
        "GET",
        "/labels/labels",
        200,
        "reader",
    )
    assert isinstance(reader["durationMs"], (int, float)) and reader["durationMs"] >= 0
    assert (editor["status"], editor["role"]) == (403, "editor")
    assert (anonymous["status"], anonymous["role"]) == (401, None)


def test_a_path_of_any_characters_is_one_valid_json_string(client, log_lines):
    # Quotes, backslashes, control characters and text past ASCII (as PEP 3333 hands it
    # over: its UTF-8 bytes read as latin-1) cannot end the string or break the line.
    path = '/no/"such"\\path\x01/\u00e9t\u00e9'
    client.get(path, headers=auth("reader"))
    (line,) = access_lines(log_lines())
    assert (line["path"], line["status"]) == (path.encode().decode("latin-1"), 404)


def test_tokens_never_reach_the_log(client, log_lines):
    for token in TOKENS.values():
        client.get("/labels/labels?limit=1", headers={"Authorization": f"Bearer {token}"})
    client.get("/labels/labels", headers={"Authorization": "Bearer a-wrong-but-secret-token"})
    text = json.dumps(log_lines())
    assert len(access_lines(log_lines())) == 4
    for secret in [*TOKENS.values(), "a-wrong-but-secret-token"]:
        assert secret not in text


@pytest.mark.parametrize(
    "incoming, kept",
    [
        ("abc-123", True),
        ("3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b", True),
        ("req_01H:x/y+z=", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ('quote"', False),
        ("new\\nline", False),
        ("", False),
        (None, False),
    ],
)
def test_request_id_round_trip(client, log_lines, incoming, kept):
    headers = auth("reader")
    if incoming is not None:
        headers["X-Request-ID"] = incoming
    response = client.get("/labels/labels", headers=headers)
    echoed = response.headers["X-Request-ID"]
    if kept:
        assert echoed == incoming
    else:
        assert echoed != incoming and len(echoed) == 32 and int(echoed, 16) >= 0
    assert access_lines(log_lines())[-1]["requestId"] == echoed


def test_made_request_ids_differ(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_log_level_warning_drops_request_lines(store):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        app = create_app({"API_TOKENS": API_TOKENS, "STORE": store, "LOG_LEVEL": "WARNING"})
        logs.configure(app.config["LOG_LEVEL"], stream)
        app.test_client().get("/labels/labels", headers=auth("reader"))
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert _written(stream) == ""


@pytest.mark.parametrize("raw", ["info ", "debug", "Warning"])
def test_log_level_from_environment(monkeypatch, raw):
    monkeypatch.setenv("LOG_LEVEL", raw)
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore()})
    assert app.config["LOG_LEVEL"] == raw.strip().upper()


def test_bad_log_level_stops_the_app(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="^LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO"):
        create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore()})


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/labels/labels", 200),
        ("GET", "/labels/labels/nope", 404),
        ("GET", "/no/such/route", 404),
        ("POST", "/labels/labels", 422),
        ("GET", "/openapi.json", 200),
        ("GET", "/healthz", 200),
    ],
)
def test_every_answer_is_nosniff_and_no_store(client, method, path, status):
    response = client.open(path, method=method, json={}, headers=auth("admin"))
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_401_and_403_carry_them_too(client):
    for response in (client.get("/labels/labels"), client.delete("/labels/labels/x", headers=auth("reader"))):
        assert response.status_code in (401, 403)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_flask_debug_cannot_turn_debug_on(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore(), "DEBUG": True})
    assert app.debug is False


# -- lines written in batches, by a thread of their own --------------------------------


class Recording(io.StringIO):
    """A stream that notes which thread wrote each piece, and can hold writes up."""

    def __init__(self):
        super().__init__()
        self.writers = []
        self.writes = []
        self.open = threading.Event()
        self.open.set()

    def write(self, text):
        self.open.wait(10)
        self.writers.append(threading.current_thread().name)
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def recording():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = Recording()
    logs.configure("INFO", stream)
    yield stream
    stream.open.set()
    root.handlers[:], level = saved
    root.setLevel(level)


def test_a_request_line_is_written_by_the_log_writer_not_the_request_thread(client, recording):
    # A write is a system call; in a request thread it makes the thread wait for
    # Python's lock again afterwards, which cost a tenth of the attaches a second.
    client.get("/healthz")
    until(lambda: recording.getvalue().count("\n") == 1, "the line arrived without a flush", seconds=5)
    assert recording.writers == ["log-writer"]
    assert json.loads(recording.getvalue())["path"] == "/healthz"


def test_lines_keep_their_order_and_a_warning_is_written_at_once_after_them(client, recording):
    log = logging.getLogger("customer_labels.test")
    recording.open.clear()  # the writer is held up in its first write
    client.get("/healthz")
    handler = logging.getLogger().handlers[0]
    until(lambda: not handler._waiting, "the writer took the first line", seconds=5)
    started = time.monotonic()
    log.info("first")
    client.get("/labels/labels", headers=auth("reader"))
    assert time.monotonic() - started < 2  # neither waited for the write held up
    recording.open.set()
    log.warning("second")  # written by this thread, after everything before it
    written = [json.loads(line) for line in recording.getvalue().splitlines()]
    assert [line.get("path") or line["message"] for line in written] == [
        "/healthz",
        "first",
        "/labels/labels",
        "second",
    ]
    assert recording.writers[-1] == threading.current_thread().name


def test_a_writer_held_up_holds_the_lines_back_not_the_memory(monkeypatch, recording):
    monkeypatch.setattr(logs, "MAX_WAITING", 3)
    handler = logging.getLogger().handlers[0]
    recording.open.clear()  # stdout blocked: the writer thread waits in its write
    handler.add("0\n")
    until(lambda: not handler._waiting, "the writer took the first line", seconds=5)
    done = []
    adder = threading.Thread(target=lambda: [handler.add(f"{n}\n") for n in range(1, 6)] and done.append(1))
    adder.start()
    until(lambda: len(handler._waiting) == 3, "three lines waiting", seconds=5)
    time.sleep(0.1)
    assert len(handler._waiting) == 3 and not done  # the third line's thread waits for stdout
    recording.open.set()
    adder.join(5)
    handler.flush()
    assert done and recording.getvalue() == "".join(f"{n}\n" for n in range(6))


def test_lines_go_out_whole_in_writes_no_longer_than_a_pipe_writes_at_once(recording):
    # The server's processes share stdout: a pipe never mixes two writes of up to
    # PIPE_BUF bytes, so a line can never be cut by another process's.
    handler = logging.getLogger().handlers[0]
    recording.open.clear()
    lines = [json.dumps({"n": n, "pad": "x" * (n * 37 % 300)}) + "\n" for n in range(200)]
    for line in lines:
        handler.add(line)
    long_line = json.dumps({"pad": "y" * 6000}) + "\n"
    handler.add(long_line)
    recording.open.set()
    handler.flush()
    writes = recording.writes
    assert "".join(writes) == "".join(lines) + long_line
    assert all(write.endswith("\n") for write in writes)
    assert all(len(write) <= select.PIPE_BUF for write in writes if write != long_line)
    assert len(writes) < 40  # batched: 200 lines in a few dozen writes at most


def test_a_line_logged_while_the_interpreter_ends_is_written_at_once(monkeypatch, recording):
    # At exit (after logging's own flush) Python starts no more threads: a line logged
    # then, by an atexit handler say, is written by its own thread, not dropped or raised.
    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    logging.getLogger("customer_labels.test").info("late")
    assert [json.loads(line)["message"] for line in recording.getvalue().splitlines()] == ["late"]
    assert recording.writers == [threading.current_thread().name]


def _log_in_child(text):
    logging.getLogger("customer_labels.test").info(text)


def test_a_forked_process_writes_its_own_lines_once_and_never_its_parents(tmp_path):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    path = tmp_path / "out.log"
    try:
        with open(path, "w", buffering=1) as out:
            logs.configure("INFO", out)
            logging.getLogger("customer_labels.test").info("parent, before the fork")
            # As the server starts its processes: multiprocessing's fork, whose exit
            # writes what the process still holds.
            child = multiprocessing.get_context("fork").Process(target=_log_in_child, args=("child",))
            child.start()
            child.join(10)
            logging.getLogger("customer_labels.test").info("parent, after")
            logs.flush()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert child.exitcode == 0
    messages = [json.loads(line)["message"] for line in path.read_text().splitlines()]
    assert sorted(messages) == ["child", "parent, after", "parent, before the fork"]
    assert messages[0] == "parent, before the fork"  # written before the fork, so never twice


def _next_id(queue):
    queue.put(f"{logs._random_bits(128):032x}")


def test_forked_processes_make_different_request_ids():
    queue = multiprocessing.get_context("fork").Queue()
    children = [multiprocessing.get_context("fork").Process(target=_next_id, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    ids = {queue.get(timeout=10) for _ in children}
    for child in children:
        child.join(10)
    ids.add(f"{logs._random_bits(128):032x}")
    assert len(ids) == 3
