"""Tests of LabelsClient, against a real Customer Labels service (the customer_labels fixture)."""

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


@pytest.mark.parametrize("n", range(20))
def test_many_small_tests_each_in_a_fresh_namespace(client, n):
    # Cheap enough to run per test: no new process, just a new namespace.
    assert client.tag(ADA, "beta") == ["Beta tester", "VIP"]
