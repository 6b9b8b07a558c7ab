"""The mock's request journal and contract coverage (/__admin/requests, /__admin/coverage),
on every store."""

import threading

import pytest

from customer_labels.service import create_app

from .conftest import API_TOKENS, EXAMPLE, auth

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
ADA_LABELS = f"/customers/customers/{ADA}/labels"
TEMPLATE = "/customers/customers/{customerId}/labels"


def journal(client, query="", namespace=None):
    headers = {**auth("admin"), **({"X-Mock-Namespace": namespace} if namespace else {})}
    response = client.get(f"/__admin/requests{query}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def entries(client, query="", namespace=None):
    return journal(client, query, namespace)["data"]


def test_an_entry_holds_the_request_and_its_answer_and_no_token(mock_client):
    headers = {**auth("editor"), "X-Request-ID": "req-1", "X-Trace": "t"}
    answer = mock_client.post(f"/__ns/ns-a{ADA_LABELS}?dry=1&x=1&x=2", json={"labels": ["beta"]}, headers=headers)
    assert answer.status_code == 200
    (entry,) = entries(mock_client, namespace="ns-a")
    assert entry["method"] == "POST"
    assert entry["path"] == ADA_LABELS  # without the /__ns/ns-a prefix
    assert entry["query"] == {"dry": "1", "x": ["1", "2"]}
    assert entry["body"] == {"labels": ["beta"]} and entry["bodyText"] is None
    assert entry["status"] == 200 and entry["responseBody"] == answer.json
    assert entry["responseBodyTruncated"] is False
    assert entry["requestId"] == "req-1" == answer.headers["X-Request-ID"]
    assert entry["operation"] == f"POST {TEMPLATE}" and entry["fault"] is None
    assert entry["headers"]["x-trace"] == "t"
    assert entry["durationMs"] >= 0 and entry["time"].endswith("Z")
    assert "authorization" not in entry["headers"]
    assert auth("editor")["Authorization"].split()[1] not in str(entry)


def test_the_header_and_the_path_prefix_are_one_namespace_and_others_see_nothing(mock_client):
    mock_client.get(ADA_LABELS, headers={**auth("reader"), "X-Mock-Namespace": "ns-b"})
    mock_client.get(f"/__ns/ns-b{ADA_LABELS}", headers=auth("reader"))
    assert [e["path"] for e in entries(mock_client, namespace="ns-b")] == [ADA_LABELS, ADA_LABELS]
    assert entries(mock_client, namespace="ns-c") == []
    assert entries(mock_client) == []  # the default namespace has its own journal


def test_newest_first_with_cursor_paging_that_survives_new_requests(mock_client):
    for n in range(7):
        mock_client.get(f"/labels/labels?limit={n + 1}", headers=auth("reader"))
    first = journal(mock_client, "?limit=3")
    assert [e["query"]["limit"] for e in first["data"]] == ["7", "6", "5"]
    mock_client.get("/labels/labels?limit=99", headers=auth("reader"))  # arrives between pages
    seen = [e["id"] for e in first["data"]]
    cursor = first["nextCursor"]
    while cursor is not None:
        page = journal(mock_client, f"?limit=3&cursor={cursor}")
        seen += [e["id"] for e in page["data"]]
        cursor = page["nextCursor"]
    assert seen == sorted(seen, key=int, reverse=True) and len(seen) == len(set(seen)) == 7
    # A cursor at either end: nothing is numbered below 1, everything below a huge one.
    assert journal(mock_client, "?cursor=0") == {"data": [], "nextCursor": None}
    assert journal(mock_client, "?cursor=1") == {"data": [], "nextCursor": None}
    assert len(entries(mock_client, f"?limit=200&cursor={'9' * 18}")) == 8


def test_filters_by_method_path_template_and_status(mock_client):
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    mock_client.post(ADA_LABELS, json={"labels": ["beta"]}, headers=auth("editor"))
    mock_client.post(ADA_LABELS, json={"labels": ["nope"]}, headers=auth("editor"))
    mock_client.get("/labels/labels/vip", headers=auth("reader"))
    assert len(entries(mock_client, f"?path={TEMPLATE}")) == 3
    assert len(entries(mock_client, f"?path={ADA_LABELS}&method=post")) == 2
    assert [e["status"] for e in entries(mock_client, "?method=POST&status=422")] == [422]
    assert [e["path"] for e in entries(mock_client, "?path=/labels/labels/{labelId}")] == ["/labels/labels/vip"]
    assert entries(mock_client, "?path=/labels/labels") == []  # a template matches whole paths
    filtered = journal(mock_client, f"?path={TEMPLATE}&limit=1")
    assert filtered["nextCursor"] is not None
    rest = journal(mock_client, f"?path={TEMPLATE}&limit=5&cursor={filtered['nextCursor']}")
    assert len(rest["data"]) == 2 and rest["nextCursor"] is None


@pytest.mark.fast
@pytest.mark.parametrize(
    "query, names",
    [
        ("?method=G%20T", ["method"]),
        ("?path=labels", ["path"]),
        ("?status=99", ["status"]),
        ("?status=600&limit=0&cursor=x", ["cursor", "limit", "status"]),
        # Given twice, even the same valid value twice: which one was meant is not guessed.
        ("?status=200&status=404", ["status"]),
        ("?method=GET&method=GET", ["method"]),
        ("?path=/labels/labels&path=/customers/customers&limit=5&limit=6", ["limit", "path"]),
    ],
)
def test_bad_filters_are_one_400_naming_each(memory_mock_client, query, names):
    response = memory_mock_client.get(f"/__admin/requests{query}", headers=auth("admin"))
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert sorted(e["parameter"] for e in response.json["errors"]) == names


def test_what_is_not_the_api_is_not_recorded_and_every_api_answer_is(mock_client):
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs/", "/metrics", "/__admin/snapshot"):
        mock_client.get(path, headers=auth("admin"))
    mock_client.options("/labels/labels", headers={"Origin": "http://localhost:3000"})
    mock_client.get("/labels/labels")  # 401
    mock_client.get("/no/such/path", headers=auth("reader"))  # 404
    mock_client.put("/labels/labels", headers=auth("admin"))  # 405
    mock_client.post("/labels/labels", data="not json", headers=auth("admin"))  # 400
    found = entries(mock_client)
    assert [(e["path"], e["status"]) for e in found] == [
        ("/labels/labels", 400),
        ("/labels/labels", 405),
        ("/no/such/path", 404),
        ("/labels/labels", 401),
    ]
    assert found[0]["body"] is None and found[0]["bodyText"] == "not json"
    assert [e["operation"] for e in found] == ["POST /labels/labels", None, None, "GET /labels/labels"]


def test_a_long_answer_is_cut_and_says_so(mock_client, make):
    for n in range(60):
        mock_client.post("/labels/labels", json={"id": f"l{n:02}", "name": f"label {n}"}, headers=auth("admin"))
    mock_client.get("/labels/labels?limit=60", headers=auth("reader"))
    entry = entries(mock_client, "?method=GET")[0]
    assert entry["responseBodyTruncated"] is True
    assert isinstance(entry["responseBody"], str) and len(entry["responseBody"]) == 4096


def test_clearing_and_reset_empty_the_journal(mock_client):
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    assert mock_client.delete("/__admin/requests", headers=auth("admin")).status_code == 204
    assert entries(mock_client) == []
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    assert mock_client.post("/__admin/reset", headers=auth("admin")).status_code == 204
    assert entries(mock_client) == []
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    assert int(entries(mock_client)[0]["id"]) > 2  # numbers go on: old cursors never point at new entries


@pytest.mark.fast
@pytest.mark.parametrize("method", ["get", "delete"])
def test_the_journal_needs_the_admin_role(memory_mock_client, method):
    assert memory_mock_client.open("/__admin/requests", method=method).status_code == 401
    assert memory_mock_client.open("/__admin/requests", method=method, headers=auth("editor")).status_code == 403


def mock_app_with(store, **settings):
    config = {"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": EXAMPLE}
    return create_app({**config, **settings})


def test_the_journal_keeps_at_most_mock_journal_size_entries(store):
    client = mock_app_with(store, MOCK_JOURNAL_SIZE=5).test_client()
    for n in range(9):
        client.get(f"/labels/labels?limit={n + 1}", headers=auth("reader"))
    assert [e["query"]["limit"] for e in entries(client)] == ["9", "8", "7", "6", "5"]


def test_the_journal_keeps_at_most_mock_journal_bytes(store):
    client = mock_app_with(store, MOCK_JOURNAL_BYTES=256 * 1024).test_client()
    body = {"name": "x" * 60_000}  # entries of about 61 KB (the body; the answer is a short 422): 4 fit in 256 KiB
    for n in range(6):
        client.post("/customers/customers", json=body, headers={**auth("admin"), "X-Request-ID": f"r{n}"})
    kept = [e["requestId"] for e in entries(client)]
    assert kept == ["r5", "r4", "r3", "r2"]


def test_a_namespace_dropped_for_idleness_forgets_its_journal(store, monkeypatch):
    app = mock_app_with(store, MOCK_NAMESPACE_TTL=1)
    namespaces = app.extensions["customer_labels.store"]
    now = [1000.0]
    monkeypatch.setattr(namespaces, "clock", lambda: now[0])
    client = app.test_client()
    client.get(ADA_LABELS, headers={**auth("reader"), "X-Mock-Namespace": "idle"})
    assert len(entries(client, namespace="idle")) == 1
    now[0] += 5
    client.get("/labels/labels", headers={**auth("reader"), "X-Mock-Namespace": "other"})  # sweeps
    assert entries(client, namespace="idle") == []


def test_eight_threads_in_eight_namespaces_each_journal_holds_exactly_its_own(mock_app):
    def work(n):
        client = mock_app.test_client()
        for i in range(10):
            headers = {**auth("editor"), "X-Mock-Namespace": f"t{n}", "X-Request-ID": f"t{n}-{i}"}
            client.get(ADA_LABELS if i % 2 else "/labels/labels/vip", headers=headers)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = mock_app.test_client()
    for n in range(8):
        found = entries(client, namespace=f"t{n}")
        assert [e["requestId"] for e in found] == [f"t{n}-{i}" for i in reversed(range(10))]


def test_coverage_counts_each_operations_statuses(mock_client):
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    mock_client.get(ADA_LABELS, headers=auth("reader"))
    mock_client.get("/customers/customers/00000000-0000-4000-8000-000000000000/labels", headers=auth("reader"))
    mock_client.post(ADA_LABELS, json={"labels": ["beta"]}, headers=auth("reader"))
    mock_client.get("/no/such/path", headers=auth("reader"))
    mock_client.delete("/__admin/requests", headers=auth("admin"))  # coverage is not the journal
    answer = mock_client.get("/__admin/coverage", headers=auth("admin"))
    assert answer.json == {"operations": {f"GET {TEMPLATE}": {"200": 2, "404": 1}, f"POST {TEMPLATE}": {"403": 1}}}
    other = mock_client.get("/__admin/coverage", headers={**auth("admin"), "X-Mock-Namespace": "elsewhere"})
    assert other.json == {"operations": {}}


@pytest.mark.fast
def test_a_template_parameter_matches_one_whole_segment_only(memory_mock_client):
    client = memory_mock_client
    client.get("/labels/labels/vip", headers=auth("reader"))
    client.get("/labels/labels/" + "x" * 60 + "!", headers=auth("reader"))
    assert len(entries(client, "?path=/labels/labels/{labelId}")) == 2
    assert entries(client, "?path=/labels/{x}") == []
    assert entries(client, "?path=/labels/labels/v{x}") == []  # not a whole segment: literal
    # Parameters side by side in one segment are literal too: no pattern that backtracks
    # without end (each "{a}x" a "[^/]+x" would take ages against 60 x's and a "!").
    assert entries(client, "?path=/labels/labels/" + "{a}x" * 30) == []
