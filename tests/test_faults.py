"""Redis stopping, hanging and coming back under a running app: 503s, never 500s,
and recovery with no restart. Against a real redis-server of the test's own, and a
Redis Cluster whose master stops or hangs."""

import logging
import socket
import time

import pytest

from customer_labels.schemas.openapi import OPERATIONS
from customer_labels.service import create_app
from customer_labels.store.connection import Script, make_client

from .conftest import API_TOKENS, auth, call_operation
from .redis_server import RedisClusterServers

STORE_OPERATIONS = [op for op in OPERATIONS if op.store and op.role]
# A hung Redis costs each request the full command timeout, and every request
# meets it through the same client; these few stand for the rest.
HUNG_OPERATIONS = [
    op for op in STORE_OPERATIONS if op.op_id in ("getCustomerLabels", "createCustomerLabels", "deleteLabel")
]
#: The contract: with Redis down or hung, an answer within this many seconds.
BOUND = 2.0


@pytest.fixture
def live(redis_server):
    """An app on the real Redis, through the same URL and client settings as production."""
    app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": redis_server.url})
    client = app.test_client()
    client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=auth("admin"))
    customer = client.post("/customers/customers", json={"name": "Ada"}, headers=auth("admin")).json["id"]
    return client, {"{customerId}": customer, "{labelId}": "vip"}


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_unavailable(response, took):
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.get_data(as_text=True)
    assert took < BOUND, f"took {took:.2f} s"


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_every_store_endpoint_answers_503_quickly_then_recovers(live, redis_server, caplog, how):
    client, ids = live
    if how == "stopped":
        redis_server.stop()
        operations = STORE_OPERATIONS
    else:
        redis_server.pause()
        operations = HUNG_OPERATIONS
    caplog.clear()
    for op in operations:
        response, took = timed(lambda: call_operation(client, op, ids, auth("admin")))
        assert_unavailable(response, took)
    response, took = timed(lambda: client.get("/readyz"))
    assert_unavailable(response, took)
    assert client.get("/healthz").status_code == 200  # liveness makes no store call

    # One warning line per failed request, with the cause and no traceback.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "store unavailable" in r.getMessage()]
    assert len(warnings) == len(operations)  # /readyz answers 503 without a log line
    assert all(r.exc_info is None for r in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    if how == "stopped":
        redis_server.start()  # same port, empty: it kept nothing on disk
    else:
        redis_server.resume()
    assert client.get("/readyz").status_code == 200
    assert client.get("/labels/labels", headers=auth("reader")).status_code == 200
    created = client.post("/labels/labels", json={"name": "After"}, headers=auth("admin"))
    assert created.status_code == 201


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_a_cluster_master_stopped_or_hung_gives_503s_then_recovers(tmp_path, caplog, how):
    """The master of the catalogue and of the customer: every operation needs it."""
    cluster = RedisClusterServers(tmp_path).start()
    try:
        app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": cluster.url, "REDIS_CLUSTER": True})
        client = app.test_client()
        client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=auth("admin"))
        store = app.extensions["customer_labels.store"].default
        victim = store._redis.get_node_from_key(store._key("labels")).port
        customers = (
            client.post("/customers/customers", json={"name": "Ada"}, headers=auth("admin")).json["id"]
            for _ in range(100)
        )
        customer = next(c for c in customers if store._redis.get_node_from_key(f"cl:L:{{{c}}}").port == victim)
        ids = {"{customerId}": customer, "{labelId}": "vip"}
        node = next(node for node in cluster.nodes if node.port == victim)
        node.stop() if how == "stopped" else node.pause()
        caplog.clear()
        for op in STORE_OPERATIONS if how == "stopped" else HUNG_OPERATIONS:
            response, took = timed(lambda: call_operation(client, op, ids, auth("admin")))
            assert_unavailable(response, took)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        response, took = timed(lambda: client.get("/readyz"))
        assert_unavailable(response, took)
        node.start() if how == "stopped" else node.resume()
        # Ready again once every master sees the cluster as ok.
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the cluster did not come back"
            time.sleep(0.1)
        assert client.post("/labels/labels", json={"name": "After"}, headers=auth("admin")).status_code == 201
    finally:
        cluster.stop()


@pytest.mark.parametrize("change", ["attach", "detach"])
def test_a_change_answered_503_is_safe_to_repeat(live, redis_server, change):
    """A 503 cannot say whether the change was made: a hung Redis runs the command
    it was sent once it resumes, after the client gave up. Repeating it gives the
    state one change gives, and the answer that goes with it."""
    client, ids = live
    url = f"/customers/customers/{ids['{customerId}']}/labels"
    client.post(url, json={"labels": ["vip"] if change == "detach" else []}, headers=auth("editor"))
    assert client.get(url, headers=auth("reader")).status_code == 200  # the script is loaded
    send = client.post if change == "attach" else client.delete
    redis_server.pause()
    assert send(url, json={"labels": ["vip"]}, headers=auth("editor")).status_code == 503
    redis_server.resume()
    # The first try landed after all: the 503 did not mean "nothing happened".
    after_first = [label["id"] for label in client.get(url, headers=auth("reader")).json["data"]]
    assert after_first == (["vip"] if change == "attach" else [])
    repeated = send(url, json={"labels": ["vip"]}, headers=auth("editor"))
    assert repeated.status_code == 200
    assert [label["id"] for label in repeated.json["data"]] == after_first
    assert client.get(url, headers=auth("reader")).json == repeated.json


def test_readyz_follows_redis(live, redis_server):
    client, _ = live
    assert client.get("/readyz").json == {"status": "ok"}
    redis_server.stop()
    assert client.get("/readyz").status_code == 503
    redis_server.start()
    assert client.get("/readyz").status_code == 200


def test_ready_and_alive(client):
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json == {"status": "ok"}


def test_a_script_redis_no_longer_holds_is_loaded_again(live, redis_server):
    # As after a restart or a failover to a replica that never ran it (store/connection.Script).
    client, ids = live
    url = f"/customers/customers/{ids['{customerId}']}/labels"
    assert client.post(url, json={"labels": ["vip"]}, headers=auth("editor")).status_code == 200
    redis_server.client().script_flush()
    answer = client.delete(url, json={"labels": ["vip"]}, headers=auth("editor"))
    assert answer.status_code == 200 and answer.json == {"data": []}
    assert client.get(url, headers=auth("reader")).json == {"data": []}


def test_a_script_whose_connection_breaks_mid_command_runs_again_on_a_new_one(redis_server, monkeypatch):
    # As redis-py's own command path does (the connection's Retry): the socket breaks
    # after the pool handed the connection out (a peer reset, a proxy that went away).
    client = make_client(redis_server.url)
    run, pool = Script(client, "return ARGV[1]"), client.connection_pool
    handed_out, broken = pool.get_connection, []

    def get_connection_then_break():
        conn = handed_out()
        if not broken:
            broken.append(conn._sock)
            conn._sock.shutdown(socket.SHUT_RDWR)
        return conn

    monkeypatch.setattr(pool, "get_connection", get_connection_then_break)
    assert run([], ["served"]) == "served"
    assert len(broken) == 1
    conn = handed_out()
    assert conn._sock is not broken[0]  # the broken socket was dropped, not pooled
