"""The OpenAPI document: it matches the routes, and the app keeps to it (schemathesis)."""

import itertools
import re
import uuid
from unittest import mock

import hypothesis
import pytest
import schemathesis

from customer_labels import schemas, store
from customer_labels.schemas.openapi import COMPONENTS, MOCK_COMPONENTS, operations
from customer_labels.service import create_app
from customer_labels.store import MemoryStore, RedisStore, base

from .conftest import API_TOKENS, TOKENS, auth, fake_redis

#: What a schema-violating write may answer: schemathesis's defaults but a 5xx, and 412,
#: since an If-Match that no longer matches outranks a problem of the body (the contract's order).
GUARDED_REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]
SETTINGS = {
    # Authenticated as admin, through the document's own security scheme,
    # so that schemathesis also knows how to leave the token out.
    "auth": {"openapi": {"bearerAuth": {"bearer": TOKENS["admin"]}}},
    # The same examples every run, and none replayed from earlier runs: CI
    # must not pass or fail by luck.
    "generation": {"max-examples": 40, "deterministic": True, "database": "none"},
    "operations": [
        {
            # A schema-valid attach, replace or snapshot may still name labels
            # that do not exist (or pass the cap, or repeat an id), and a change of a
            # label's customers customers that do not exist: the contract's answer is
            # 422. A well-formed If-Match that names another tag is a 412.
            "include-operation-id-regex": "^(createCustomerLabels|replaceCustomerLabels)$",
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "412", "422"]},
                "negative_data_rejection": {"expected-statuses": GUARDED_REJECTIONS},
            },
        },
        {
            "include-operation-id-regex": "^(putSnapshot|attachLabelCustomers|detachLabelCustomers)$",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "422"]}},
        },
        {
            "include-operation-id-regex": "^(deleteCustomerLabels|updateLabel|deleteLabel"
            "|updateCustomer|deleteCustomer)$",
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "412"]},
                "negative_data_rejection": {"expected-statuses": GUARDED_REJECTIONS},
            },
        },
        {
            # An If-None-Match that names the resource's tag (or *) is a 304.
            "include-operation-id-regex": "^(getCustomerLabels|getLabel|getCustomer)$",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "304", "401", "403", "404"]}},
        },
        {
            # A schema-valid segment filter may name a label that does not exist: the
            # contract's answer is a 400 naming it (as for any query problem).
            "include-operation-id-regex": "^(listCustomers|countCustomers)$",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404"]}},
        },
        {
            # DELETE .../labels detaches labels (the product's reference
            # names it so): the customer's label list stays, by design,
            # so "deleted resource still available" does not apply to it.
            # Deleting the customer itself is followed by 404s there; the
            # customers tests check that.
            "include-path-regex": "^/customers/customers/\\{customerId\\}/labels$",
            "checks": {"use_after_free": {"enabled": False}},
        },
    ],
}
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(SETTINGS)
# The mock's Prefer header forces answers (code=503 is a 503 by design): its runs send
# one that forces nothing; the tests of Prefer cover the rest (test_mock.py).
MOCK_CONFIG = schemathesis.config.SchemathesisConfig.from_dict({**SETTINGS, "headers": {"Prefer": "delay=0"}})
APP = create_app({"API_TOKENS": API_TOKENS, "STORE": MemoryStore()})
MOCK_APP = create_app(
    {"API_TOKENS": API_TOKENS, "STORE": MemoryStore(), "MOCK_MODE": True, "SEED_FILE": "fixtures/example.json"}
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP, config=CONFIG)
BOTH = pytest.mark.parametrize("app, mock", [(APP, False), (MOCK_APP, True)], ids=["api", "mock"])


def shape(path):
    """A route with its parameter names blanked: /a/<x>/b and /a/{y}/b are one route."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def document(app):
    return app.test_client().get("/openapi.json").json


@BOTH
def test_document_lists_exactly_the_routes(app, mock):
    routes = {
        (method.lower(), shape(rule.rule))
        for rule in app.url_map.iter_rules()
        # Static files: Flask's own, and the docs page's assets.
        if rule.endpoint != "static" and not rule.endpoint.startswith("swagger_ui.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(op.method, shape(op.path)) for op in operations(mock)}
    assert routes == documented


@BOTH
def test_components_are_the_schema_files(app, mock):
    published = document(app)
    assert published["openapi"].startswith("3.1")
    components = {**COMPONENTS, **(MOCK_COMPONENTS if mock else {})}
    derived = {"LabelWithCount"} | ({"Snapshot", "Fault"} if mock else set())
    assert set(published["components"]["schemas"]) == set(components) | derived
    # What the Labels endpoints answer: the label, and how many customers carry it.
    counted, label = published["components"]["schemas"]["LabelWithCount"], published["components"]["schemas"]["Label"]
    assert counted["properties"] == {**label["properties"], "customerCount": counted["properties"]["customerCount"]}
    assert counted["required"] == [*label["required"], "customerCount"]
    for name, file in components.items():
        assert published["components"]["schemas"][name] == {
            k: v for k, v in schemas.load(file).items() if k != "$schema"
        }
    if mock:  # what GET /__admin/snapshot answers: the fixture's form, every field always there
        snapshot = published["components"]["schemas"]["Snapshot"]
        fixture = published["components"]["schemas"]["Fixture"]
        assert snapshot["required"] == ["labels", "customers"]
        for part in ("labels", "customers"):
            items = snapshot["properties"][part]["items"]
            assert items["properties"] == fixture["properties"][part]["items"]["properties"]
            assert items["required"] == list(items["properties"])
        # What the fault rules are listed as: the rule's fields, every one always there.
        fault, rule = published["components"]["schemas"]["Fault"], published["components"]["schemas"]["FaultRule"]
        assert set(fault["properties"]) == {"id", *rule["properties"], "remaining", "used"}
        assert fault["required"] == list(fault["properties"])


def test_every_body_schema_is_used_by_an_operation():
    refs = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for path in document(MOCK_APP)["paths"].values()
        for op in path.values()
        if "requestBody" in op
    }
    assert {{**COMPONENTS, **MOCK_COMPONENTS}[name] for name in refs} == set(schemas.REQUEST_BODIES)


@BOTH
def test_operation_ids_are_unique_and_include_the_reference_ones(app, mock):
    ids = [op["operationId"] for path in document(app)["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"getCustomerLabels", "createCustomerLabels", "deleteCustomerLabels"} <= set(ids)
    assert ("resetMock" in ids) == mock


@schema.parametrize()
def test_api_keeps_to_the_document(case):
    case.call_and_validate()


# The same again on the Redis store, whose Lua scripts see every odd string
# that schemathesis can think of.
REDIS_APP = create_app({"API_TOKENS": API_TOKENS, "STORE": RedisStore(fake_redis())})
redis_schema = schemathesis.openapi.from_wsgi("/openapi.json", REDIS_APP, config=CONFIG)


@redis_schema.parametrize()
def test_api_on_redis_keeps_to_the_document(case):
    case.call_and_validate()


# And the mock, whose document adds its request headers (and its admin API, which
# the run leaves out: a fault rule it made up would fail the requests after it).
mock_schema = schemathesis.openapi.from_wsgi("/openapi.json", MOCK_APP, config=MOCK_CONFIG).exclude(
    path_regex="^/__admin/"
)


@mock_schema.parametrize()
def test_mock_keeps_to_its_document(case):
    case.call_and_validate()


def test_the_mocks_namespaces_are_a_server_with_a_variable_not_more_paths():
    published = document(MOCK_APP)
    assert not [path for path in published["paths"] if path.startswith("/__ns")]
    server = published["servers"][1]
    assert server["url"].endswith("/__ns/{namespace}") and server["variables"]["namespace"]["default"]
    base = server["url"].replace("http://localhost", "").replace("{namespace}", "from-servers")
    client = MOCK_APP.test_client()
    client.post(f"{base}/labels/labels", json={"id": "only-here", "name": "Only here"}, headers=auth("admin"))
    in_it = client.get("/labels/labels/only-here", headers={**auth("reader"), "X-Mock-Namespace": "from-servers"})
    assert in_it.status_code == 200
    assert client.get("/labels/labels/only-here", headers=auth("reader")).status_code == 404
    # Asked for within a namespace, the document's first server is that namespace, and
    # the second still the template over all of them.
    within = client.get("/__ns/from-servers/openapi.json").json["servers"]
    assert [s["url"] for s in within] == ["http://localhost/__ns/from-servers", "http://localhost/__ns/{namespace}"]
    # Every operation of the API takes the namespace header, and Prefer; the admin API the namespace.
    for path, methods in published["paths"].items():
        for operation in methods.values():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Service" in operation["tags"]:
                assert headers == set(), path
            elif path.startswith("/__admin"):
                assert headers == {"X-Mock-Namespace"}, path
            else:  # and a conditional request's header where it applies
                assert headers - {"If-Match", "If-None-Match"} == {"Prefer", "X-Mock-Namespace"}, path


class ApiWorkflows(schema.as_state_machine()):
    """Sequences of calls that follow the document's links: create a customer
    and a label, then read, attach, detach, change and delete them."""

    def setup(self):
        # Each run starts empty, and makes the same ids in the same order, so
        # that a run replays the same way: schemathesis draws the next call from
        # earlier answers, and with random ids hypothesis saw a replay draw
        # differently and failed the run (FlakyStrategyDefinition, one in ten).
        APP.config["STORE"] = MemoryStore()
        store.init_app(APP)
        made = itertools.count(1)
        self._ids = mock.patch.object(base.uuid, "uuid4", lambda: uuid.UUID(int=next(made)))
        self._ids.start()

    def teardown(self):
        self._ids.stop()
        super().teardown()


TestApiWorkflows = ApiWorkflows.TestCase
# The same sequences every run, like the cases above (CONFIG's "deterministic"
# does not reach the state machine).
TestApiWorkflows.settings = hypothesis.settings(TestApiWorkflows.settings, derandomize=True, database=None)
