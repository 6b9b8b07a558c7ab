"""Error reports (SENTRY_DSN): what reaches a Sentry endpoint, and what never does.

The endpoint is a local HTTP server that keeps the envelopes the SDK posts."""

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS, auth
from .processes import ROOT


class FakeSentry(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeSentry.received.append(body.decode())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry():
    """A DSN of a local endpoint; the SDK is switched off again after the test."""
    server = HTTPServer(("127.0.0.1", 0), FakeSentry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeSentry.received = []
    yield f"http://public-key@127.0.0.1:{server.server_port}/42"
    import sentry_sdk

    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: nothing is sent any more
    server.shutdown()


def events():
    """The envelopes that carry an event (the SDK also sends session counts)."""
    return [envelope for envelope in FakeSentry.received if '"type":"event"' in envelope]


class Broken(MemoryStore):
    def labels_json(self, *args):
        raise RuntimeError("a bug in the store")


def test_an_unexpected_error_is_reported_with_its_request_id_and_nothing_personal(sentry):
    import sentry_sdk

    store = Broken()
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": store, "SENTRY_DSN": sentry})
    client = app.test_client()
    customer = store.create_customer({"name": "Ada Lovelace", "email": "ada@example.com"})["id"]
    body = {"labels": ["vip-secret-label"]}
    headers = {**auth("editor"), "X-Request-ID": "req-12345", "Cookie": "session=cookie-value-1"}
    response = client.post(f"/customers/customers/{customer}/labels?trace=query-value-1", json=body, headers=headers)
    assert response.status_code == 500 and response.json["detail"] == "The service met an unexpected error."
    sentry_sdk.flush(timeout=5)
    (envelope,) = events()
    event = json.loads(envelope.splitlines()[2])  # envelope header, item header, the event
    assert event["tags"]["request_id"] == "req-12345"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["request"]["method"] == "POST" and customer in event["request"]["url"]
    for secret in (*TOKENS.values(), "vip-secret-label", "Ada Lovelace", "ada@example.com", "cookie-value-1"):
        assert secret not in envelope, secret
    assert "query-value-1" not in envelope
    assert not any("vars" in frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"])


def test_answers_the_service_gives_on_purpose_are_not_reported(sentry):
    import sentry_sdk

    client = create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore(), "SENTRY_DSN": sentry}).test_client()
    assert client.get("/customers/customers/nope/labels", headers=auth("reader")).status_code in (400, 404)
    assert client.get("/labels/labels", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    sentry_sdk.flush(timeout=5)
    assert events() == []


@pytest.mark.fast
def test_without_a_dsn_sentry_sdk_is_never_imported():
    code = (
        "import sys; from customer_labels.service import create_app; "
        f"create_app({{'API_TOKENS': {API_TOKENS!r}}}).test_client().get('/healthz'); "
        "print('sentry_sdk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.fast
@pytest.mark.parametrize(
    "dsn", ["not a url", "https://sentry.example/42", "ftp://key@sentry.example/42", "https://key@h/"]
)
def test_a_malformed_dsn_stops_the_start(dsn, monkeypatch):
    monkeypatch.setenv("SENTRY_DSN", dsn)
    with pytest.raises(ConfigError, match="SENTRY_DSN: is not a DSN"):
        create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore()})
