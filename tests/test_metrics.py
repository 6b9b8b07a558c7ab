"""GET /metrics: what it counts, who may read it, and that a server of several
processes counts in all of them."""

import json
import os
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from customer_labels import metrics
from customer_labels.server import BODY_PROBLEM
from customer_labels.service import create_app
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS, auth, tracking
from .processes import call, start, stop, wait_until_up, web_command
from .redis_server import free_port

LABELS = "/customers/customers/{customerId}/labels"
METRICS_TOKEN = "metrics-token-0123456789"


def samples(text):
    """{(name, frozenset(labels)): value} of a /metrics answer."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_counted(found, route, method, status):
    key = ("customer_labels_requests_total", frozenset({"route": route, "method": method, "status": status}.items()))
    return found.get(key, 0)


@pytest.fixture
def app():
    return create_app({"API_TOKENS": API_TOKENS, "METRICS_TOKEN": METRICS_TOKEN, "STORE": MemoryStore()})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def scrape(client, token=METRICS_TOKEN):
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


@pytest.mark.fast
def test_requests_are_counted_by_route_template_method_and_status(app):
    client = app.test_client()
    customer = app.extensions["customer_labels.store"].default.create_customer({"name": "C"})["id"]
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/customers/customers/{customer}/labels", headers=auth("reader")).status_code == 200
    assert client.get(f"/customers/customers/{customer}/labels").status_code == 401
    assert client.post(f"/customers/customers/{customer}/labels", json={}, headers=auth("editor")).status_code == 422
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)
    for method, status, more in (("GET", "200", 3), ("GET", "401", 1), ("POST", "422", 1)):
        assert (
            requests_counted(after, LABELS, method, status) - requests_counted(before, LABELS, method, status) == more
        )
    assert (
        requests_counted(after, "(no route)", "GET", "404") - requests_counted(before, "(no route)", "GET", "404") == 1
    )
    latency = ("customer_labels_request_seconds_count", frozenset({"route": LABELS}.items()))
    assert after[latency] - before.get(latency, 0) == 5
    # A body the server refused is answered before any view, and still counted by its route.
    refused = {BODY_PROBLEM: (413, "too large")}
    assert client.post(f"/customers/customers/{customer}/labels", environ_overrides=refused).status_code == 413
    assert requests_counted(scrape(client), LABELS, "POST", "413") - requests_counted(after, LABELS, "POST", "413") == 1
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in after.items()
        if name == "customer_labels_request_seconds_bucket" and dict(labels)["route"] == LABELS
    )
    assert [value for _, value in buckets] == sorted(value for _, value in buckets)  # cumulative
    assert buckets[-1] == (float("inf"), after[latency])
    # One process: its own process metrics are there too.
    assert any(name == "process_cpu_seconds_total" for name, _ in after)


@pytest.mark.fast
def test_only_the_admin_or_the_metrics_token_reads_them(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").mimetype == "application/problem+json"
    for role in ("reader", "editor"):
        assert client.get("/metrics", headers=auth(role)).status_code == 403
    assert client.get("/metrics", headers=auth("admin")).status_code == 200
    assert client.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200
    # The scraper's token reads nothing else.
    assert client.get("/labels/labels", headers=bearer(METRICS_TOKEN)).status_code == 403


def test_store_calls_and_those_that_gave_up_are_counted(redis_url):
    app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": redis_url, "METRICS_TOKEN": METRICS_TOKEN})
    client = app.test_client()
    before = scrape(client)
    assert client.get("/labels/labels", headers=auth("reader")).status_code == 200
    after = scrape(client)
    calls = ("customer_labels_store_seconds_count", frozenset())
    assert after[calls] - before[calls] >= 1
    down = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert down.test_client().get("/labels/labels", headers=auth("reader")).status_code == 503
    gave_up = ("customer_labels_store_unavailable_total", frozenset())
    assert scrape(client)[gave_up] - after.get(gave_up, 0) >= 1


def per_process(directory):
    """Each process's answered GET /labels/labels, from the counts it last wrote."""
    counts = {}
    for path in directory.glob("tally-*.json"):
        tally = json.loads(path.read_text())
        counts[path.name] = sum(n for route, method, status, n in tally["requests"] if route == "/labels/labels")
    return counts


def test_two_server_processes_count_together(redis_url, tmp_path):
    """The Procfile's web line with two processes: /metrics counts the requests that
    either served, each exactly once."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    port = free_port()
    env = {"PORT": str(port), "REDIS_URL": redis_url, "API_TOKENS": API_TOKENS, "WEB_CONCURRENCY": "2"}
    process = start(web_command(), METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(shared), **env)
    try:
        wait_until_up(process, port)
        # A new connection each: the processes share them out, though under load the
        # kernel may hand one process a run of them. Batches go until both have answered.
        sent = 0
        while sent < 600:
            for _ in range(30):
                assert call(port, "GET", "/labels/labels", token=TOKENS["reader"])[0] == 200
            sent += 30
            # Each process writes its counts about once a second.
            deadline = time.monotonic() + 5
            while sum(per_process(shared).values()) < sent and time.monotonic() < deadline:
                time.sleep(0.1)
            if len([count for count in per_process(shared).values() if count]) == 2:
                break
        # Within a few seconds, /metrics has every process's counts.
        deadline, found = time.monotonic() + 10, {}
        while requests_counted(found, "/labels/labels", "GET", "200") < sent and time.monotonic() < deadline:
            time.sleep(0.2)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=bearer(METRICS_TOKEN))
            with urllib.request.urlopen(request, timeout=5) as answer:
                found = samples(answer.read().decode())
    finally:
        stop(process)
    assert requests_counted(found, "/labels/labels", "GET", "200") == sent
    served = [count for count in per_process(shared).values() if count]
    assert len(served) == 2 and sum(served) == sent  # both processes answered some


@pytest.mark.fast
def test_a_server_of_several_processes_counts_in_a_fresh_directory(monkeypatch):
    # Unset as far as the code is concerned, and put back as it was after the test
    # (delenv of a variable that is absent would not undo the one the code sets).
    monkeypatch.setenv(metrics.SHARED, "")
    metrics.share_across_processes(5000)
    directory = os.environ[metrics.SHARED]
    assert os.path.isdir(directory) and not os.listdir(directory)
    assert os.path.basename(directory).startswith("customer-labels-metrics-5000-")  # named for its port
    monkeypatch.setenv(metrics.SHARED, "/somewhere/given")
    metrics.share_across_processes(5000)  # one given is kept
    assert os.environ[metrics.SHARED] == "/somewhere/given"


def test_gets_answered_from_copies_and_from_redis_are_counted(redis_url, real_redis):
    app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": redis_url, "METRICS_TOKEN": METRICS_TOKEN})
    client = app.test_client()
    customer = client.post("/customers/customers", json={"name": "Ada"}, headers=auth("admin")).json["id"]
    path = LABELS.replace("{customerId}", customer)
    before = scrape(client)
    for _ in range(3):  # read from Redis, then answered from its copy twice
        assert client.get(path, headers=auth("reader")).status_code == 200
    after = scrape(client)

    def answered(source, found):
        return found.get(("customer_labels_copies_answers_total", frozenset({"source": source}.items())), 0)

    assert answered("redis", after) - answered("redis", before) == 1
    assert answered("copy", after) - answered("copy", before) == 2
    dropped = ("customer_labels_copies_dropped_total", frozenset())
    for client_id in tracking(real_redis):
        real_redis.client_kill_filter(_id=client_id)
    assert client.get(path, headers=auth("reader")).status_code == 200  # finds the connection lost
    assert scrape(client)[dropped] - after[dropped] >= 1
