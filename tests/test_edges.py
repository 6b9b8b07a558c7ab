"""Every value the published document admits gets a 2xx or a 4xx, and every value just
outside it a 4xx problem, never a 5xx: each pattern, length, format and range of
/openapi.json fed its edge values, on every endpoint, every store."""

import json
from urllib.parse import quote

import pytest

from customer_labels.schemas import openapi

from .conftest import BODIES, auth

UUID_PATTERN = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
#: Edge values of each pattern the document publishes: the smallest and largest it
#: admits, and what a regex engine with Python's `$` would let through (a final newline).
PATTERN_EDGES = {
    "^[A-Za-z0-9_-]{1,64}$": ["a", "-", "_", "Z" * 64, "z" * 65, "", "zz\n", "z\n", "z z", "é", "a/b", "..", "%00"],
    openapi.SEGMENT_FILTERS[0]["schema"]["pattern"]: [
        "a",
        "a,b",
        ",".join("l" * 64 for _ in range(20)),
        ",".join(f"l{n}" for n in range(21)),
        "",
        "a,",
        ",a",
        "a,,b",
        "a\n",
        "a, b",
        "é",
    ],
    openapi.CONDITION_PATTERN: ["*", '"a"', 'W/"a"', '"a", W/"b"', '""', "", "a", '"a', '"a b"', "**", '"a",', 'w/"a"'],
    "^[0-9]{1,18}$": ["0", "9" * 18, "1" + "0" * 17, "4294967294", "4294967295", "0" * 19, "1\n", "-1", "1.5"],
    "^#[0-9A-Fa-f]{6}$": ["#000000", "#FFFFFF", "#abcdef", "#ffffff\n", "#fff", "ffffff", "#gggggg"],
    "^#[0-9a-f]{6}$": ["#000000", "#ffffff", "#ffffff\n"],
    # The mock's: the journal's filters, fault rules, and its request headers (sent as
    # headers, so no line breaks).
    "^[A-Za-z]{1,16}$": ["GET", "get", "A" * 16, "A" * 17, "", "G T", "1", "É"],
    "^/[^\\s?#]{0,2047}$": [
        "/",
        "/labels/labels/{labelId}",
        "/" + "x" * 2047,
        "/" + "x" * 2048,
        "",
        "labels",
        "/a b",
        "/a?b",
        "/a#b",
        "/\n",
    ],
    "^[A-Za-z0-9_.-]{1,64}$": ["a", ".", "Z" * 64, "z" * 65, "", "a b", "a/b", "é"],
    "^[ -~]{1,200}$": ["code=404", "delay=0", "x" * 200, "x" * 201, "", "code=418", "delay=60001", "respond-async"],
    UUID_PATTERN: [
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "ffffffff-ffff-4fff-bfff-ffffffffffff\n",
        "ffffffff-ffff-4fff-bfff-fffffffffff",
        "{ffffffff-ffff-4fff-bfff-ffffffffffff}",
    ],
}
FORMAT_EDGES = {
    "uuid": PATTERN_EDGES[UUID_PATTERN],
    "email": ["a@b", "ada@example.com", f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}", "@", "a@", "a@b\n", "a b@c"],
}


def schema_edges(schema):
    """Edge values of one property's schema: its pattern's or format's, and its lengths'."""
    values = list(PATTERN_EDGES.get(schema.get("pattern"), [])) + list(FORMAT_EDGES.get(schema.get("format"), []))
    if "maxLength" in schema:
        values += ["x" * schema["maxLength"], "x" * (schema["maxLength"] + 1), "é" * (schema["maxLength"] + 1)]
    if "minLength" in schema:
        values += ["x" * schema["minLength"], "x" * max(0, schema["minLength"] - 1)]
    if "minimum" in schema:
        values += [str(schema["minimum"]), str(schema["minimum"] - 1)]
    if "maximum" in schema:
        values += [str(schema["maximum"]), str(schema["maximum"] + 1), f"{schema['maximum']}\n"]
    return values


def all_patterns(node):
    if isinstance(node, dict):
        found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return found.union(*(all_patterns(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(all_patterns(value) for value in node))
    return set()


DOCUMENT = openapi.build(mock=True)


@pytest.mark.fast
def test_every_published_pattern_has_its_edge_values_here():
    assert all_patterns(DOCUMENT) <= set(PATTERN_EDGES)


def _with_parameter(op, base_path, param, value, body):
    """The call of ``op`` with ``value`` in parameter ``param``."""
    if param["in"] == "path":
        yield op, op.path.replace("{" + param["name"] + "}", quote(value, safe="")), {}, {}, body
    elif param["in"] == "header":
        if "\n" not in value:  # no client sends a line break in a header
            yield op, base_path, {}, {param["name"]: value}, body
    else:
        yield op, base_path, {param["name"]: value}, {}, body


def _to_feed(op, document_op, headers_fed):
    """``op``'s parameters, less the headers already fed on an operation of its kind."""
    for param in document_op.get("parameters", []):
        kind = (param["name"], op.path.startswith("/__admin"))
        if param["in"] == "header":
            if kind in headers_fed:
                continue
            headers_fed.add(kind)
        yield param


def calls(labels, customer):
    """(op, path, query, headers, body) of every operation with one value at an edge. The
    mock's headers are one parameter on every operation, read before any view: each is fed
    its edges on the first operation of each kind (the API's, the admin API's) that has it."""
    ids = {"{labelId}": labels[0], "{customerId}": customer}
    headers_fed = set()
    for op in openapi.operations(mock=True):
        document_op = DOCUMENT["paths"][op.path][op.method]
        base_path = op.path
        for name, value in ids.items():
            base_path = base_path.replace(name, value)
        body = BODIES.get(op.body)
        if op.body == "CustomerLabelsChange":
            body = {"labels": labels}
        for param in _to_feed(op, document_op, headers_fed):
            for value in schema_edges(param["schema"]):
                yield from _with_parameter(op, base_path, param, value, body)
        if op.body and op.body != "Fixture":
            schema = DOCUMENT["components"]["schemas"][op.body]
            for field, field_schema in schema["properties"].items():
                item_schema = field_schema.get("items")
                for value in schema_edges(item_schema or field_schema):
                    yield op, base_path, {}, {}, {**body, field: [value] if item_schema else value}


LABELS = ["vip", "newsletter"]
CUSTOMER = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"  # carries both, in fixtures/example.json


def test_edge_values_of_every_pattern_and_range_get_an_answer_never_a_5xx(mock_client):
    answered = 0
    for op, path, query, headers, body in calls(LABELS, CUSTOMER):
        response = mock_client.open(
            path, method=op.method.upper(), query_string=query, json=body, headers={**auth("admin"), **headers}
        )
        where = (op.method, path, query, headers, json.dumps(body)[:80])
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json", where
        answered += 1
        if op.method != "get" and response.status_code < 300:  # back to the example's state
            assert mock_client.post("/__admin/reset", headers=auth("admin")).status_code == 204
    assert answered > 200


def test_a_204_has_no_content_type(mock_client):
    for method, path in (
        ("DELETE", "/labels/labels/beta"),
        ("DELETE", f"/customers/customers/{CUSTOMER}"),
        ("POST", "/__admin/reset"),
    ):
        response = mock_client.open(path, method=method, headers=auth("admin"))
        assert response.status_code == 204 and "Content-Type" not in response.headers, path


def test_customer_labels_answers_are_compact_json_with_a_final_newline_like_every_other(mock_client):
    url = f"/customers/customers/{CUSTOMER}/labels"
    for method, body in (("GET", None), ("POST", {"labels": ["beta"]}), ("DELETE", {"labels": ["beta"]})):
        text = mock_client.open(url, method=method, json=body, headers=auth("editor")).get_data(as_text=True)
        assert text == json.dumps(json.loads(text), separators=(",", ":")) + "\n", method
    label = mock_client.get("/labels/labels/vip", headers=auth("reader")).get_data(as_text=True)
    assert label == json.dumps(json.loads(label), separators=(",", ":")) + "\n"


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000, "1e999", "-1e999", "1" + "0" * 5000 + ".5"])
def test_a_huge_number_in_a_body_is_a_422_on_its_field(client, number):
    response = client.post(
        "/customers/customers", data=f'{{"name": {number}}}', content_type="application/json", headers=auth("admin")
    )
    assert response.status_code == 422 and response.json["errors"][0]["path"] == "/name"
