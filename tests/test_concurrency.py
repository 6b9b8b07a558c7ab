"""Many clients at once: outcomes match a sequential model, and no race leaves a
deleted label attached."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from customer_labels.store import LABEL_CAP

from .conftest import auth

THREADS = 16


def labels_url(customer_id):
    return f"/customers/customers/{customer_id}/labels"


def run_all(jobs):
    """Run callables together, starting them at one barrier; their results."""
    barrier = threading.Barrier(len(jobs))

    def start(job):
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(start, jobs))


def test_attach_and_detach_from_many_threads_match_the_model(app, make):
    customer = make.customer()["id"]
    owned = {t: [make.label(id=f"t{t}-{i}")["id"] for i in range(4)] for t in range(THREADS)}
    for t in range(THREADS):  # everyone also keeps one label attached throughout
        make.attach(customer, owned[t][0])

    def worker(t):
        # Each thread alone attaches and detaches its own labels, so the model
        # of its labels is exact, whatever the others do meanwhile.
        client, rng, mine = app.test_client(), random.Random(t), set(owned[t][:1])
        for _ in range(25):
            chosen = rng.sample(owned[t][1:], rng.randint(1, 3))
            if rng.random() < 0.5:
                response = client.post(labels_url(customer), json={"labels": chosen}, headers=auth("editor"))
                mine |= set(chosen)
            else:
                response = client.delete(labels_url(customer), json={"labels": chosen}, headers=auth("editor"))
                mine -= set(chosen)
            assert response.status_code == 200
            seen = {label["id"] for label in response.json["data"]}
            # Each answer is one consistent state: it shows this thread's
            # labels exactly as this thread has just left them.
            assert seen & set(owned[t]) == mine
            assert {owned[o][0] for o in range(THREADS)} <= seen
        return mine

    finals = run_all([lambda t=t: worker(t) for t in range(THREADS)])
    expected = set().union(*finals)
    client = app.test_client()
    final = client.get(labels_url(customer), headers=auth("reader")).json["data"]
    assert {label["id"] for label in final} == expected
    for t in range(THREADS):
        for label_id in owned[t]:
            carriers = client.get(f"/labels/labels/{label_id}/customers", headers=auth("reader")).json["data"]
            assert ([c["id"] for c in carriers] == [customer]) == (label_id in expected)


def test_the_cap_holds_under_concurrent_attaches(app, make):
    # THREADS batches at once, as in the other tests here: no more requests than the
    # pool has connections (20), so that none waits for one, which under load ends
    # in a 503 that says nothing of the cap. Together they hold more than the cap.
    size = 20
    assert THREADS * size > LABEL_CAP
    customer = make.customer()["id"]
    batches = [[make.label(id=f"b{b}-{i}")["id"] for i in range(size)] for b in range(THREADS)]

    def attach(batch):
        client = app.test_client()
        return client.post(labels_url(customer), json={"labels": batch}, headers=auth("editor")).status_code

    statuses = run_all([lambda b=b: attach(b) for b in batches])
    # Serially, exactly 12 batches of 20 fit under 250, whatever the order.
    assert statuses.count(200) == LABEL_CAP // size and statuses.count(422) == THREADS - LABEL_CAP // size
    final = app.test_client().get(labels_url(customer), headers=auth("reader")).json["data"]
    admitted = [b for b, status in zip(batches, statuses) if status == 200]
    assert sorted(label["id"] for label in final) == sorted(sum(admitted, []))


def test_label_deleted_while_others_attach_it_ends_up_attached_nowhere(app, make):
    customers = [make.customer()["id"] for _ in range(THREADS - 1)]
    for round_ in range(5):
        label = make.label(f"race-{round_}", id=f"race-{round_}")["id"]
        make.label(f"other-{round_}", id=f"other-{round_}")

        def attacher(customer):
            # Attach until the delete shows: the last answer is then a 422.
            client = app.test_client()
            statuses = []
            body = {"labels": [label, f"other-{round_}"]}
            while 422 not in statuses and len(statuses) < 5000:
                statuses.append(client.post(labels_url(customer), json=body, headers=auth("editor")).status_code)
            return statuses

        def deleter():
            # Delete once some attach has landed, while the others still run.
            client = app.test_client()
            carriers_url = f"/labels/labels/{label}/customers"
            while not client.get(carriers_url, headers=auth("reader")).json["data"]:
                pass
            return client.delete(f"/labels/labels/{label}", headers=auth("admin")).status_code

        results = run_all([deleter] + [lambda c=c: attacher(c) for c in customers])
        assert results[0] == 204
        assert any(200 in statuses for statuses in results[1:])
        assert all(statuses[-1] == 422 and set(statuses) <= {200, 422} for statuses in results[1:])
        client = app.test_client()
        for customer, statuses in zip(customers, results[1:]):
            ids = {x["id"] for x in client.get(labels_url(customer), headers=auth("reader")).json["data"]}
            assert label not in ids
            # All or nothing: the other label is there only if an attach succeeded.
            assert (f"other-{round_}" in ids) == (200 in statuses)
        assert client.get(f"/labels/labels/{label}/customers", headers=auth("reader")).status_code == 404
        # A label made again with that id starts with no customers.
        make.label(f"race-{round_}", id=label)
        assert client.get(f"/labels/labels/{label}/customers", headers=auth("reader")).json["data"] == []
