"""Export and load of a whole store in batches (`flask fixtures`, store/bulk.py): large
files streamed, honest about failures, re-runnable; the snapshot API bounded."""

import json
import os
import pty
import select
import subprocess
import sys

import pytest

from customer_labels.mock import seed
from customer_labels.service import create_app
from customer_labels.store import StoreUnavailable, bulk, redis_store

from .conftest import API_TOKENS, auth, make_store
from .processes import ROOT, environment


def state(customers=40, labels=6):
    """A state whose customers carry a few labels each, some none."""
    label_list = [{"id": f"l{i}", "name": f"Label {i}"} for i in range(labels)]
    people = [
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"Customer {n}",
            "email": f"c{n}@example.com" if n % 3 else None,
            "labels": [f"l{(n + k) % labels}" for k in range(n % 4)],
        }
        for n in range(customers)
    ]
    return {"labels": label_list, "customers": people}


def same(exported, loaded):
    """An export equals the state loaded, up to what loading fills in (stamps, defaults)."""
    assert [label["id"] for label in exported["labels"]] == sorted(label["id"] for label in loaded["labels"])
    assert [(c["id"], c["name"], c["email"], c["labels"]) for c in exported["customers"]] == [
        (c["id"], c["name"], c["email"], sorted(c["labels"])) for c in loaded["customers"]
    ]


@pytest.fixture(params=[pytest.param("fakeredis", marks=pytest.mark.fast), "redis", "cluster"])
def shared(request, monkeypatch):
    """An app on a Redis store, its CLI runner; batches small and every file streamed,
    so that a small state takes the paths a large one does."""
    monkeypatch.setattr(bulk, "BATCH", 7)
    monkeypatch.setattr(seed, "WHOLE_BYTES", 0)
    store = make_store(request.param, request)
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store})
    return app, app.test_cli_runner(), store


def write(tmp_path, data, name="state.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_a_streamed_load_and_export_round_trip(shared, tmp_path):
    app, runner, store = shared
    loaded = state()
    result = runner.invoke(args=["fixtures", "load", write(tmp_path, loaded)])
    assert result.exit_code == 0, result.output
    assert "Loaded 6 labels and 40 customers" in result.output
    out = tmp_path / "out.json"
    assert runner.invoke(args=["fixtures", "export", str(out)]).exit_code == 0
    exported = json.loads(out.read_text())
    same(exported, loaded)
    assert exported == store.export()
    # The API serves what was loaded: labels, customers, and a label's carriers, oldest first.
    client = app.test_client()
    first = loaded["customers"][3]
    answer = client.get(f"/customers/customers/{first['id']}/labels", headers=auth("reader")).json
    assert sorted(label["id"] for label in answer["data"]) == sorted(first["labels"])
    carriers = client.get("/labels/labels/l1/customers?limit=200", headers=auth("reader")).json["data"]
    assert [c["id"] for c in carriers] == [c["id"] for c in loaded["customers"] if "l1" in c["labels"]]
    # Loading the export again gives the same state, stamps included.
    assert runner.invoke(args=["fixtures", "load", str(out)]).exit_code == 0
    assert store.export() == exported
    # A new customer gets the next number: it comes last among a label's carriers.
    made = client.post("/customers/customers", json={"name": "New"}, headers=auth("admin")).json
    client.post(f"/customers/customers/{made['id']}/labels", json={"labels": ["l1"]}, headers=auth("editor"))
    carriers = client.get("/labels/labels/l1/customers?limit=200", headers=auth("reader")).json["data"]
    assert carriers[-1]["id"] == made["id"]


@pytest.mark.fast
@pytest.mark.parametrize(
    "broken, where",
    [
        (lambda s: s["customers"][30]["labels"].append("ghost"), "/customers/30/labels/"),
        (lambda s: s["customers"][33].update(id=s["customers"][2]["id"].upper()), "/customers/33/id"),
        (lambda s: s["customers"][35].update(email="@"), "/customers/35/email"),
        (lambda s: s["labels"][4].update(name="LABEL 1"), "/labels/4/name"),
        (lambda s: s.update(extra=1), "unknown member 'extra'"),
    ],
)
def test_a_bad_large_file_changes_nothing_and_names_the_place(tmp_path, monkeypatch, request, broken, where):
    # The file is checked before the store is touched: one store shows it.
    monkeypatch.setattr(seed, "WHOLE_BYTES", 0)
    store = make_store("fakeredis", request)
    runner = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store}).test_cli_runner()
    runner.invoke(args=["fixtures", "load", write(tmp_path, state(10), "before.json")])
    before = store.export()
    bad = state()
    broken(bad)
    result = runner.invoke(args=["fixtures", "load", write(tmp_path, bad)])
    assert result.exit_code == 1 and "was not loaded" in result.output and where in result.output
    assert store.export() == before


@pytest.mark.fast
def test_a_file_that_is_no_json_object_is_refused(shared, tmp_path):
    _, runner, _ = shared
    for text in ("[1, 2]", '{"labels": [', "not json"):
        path = tmp_path / "bad.json"
        path.write_text(text)
        result = runner.invoke(args=["fixtures", "load", str(path)])
        assert result.exit_code == 1 and "was not loaded" in result.output, text


def test_a_load_that_stops_half_way_says_so_and_the_same_load_finishes_it(shared, tmp_path, monkeypatch):
    _, runner, store = shared
    path = write(tmp_path, state())
    real = bulk._write_customers
    calls = []

    def fail_on_the_third_batch(*args):
        calls.append(1)
        if len(calls) == 3:
            raise StoreUnavailable("Connection reset by peer")
        return real(*args)

    monkeypatch.setattr(bulk, "_write_customers", fail_on_the_third_batch)
    result = runner.invoke(args=["fixtures", "load", path])
    assert result.exit_code == 1 and "was not loaded completely" in result.output and "again" in result.output
    assert "Loaded" not in result.output and bulk.loading(store)
    refused = runner.invoke(args=["fixtures", "export"])
    assert refused.exit_code == 1 and "not whole" in refused.output
    monkeypatch.setattr(bulk, "_write_customers", real)
    again = runner.invoke(args=["fixtures", "load", path])
    assert again.exit_code == 0 and "stopped half-way before" in again.output and "Loaded" in again.output
    assert not bulk.loading(store)
    same(store.export(), state())


def test_a_load_whose_last_answer_is_lost_after_it_ran_reports_success(shared, tmp_path, monkeypatch):
    _, runner, store = shared
    real = bulk._finish

    def finish_then_lose_the_answer(s):
        real(s)
        raise StoreUnavailable("Timeout reading from socket")

    monkeypatch.setattr(bulk, "_finish", finish_then_lose_the_answer)
    result = runner.invoke(args=["fixtures", "load", write(tmp_path, state())])
    assert result.exit_code == 0 and "Loaded 6 labels and 40 customers" in result.output
    same(store.export(), state())


def test_a_load_leaves_other_namespaces_and_services_alone(shared, tmp_path):
    _, runner, store = shared
    store._redis.set("other-service:key", "kept")
    store.namespace("team-a").replace(state(3))
    assert runner.invoke(args=["fixtures", "load", write(tmp_path, state())]).exit_code == 0
    assert store._redis.get("other-service:key") == "kept"
    same(store.namespace("team-a").export(), state(3))


@pytest.fixture(params=[pytest.param("fakeredis", marks=pytest.mark.fast), "redis"])
def mock_on_redis(request, monkeypatch):
    store = make_store(request.param, request)
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True})
    return app.test_client(), store


def test_a_snapshot_larger_than_a_body_may_be_names_the_cli(mock_on_redis):
    client, store = mock_on_redis
    store.replace(state(700))  # about 70 KiB of JSON
    answer = client.get("/__admin/snapshot", headers=auth("admin"))
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert "fixtures export" in answer.json["detail"] and "64 KiB" in answer.json["detail"]
    store.replace(state(100))
    assert len(client.get("/__admin/snapshot", headers=auth("admin")).json["customers"]) == 100


def test_a_reset_or_snapshot_over_a_state_too_large_for_one_step_names_the_cli(mock_on_redis, monkeypatch):
    client, store = mock_on_redis
    monkeypatch.setattr(redis_store, "ONE_STEP_CUSTOMERS", 30)
    store.replace(state(30))
    assert client.post("/__admin/reset", headers=auth("admin")).status_code == 204  # 30: one step still
    bulk.load(store, state(31)["labels"], state(31)["customers"])
    before = store.export()
    for method, path, body in (("POST", "/__admin/reset", None), ("PUT", "/__admin/snapshot", state(1))):
        answer = client.open(path, method=method, json=body, headers=auth("admin"))
        assert answer.status_code == 422 and "fixtures load" in answer.json["detail"], path
    assert store.export() == before  # nothing changed


def test_the_cli_shows_a_progress_bar_on_a_terminal(redis_url, tmp_path):
    path = write(tmp_path, state(3000, labels=10))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "fixtures", "load", path],
        cwd=ROOT,
        env=environment(REDIS_URL=redis_url, API_TOKENS=API_TOKENS),
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # the child closed its end
            chunk = b""
        if not chunk:
            break
        shown += chunk
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and "Loaded 10 labels and 3000 customers" in out
    assert b"Loading customers" in shown and b"100%" in shown


def test_a_store_that_stops_answering_ends_a_command_with_one_line(shared, tmp_path, monkeypatch):
    _, runner, _ = shared

    def gone(store):
        raise StoreUnavailable("Connection refused")

    monkeypatch.setattr(bulk, "loading", gone)
    for args in (["fixtures", "export", str(tmp_path / "out.json")], ["fixtures", "load", write(tmp_path, state(3))]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert result.output == "Error: the store is unavailable: Connection refused\n", args
    assert not (tmp_path / "out.json").exists()
