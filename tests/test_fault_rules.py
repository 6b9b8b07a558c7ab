"""The mock's fault rules (/__admin/faults), on every store; dropped connections and
several processes against the real server."""

import concurrent.futures
import http.client
import json
import time

import pytest

from customer_labels.mock.faults import DroppedConnection

from .conftest import API_TOKENS, EXAMPLE, TOKENS, auth
from .processes import call, start, stop, wait_until_up
from .redis_server import free_port

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
ADA_LABELS = f"/customers/customers/{ADA}/labels"
TEMPLATE = "/customers/customers/{customerId}/labels"


def add(client, **rule):
    response = client.post("/__admin/faults", json=rule, headers=auth("admin"))
    assert response.status_code == 201, response.json
    return response.json


def labels(client):
    return [label["id"] for label in client.get(ADA_LABELS, headers=auth("reader")).json["data"]]


def attach(client, *label_ids, **headers):
    return client.post(ADA_LABELS, json={"labels": list(label_ids)}, headers={**auth("editor"), **headers})


def test_a_status_rule_changes_nothing(mock_client):
    add(mock_client, method="POST", path=TEMPLATE, status=503)
    assert attach(mock_client, "beta").status_code == 503
    assert labels(mock_client) == ["newsletter", "vip"]  # the seed's: beta was not attached


@pytest.mark.fast
@pytest.mark.parametrize(
    "status, header",
    [(503, "Retry-After"), (401, "WWW-Authenticate"), (429, "Retry-After"), (502, None), (422, None)],
)
def test_a_status_rule_answers_a_problem_like_the_real_one(memory_mock_client, status, header):
    mock_client = memory_mock_client
    add(mock_client, method="POST", path=TEMPLATE, status=status)
    response = attach(mock_client, "beta")
    assert response.status_code == status and response.content_type == "application/problem+json"
    assert response.json["status"] == status and response.json["detail"]
    if header:
        assert response.headers[header]
    if status == 422:
        assert response.json["errors"] == [{"path": "", "message": "forced by a fault rule"}]


def test_a_rule_applies_exactly_times_times_then_the_real_answers_come(mock_client):
    rule = add(mock_client, path="/labels/labels/{labelId}", status=503, times=2)
    assert (rule["remaining"], rule["used"], rule["times"]) == (2, 0, 2)
    statuses = [mock_client.get("/labels/labels/vip", headers=auth("reader")).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    (listed,) = mock_client.get("/__admin/faults", headers=auth("admin")).json["data"]
    assert (listed["id"], listed["remaining"], listed["used"]) == (rule["id"], 0, 2)


def test_only_matching_requests_are_faulted(mock_client):
    add(mock_client, method="DELETE", path=TEMPLATE, status=500)
    add(mock_client, path=f"/customers/customers/{ADA}", status=404)  # a literal path
    assert attach(mock_client, "beta").status_code == 200  # another method
    assert mock_client.get("/labels/labels", headers=auth("reader")).status_code == 200  # another path
    assert mock_client.get(f"/customers/customers/{ADA}", headers=auth("reader")).status_code == 404
    other = "/customers/customers/9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d/labels"
    response = mock_client.delete(other, json={"labels": ["vip"]}, headers=auth("editor"))
    assert response.status_code == 500
    response = mock_client.delete(f"/__ns/elsewhere{ADA_LABELS}", json={"labels": ["vip"]}, headers=auth("editor"))
    assert response.status_code == 200  # another namespace has no rules


def test_the_oldest_matching_rule_applies_first(mock_client):
    add(mock_client, path="/labels/labels", status=502, times=1)
    add(mock_client, status=504, times=1)
    statuses = [mock_client.get("/labels/labels", headers=auth("reader")).status_code for _ in range(3)]
    assert statuses == [502, 504, 200]


def test_a_delay_alone_holds_back_the_real_answer(mock_client):
    add(mock_client, method="POST", delayMs=300, times=1)
    started = time.monotonic()
    response = attach(mock_client, "beta")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and labels(mock_client) == ["beta", "newsletter", "vip"]


def test_a_malformed_answer_has_the_operations_status_and_is_not_json(mock_client):
    add(mock_client, method="POST", path="/labels/labels", malformed=True, times=1)
    response = mock_client.post("/labels/labels", json={"id": "gold", "name": "Gold"}, headers=auth("admin"))
    assert response.status_code == 201 and response.content_type == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.data)
    assert mock_client.get("/labels/labels/gold", headers=auth("reader")).status_code == 404  # not made
    add(mock_client, method="GET", malformed=True, status=503, times=1)
    response = mock_client.get("/labels/labels", headers=auth("reader"))
    assert response.status_code == 503 and response.content_type == "application/problem+json"
    with pytest.raises(ValueError):
        json.loads(response.data)


def test_a_drop_cuts_the_answer_off_and_changes_nothing(mock_client):
    add(mock_client, method="POST", path=TEMPLATE, drop=True, times=1)
    with pytest.raises(DroppedConnection):  # Flask's test client: the answer's body breaks off
        attach(mock_client, "beta").get_data()
    assert labels(mock_client) == ["newsletter", "vip"]
    entry = mock_client.get("/__admin/requests?method=POST", headers=auth("admin")).json["data"][0]
    assert entry["status"] is None and entry["fault"]["drop"] is True


def test_a_rule_wins_over_prefer_which_works_otherwise(mock_client):
    add(mock_client, path="/labels/labels", status=502, times=1)
    assert mock_client.get("/labels/labels", headers={**auth("reader"), "Prefer": "code=404"}).status_code == 502
    assert mock_client.get("/labels/labels", headers={**auth("reader"), "Prefer": "code=404"}).status_code == 404


def test_a_faulted_request_is_journaled_with_its_rule(mock_client):
    rule = add(mock_client, method="post", path=TEMPLATE, status=503, times=1)
    attach(mock_client, "beta")
    attach(mock_client, "beta")
    first, second = mock_client.get("/__admin/requests", headers=auth("admin")).json["data"][::-1]
    assert first["fault"] == {k: v for k, v in rule.items() if k not in ("remaining", "used")}
    assert first["fault"]["method"] == "POST" and first["status"] == 503
    assert second["fault"] is None and second["status"] == 200


def test_faults_never_touch_the_mocks_own_endpoints(mock_client):
    add(mock_client, status=500)  # every API request
    assert mock_client.get("/labels/labels", headers=auth("reader")).status_code == 500
    assert mock_client.get("/__admin/snapshot", headers=auth("admin")).status_code == 200
    assert mock_client.get("/healthz").status_code == 200
    assert mock_client.get("/openapi.json").status_code == 200


def test_clearing_and_reset_remove_the_rules(mock_client):
    add(mock_client, status=500)
    assert mock_client.delete("/__admin/faults", headers=auth("admin")).status_code == 204
    assert mock_client.get("/labels/labels", headers=auth("reader")).status_code == 200
    add(mock_client, status=500)
    assert mock_client.post("/__admin/reset", headers=auth("admin")).status_code == 204
    assert mock_client.get("/__admin/faults", headers=auth("admin")).json == {"data": []}
    assert mock_client.get("/labels/labels", headers=auth("reader")).status_code == 200


@pytest.mark.fast
@pytest.mark.parametrize(
    "rule, paths",
    [
        ({}, [""]),
        ({"path": "/labels/labels"}, [""]),
        ({"delayMs": 0}, [""]),
        ({"drop": True, "status": 503}, ["/drop"]),
        ({"drop": True, "malformed": True}, ["/drop"]),
        ({"status": 418}, ["/status"]),
        ({"status": 200}, ["/status"]),
        ({"delayMs": 60001}, ["/delayMs"]),
        ({"times": 0, "status": 503}, ["/times"]),
        ({"path": "labels", "status": 503}, ["/path"]),
        ({"method": "GET POST", "status": 503}, ["/method"]),
        ({"status": 503, "when": "always"}, [""]),
    ],
)
def test_a_bad_rule_is_a_422_naming_what_is_wrong_and_adds_nothing(memory_mock_client, rule, paths):
    mock_client = memory_mock_client
    response = mock_client.post("/__admin/faults", json=rule, headers=auth("admin"))
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert sorted({e["path"] for e in response.json["errors"]}) == paths
    assert mock_client.get("/__admin/faults", headers=auth("admin")).json == {"data": []}


def test_threads_use_a_rule_exactly_times_times(mock_app):
    """16 threads, 5 requests each, against a rule for 13: 13 faulted, whatever the store."""
    client = mock_app.test_client()
    add(client, path="/labels/labels", status=503, times=13)

    def work(_):
        own = mock_app.test_client()
        return [own.get("/labels/labels", headers=auth("reader")).status_code for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = [status for batch in pool.map(work, range(16)) for status in batch]
    assert statuses.count(503) == 13 and statuses.count(200) == 67
    (rule,) = client.get("/__admin/faults", headers=auth("admin")).json["data"]
    assert (rule["remaining"], rule["used"]) == (0, 13)


@pytest.mark.fast
def test_a_namespace_holds_at_most_100_rules(memory_mock_client):
    for n in range(100):
        add(memory_mock_client, path=f"/labels/labels/l{n}", status=503)
    response = memory_mock_client.post("/__admin/faults", json={"status": 500}, headers=auth("admin"))
    assert response.status_code == 422 and "100" in response.json["detail"]
    assert len(memory_mock_client.get("/__admin/faults", headers=auth("admin")).json["data"]) == 100
    memory_mock_client.delete("/__admin/faults", headers=auth("admin"))
    add(memory_mock_client, status=500)


@pytest.mark.fast
@pytest.mark.parametrize("method, path", [("post", "/__admin/faults"), ("get", "/__admin/faults")])
def test_fault_rules_need_the_admin_role(memory_mock_client, method, path):
    assert memory_mock_client.open(path, method=method, json={"status": 500}, headers=auth("editor")).status_code == 403


# -- against the real server ----------------------------------------------------------


def _server(**settings):
    port = free_port()
    env = {"API_TOKENS": API_TOKENS, "MOCK_MODE": "1", "SEED_FILE": EXAMPLE, "WEB_CONCURRENCY": "1", **settings}
    process = start("python -m customer_labels.server", PORT=str(port), **env)
    wait_until_up(process, port)
    return process, port


def test_a_drop_is_a_broken_connection_on_the_server_and_the_next_request_is_served():
    process, port = _server()
    try:
        status, _ = call(port, "POST", "/__admin/faults", {"method": "GET", "drop": True, "times": 1}, TOKENS["admin"])
        assert status == 201
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", ADA_LABELS, headers=auth("reader"))
        response = connection.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            response.read()
        connection.close()
        status, body = call(port, "GET", ADA_LABELS, token=TOKENS["reader"])
        assert status == 200 and [label["id"] for label in body["data"]] == ["newsletter", "vip"]
    finally:
        stop(process)


def test_a_rule_for_n_requests_applies_to_exactly_n_across_processes(redis_url):
    """Two servers on one Redis, 40 requests at once over both: a rule for 7 faults 7."""
    servers = [_server(REDIS_URL=redis_url, WEB_THREADS="8") for _ in range(2)]
    ports = [port for _, port in servers]
    try:
        rule = {"path": "/labels/labels", "status": 503, "times": 7}
        assert call(ports[0], "POST", "/__admin/faults", rule, TOKENS["admin"])[0] == 201
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            jobs = [pool.submit(call, ports[n % 2], "GET", "/labels/labels", None, TOKENS["reader"]) for n in range(40)]
            statuses = [job.result()[0] for job in jobs]
        assert statuses.count(503) == 7 and statuses.count(200) == 33
        # One journal for both: every request, the faulted ones marked.
        status, page = call(ports[1], "GET", "/__admin/requests?limit=200", token=TOKENS["admin"])
        assert status == 200 and len(page["data"]) == 40
        assert sum(entry["fault"] is not None for entry in page["data"]) == 7
    finally:
        for process, _ in servers:
            stop(process)
