"""Tests of LabelsClient, against a real Customer Labels service (the customer_labels fixture)."""

import http.client

import pytest
from labels_client import LabelsClient, LabelsError

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"


@pytest.fixture
def client(customer_labels):
    return LabelsClient(customer_labels.url, customer_labels.tokens["editor"])


def test_reads_the_seeded_labels(client):
    assert client.labels_of(ADA) == ["VIP"]


def test_tags_a_customer(client):
    assert client.tag(ADA, "beta") == ["Beta tester", "VIP"]
    assert client.labels_of(ADA) == ["Beta tester", "VIP"]


def test_every_test_starts_from_the_seed_again(client):
    # The test above tagged Ada; this one, in its own namespace, does not see it.
    assert client.labels_of(ADA) == ["VIP"]


def test_untags(client):
    assert client.untag(ADA, "vip") == []


def test_unknown_label_is_an_error_and_changes_nothing(client):
    with pytest.raises(LabelsError) as err:
        client.tag(ADA, "beta", "no-such-label")
    assert err.value.status == 422
    assert err.value.problem["unknownLabels"] == ["no-such-label"]
    assert client.labels_of(ADA) == ["VIP"]


def test_a_reader_token_may_not_tag(customer_labels):
    reader = LabelsClient(customer_labels.url, customer_labels.tokens["reader"])
    with pytest.raises(LabelsError) as err:
        reader.tag(ADA, "beta")
    assert err.value.status == 403


def test_seed_sets_up_exactly_this_test(customer_labels, client):
    customer_labels.seed(
        {
            "labels": [{"id": "gold", "name": "Gold"}],
            "customers": [{"id": ADA, "name": "Ada", "labels": ["gold"]}],
        }
    )
    assert client.labels_of(ADA) == ["Gold"]
    customer_labels.reset()
    assert client.labels_of(ADA) == ["VIP"]


def test_tag_sends_one_attach_with_exactly_those_labels(customer_labels, client):
    client.tag(ADA, "beta")
    customer_labels.verify("POST", "/customers/customers/{customerId}/labels", body={"labels": ["beta"]})
    customer_labels.verify("DELETE", "/customers/customers/{customerId}/labels", times=0)


def test_tag_tries_once_more_when_the_service_is_unavailable(customer_labels, client):
    customer_labels.fault("POST", "/customers/customers/{customerId}/labels", status=503, times=1)
    assert client.tag(ADA, "beta") == ["Beta tester", "VIP"]
    attaches = customer_labels.verify("POST", "/customers/customers/{customerId}/labels", times=2)
    assert [entry["status"] for entry in attaches] == [503, 200]


def test_tag_gives_up_after_two_unavailable_answers(customer_labels, client):
    customer_labels.fault("POST", "/customers/customers/{customerId}/labels", status=503, times=2)
    with pytest.raises(LabelsError) as err:
        client.tag(ADA, "beta")
    assert err.value.status == 503
    assert client.labels_of(ADA) == ["VIP"]  # a faulted request changes nothing


def test_a_dropped_connection_is_an_error_not_a_wrong_answer(customer_labels, client):
    customer_labels.fault("GET", "/customers/customers/{customerId}/labels", drop=True, times=1)
    with pytest.raises((OSError, http.client.HTTPException)):  # here: IncompleteRead
        client.labels_of(ADA)
    assert client.labels_of(ADA) == ["VIP"]


def test_requests_are_the_journal_oldest_first_and_state_the_namespace(customer_labels, client):
    for _ in range(3):
        client.labels_of(ADA)
    client.tag(ADA, "beta")
    made = customer_labels.requests()
    assert [(entry["method"], entry["status"]) for entry in made] == [("GET", 200)] * 3 + [("POST", 200)]
    assert customer_labels.requests("POST", "/customers/customers/{customerId}/labels")[0]["body"] == {
        "labels": ["beta"]
    }
    assert customer_labels.requests(path="/labels/labels") == []
    (ada,) = [c for c in customer_labels.state()["customers"] if c["id"] == ADA]
    assert ada["labels"] == ["beta", "vip"]


def test_requests_reads_every_page_of_the_journal(customer_labels, client):
    for _ in range(230):  # more than one page (200) of the journal
        client.labels_of(ADA)
    assert len(customer_labels.requests()) == 230
    customer_labels.clear_requests()
    customer_labels.verify("GET", f"/customers/customers/{ADA}/labels", times=0)


def test_verify_shows_the_near_misses(customer_labels, client):
    client.untag(ADA, "vip")
    with pytest.raises(AssertionError) as err:
        customer_labels.verify("POST", "/customers/customers/{customerId}/labels", body={"labels": ["vip"]})
    assert "same path, other method" in str(err.value)
    assert f"DELETE /customers/customers/{ADA}/labels" in str(err.value)


@pytest.mark.parametrize("n", range(20))
def test_many_small_tests_each_in_a_fresh_namespace(client, n):
    # Cheap enough to run per test: no new process, just a new namespace.
    assert client.tag(ADA, "beta") == ["Beta tester", "VIP"]
