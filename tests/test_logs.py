"""One JSON log line per request, request ids, and the headers every answer carries."""

import io
import json
import logging

import pytest

from customer_labels import logs
from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS, auth


@pytest.fixture
def log_lines():
    """Everything logged while the test runs, as parsed JSON lines."""
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    saved = root.handlers[:], root.level, werkzeug.level
    stream = io.StringIO()
    logs.configure("INFO", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], level, werkzeug_level = saved
    root.setLevel(level)
    werkzeug.setLevel(werkzeug_level)


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
    assert stream.getvalue() == ""


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
