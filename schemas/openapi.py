"""The OpenAPI 3.1 document, built from the schema files and the operation table.

The operation table names, for each route, what it takes and what it can
answer; a test checks it against the app's routes, and schemathesis checks the
app against it.
"""

import copy
import re
from collections import namedtuple

from ..rate_limits import EXEMPT_PATHS
from ..rate_limits import HEADERS as RATE_LIMIT_HEADERS
from ..server.bridge import BODY_SECONDS
from ..settings import MAX_BODY_BYTES
from ..store import LABEL_CAP
from ..store.base import SEGMENT_LABELS
from . import examples, load

API_VERSION = "1.0.0"
COMPONENTS = {
    "Label": "label",
    "Customer": "customer",
    "Problem": "problem",
    "LabelCreate": "label-create",
    "LabelUpdate": "label-update",
    "CustomerCreate": "customer-create",
    "CustomerUpdate": "customer-update",
    "CustomerLabelsChange": "customer-labels-change",
    "CustomerLabelsReplace": "customer-labels-replace",
    "LabelCustomersChange": "label-customers-change",
}
MOCK_COMPONENTS = {"Fixture": "fixture", "FaultRule": "fault-rule", "JournalEntry": "journal-entry"}
#: What a request may be answered when it names a method its path lacks (with Allow).
NO_SUCH_METHOD = 405
#: What a fault rule (mock/faults.py) may force on any API operation of the mock;
#: ``Prefer: code=...`` forces some of them (mock/prefer.py).
FORCED = tuple(load("fault-rule")["properties"]["status"]["enum"])

# role: the lowest role allowed, or None for no auth. body: request schema
# component. ok: success status. result: success body, a component or "page of"
# one, "page of" one or "list of" one. page: takes limit and a cursor, of the kind named ("id" or "number"). conflict:
# may answer 409. store: needs the store, so may answer 503 while it is down.
Operation = namedtuple(
    "Operation",
    "method path op_id summary role body ok result page conflict store",
    defaults=(None,) * 6 + (True,),
)

CUSTOMER = "/customers/customers/{customerId}"
LABEL = "/labels/labels/{labelId}"
OPERATIONS = (
    Operation("get", "/openapi.json", "getOpenApi", "This document", None, ok=200, result="OpenAPI", store=False),
    Operation(
        "get", "/healthz", "getLiveness", "Liveness: the process answers", None, ok=200, result="Status", store=False
    ),
    Operation("get", "/readyz", "getReadiness", "Readiness: the store answers", None, ok=200, result="Status"),
    Operation(
        "get",
        "/metrics",
        "getMetrics",
        "Metrics in Prometheus's text format (the admin role, or METRICS_TOKEN)",
        "admin",
        ok=200,
        result="Metrics",
        store=False,
    ),
    Operation(
        "get",
        "/labels/labels",
        "listLabels",
        "List labels by id",
        "reader",
        ok=200,
        result="page of LabelWithCount",
        page="id",
    ),
    Operation(
        "post",
        "/labels/labels",
        "createLabel",
        "Create a label",
        "admin",
        body="LabelCreate",
        ok=201,
        result="LabelWithCount",
        conflict=True,
    ),
    Operation("get", LABEL, "getLabel", "Get a label", "reader", ok=200, result="LabelWithCount"),
    Operation(
        "patch",
        LABEL,
        "updateLabel",
        "Change a label's name, color or description",
        "admin",
        body="LabelUpdate",
        ok=200,
        result="LabelWithCount",
        conflict=True,
    ),
    Operation("delete", LABEL, "deleteLabel", "Delete a label and detach it everywhere", "admin", ok=204),
    Operation(
        "get",
        LABEL + "/customers",
        "listLabelCustomers",
        "List the customers that carry a label, oldest first",
        "reader",
        ok=200,
        result="page of Customer",
        page="number",
    ),
    Operation(
        "post",
        LABEL + "/customers",
        "attachLabelCustomers",
        "Attach a label to many customers, all or none",
        "editor",
        body="LabelCustomersChange",
        ok=200,
        result="CarriersChange",
    ),
    Operation(
        "delete",
        LABEL + "/customers",
        "detachLabelCustomers",
        "Detach a label from many customers, all or none",
        "editor",
        body="LabelCustomersChange",
        ok=200,
        result="CarriersChange",
    ),
    Operation(
        "get",
        "/customers/customers",
        "listCustomers",
        "List customers by id, or a segment's, oldest first",
        "reader",
        ok=200,
        result="page of Customer",
        page="id",
    ),
    Operation(
        "get",
        "/customers/customer-count",
        "countCustomers",
        "Count customers, or those a segment selects",
        "reader",
        ok=200,
        result="Count",
    ),
    Operation(
        "post",
        "/customers/customers",
        "createCustomer",
        "Create a customer",
        "admin",
        body="CustomerCreate",
        ok=201,
        result="Customer",
        conflict=True,
    ),
    Operation("get", CUSTOMER, "getCustomer", "Get a customer", "reader", ok=200, result="Customer"),
    Operation(
        "patch",
        CUSTOMER,
        "updateCustomer",
        "Change a customer's name or email",
        "admin",
        body="CustomerUpdate",
        ok=200,
        result="Customer",
    ),
    Operation("delete", CUSTOMER, "deleteCustomer", "Delete a customer and its labels", "admin", ok=204),
    Operation(
        "get",
        CUSTOMER + "/labels",
        "getCustomerLabels",
        "Get a customer's labels",
        "reader",
        ok=200,
        result="CustomerLabels",
    ),
    Operation(
        "post",
        CUSTOMER + "/labels",
        "createCustomerLabels",
        "Attach labels to a customer, all or none",
        "editor",
        body="CustomerLabelsChange",
        ok=200,
        result="CustomerLabels",
    ),
    Operation(
        "delete",
        CUSTOMER + "/labels",
        "deleteCustomerLabels",
        "Detach labels from a customer",
        "editor",
        body="CustomerLabelsChange",
        ok=200,
        result="CustomerLabels",
    ),
    Operation(
        "put",
        CUSTOMER + "/labels",
        "replaceCustomerLabels",
        "Make a customer carry exactly these labels, all or none",
        "editor",
        body="CustomerLabelsReplace",
        ok=200,
        result="CustomerLabels",
    ),
)

#: Only in mock mode: the admin API of the mock.
MOCK_OPERATIONS = (
    Operation(
        "post",
        "/__admin/reset",
        "resetMock",
        "Put the caller's namespace back to the seed (SEED_FILE), or empty",
        "admin",
        ok=204,
    ),
    Operation(
        "get",
        "/__admin/snapshot",
        "getSnapshot",
        "The caller's namespace, whole, as a fixture",
        "admin",
        ok=200,
        result="Snapshot",
    ),
    Operation(
        "put",
        "/__admin/snapshot",
        "putSnapshot",
        "Replace the caller's namespace, whole, with a fixture",
        "admin",
        body="Fixture",
        ok=204,
    ),
    Operation(
        "get",
        "/__admin/requests",
        "listRequests",
        "The requests the caller's namespace received (its journal), newest first",
        "admin",
        ok=200,
        result="page of JournalEntry",
        page="number",
    ),
    Operation(
        "delete", "/__admin/requests", "clearRequests", "Empty the caller's namespace's journal", "admin", ok=204
    ),
    Operation(
        "post",
        "/__admin/faults",
        "addFault",
        "Add a fault rule to the caller's namespace",
        "admin",
        body="FaultRule",
        ok=201,
        result="Fault",
    ),
    Operation(
        "get",
        "/__admin/faults",
        "listFaults",
        "The caller's namespace's fault rules, the first to apply first",
        "admin",
        ok=200,
        result="list of Fault",
    ),
    Operation(
        "delete", "/__admin/faults", "clearFaults", "Remove the caller's namespace's fault rules", "admin", ok=204
    ),
    Operation(
        "get",
        "/__admin/coverage",
        "getCoverage",
        "How many answers of each status each operation gave the caller's namespace",
        "admin",
        ok=200,
        result="Coverage",
    ),
)
PATH_PARAMETERS = {
    "customerId": {"type": "string", "format": "uuid"},
    "labelId": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
#: The journal's filters (mock/admin.py checks the same patterns).
JOURNAL_FILTERS = [
    {
        "name": "method",
        "in": "query",
        "description": "Only requests with this method (any case).",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{1,16}$"},
    },
    {
        "name": "path",
        "in": "query",
        "description": "Only requests to this path, or path template as this document writes it ({param}: a segment).",
        "schema": {"type": "string", "pattern": "^/[^\\s?#]{0,2047}$"},
        "example": "/customers/customers/{customerId}/labels",
    },
    {
        "name": "status",
        "in": "query",
        "description": "Only requests answered with this status.",
        "schema": {"type": "integer", "minimum": 100, "maximum": 599},
    },
]
#: A segment's filters (api.inputs.segment_args): on listing and counting customers.
SEGMENT_FILTERS = [
    {
        "name": f"labels.{clause}",
        "in": "query",
        "description": f"Only customers that carry {what} of these labels (label ids, separated by commas; "
        f"{SEGMENT_LABELS} in all the filters at most). With any filter, a listing is oldest first, "
        "and a label that does not exist is a 400.",
        "schema": {
            "type": "string",
            "pattern": "^{0}(,{0}){{0,{1}}}$".format(
                PATH_PARAMETERS["labelId"]["pattern"].strip("^$"), SEGMENT_LABELS - 1
            ),
        },
        "example": example,
    }
    for clause, what, example in (
        ("all", "every one", "vip,beta"),
        ("any", "at least one", "churned"),
        ("none", "none", "test"),
    )
]
FILTERED = ("listCustomers", "countCustomers")
#: Conditional requests (api.preconditions): the reads that answer with an ETag (and a 304
#: to If-None-Match), and the writes that take If-Match (a 412 when it no longer matches).
TAGGED_READS = ("getCustomerLabels", "getLabel", "getCustomer")
GUARDED = (
    "createCustomerLabels",
    "deleteCustomerLabels",
    "replaceCustomerLabels",
    "updateLabel",
    "deleteLabel",
    "updateCustomer",
    "deleteCustomer",
)
#: If-Match and If-None-Match: * or entity tags (RFC 9110) separated by commas; the list
#: may be empty (then If-Match matches nothing, and If-None-Match everything).
CONDITION_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)?$'
CONDITIONS = {
    "If-None-Match": "An ETag this resource was answered with (or *): while it still has it, a 304 with no body.",
    "If-Match": "The ETag the resource was read with (or *): if it has another now, a 412 and "
    "nothing changes. Checked in the same step as the change.",
}
ETAG = {
    "description": "The strong tag of what this answer shows: send it back as If-Match or If-None-Match.",
    "schema": {"type": "string"},
}
#: The mock's request headers: on the API's operations, and the namespace on the admin API's too.
MOCK_HEADERS = {
    "Prefer": {
        "name": "Prefer",
        "in": "header",
        "description": "code=401|403|404|422|500|503 answers with that status and changes nothing; "
        "delay=MS (0 to 60000) holds the answer back. A matching fault rule wins over it.",
        # No example: the API explorer would fill it in and send it with every try.
        "schema": {"type": "string", "pattern": "^[ -~]{1,200}$"},
    },
    "X-Mock-Namespace": {
        "name": "X-Mock-Namespace",
        "in": "header",
        "description": "The namespace (a state of its own) the request acts on; "
        "the same as the base path /__ns/NAME (see servers).",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
    },
}
MOCK_DESCRIPTION = """

This is the mock (mock mode). On top of the API it has:

- **Namespaces.** A request with `X-Mock-Namespace: NAME`, or a path that starts with
  `/__ns/NAME/`, sees its own state, seeded from the fixture on first use. Idle ones expire.
- **Forced answers.** `Prefer: code=401|403|404|422|500|503` answers with that status and a
  problem body like the real one, and changes nothing. `Prefer: delay=250` waits 250 ms first.
- **The request journal.** Every API request is recorded, with its answer: read it with
  `GET /__admin/requests` (filter by method, path template and status).
- **Fault rules.** `POST /__admin/faults` makes matching requests answer a status, late, with a
  malformed body, or not at all (a dropped connection), a set number of times; they win over
  `Prefer`. So any API operation may answer any status a fault rule can set.
- **The admin API** below, on the caller's namespace.
"""

#: The cursors of each kind of page (see api.inputs): every string of the
#: pattern is a valid position, so no schema-valid cursor is refused.
CURSORS = {"id": "^[A-Za-z0-9_-]{1,64}$", "number": "^[0-9]{1,18}$"}
#: Items per page: when ``limit`` is not given, and at most.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _page_parameters(kind):
    return [
        {
            "name": "limit",
            "in": "query",
            "description": "Items per page.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "nextCursor of the previous page, as it came.",
            "schema": {"type": "string", "pattern": CURSORS[kind]},
        },
    ]


ERRORS = {
    400: "The body is not JSON, is cut short, or a query parameter is invalid or given twice.",
    401: "No token, or an unknown one.",
    403: "The token's role may not do this.",
    404: "No such resource.",
    409: "The id or name is already taken.",
    408: f"The body did not arrive within {BODY_SECONDS} s of the headers.",
    413: f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.",
    422: "The body breaks the schema or a rule.",
    412: "If-Match names no tag the resource has now: it changed since it was read, and nothing was changed.",
    405: "This path does not support that method (see Allow); only for a method not listed here.",
    500: "The mock was asked for it (Prefer: code=500); the service itself answers 500 only for a bug.",
    502: "Only from the mock, forced by a fault rule.",
    504: "Only from the mock, forced by a fault rule.",
    429: "This token's reads or writes passed RATE_LIMIT; retry after Retry-After seconds.",
    503: "The store is not available; retry after Retry-After seconds.",
}


#: What the HTTP server answers itself, before the app sees the request: with
#: no body and no headers of the app's (see customer_labels/server).
SERVER_ERRORS = {
    400: "The request line or headers are malformed (the server answers with no body).",
    414: "The request line is longer than about 64 KiB (the server answers with no body).",
    431: "The headers are larger than about 64 KiB, or more than 100 (the server answers with no body).",
}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, example=None):
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"content": {"application/json": media}}


def _result_schema(result):
    if result == "OpenAPI":
        strings = {"type": "string"}
        return {
            "type": "object",
            "properties": {"openapi": strings, "info": {"type": "object"}, "paths": {"type": "object"}},
            "required": ["openapi", "info", "paths"],
            "additionalProperties": True,
        }
    if result == "Status":
        return {
            "type": "object",
            "properties": {"status": {"const": "ok"}},
            "required": ["status"],
        }
    if result == "CustomerLabels":
        return {
            "type": "object",
            "properties": {"data": {"type": "array", "items": _ref("Label"), "maxItems": LABEL_CAP}},
            "required": ["data"],
            "additionalProperties": False,
        }
    if result == "Count":
        return {
            "type": "object",
            "properties": {"count": {"type": "integer", "minimum": 0}},
            "required": ["count"],
            "additionalProperties": False,
        }
    if result == "CarriersChange":
        ids = {"type": "array", "items": {"type": "string", "format": "uuid"}}
        return {
            "type": "object",
            "description": "What the change did: the customers it changed, in the request's order, "
            "and those it left as they were (they carried the label already, or did not).",
            "properties": {
                "changed": ids,
                "unchanged": ids,
                "customerCount": {"type": "integer", "minimum": 0, "description": "How many carry the label now."},
            },
            "required": ["changed", "unchanged", "customerCount"],
            "additionalProperties": False,
        }
    if result == "Coverage":
        counts = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}
        return {
            "type": "object",
            "description": 'By operation ("GET /labels/labels/{labelId}"), then status ("200"): how many answers.',
            "properties": {"operations": {"type": "object", "additionalProperties": counts}},
            "required": ["operations"],
            "additionalProperties": False,
        }
    if result.startswith("list of "):
        return {
            "type": "object",
            "properties": {"data": {"type": "array", "items": _ref(result.removeprefix("list of "))}},
            "required": ["data"],
            "additionalProperties": False,
        }
    if result.startswith("page of "):
        return {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": _ref(result.removeprefix("page of "))},
                "nextCursor": {"type": ["string", "null"]},
            },
            "required": ["data", "nextCursor"],
            "additionalProperties": False,
        }
    return _ref(result)


def _error_statuses(op, mock=False):
    statuses = {NO_SUCH_METHOD}
    if mock and _tag(op.path) not in ("Mock", "Service"):  # the API's: faults and Prefer force answers
        statuses.update(FORCED)
    if op.role:
        statuses.add(401)
        if op.path not in EXEMPT_PATHS:
            statuses.add(429)
        if op.role != "reader":
            statuses.add(403)
    for applies, found in (
        ("{" in op.path, {404}),
        (op.body, {400, 408, 413, 422}),
        (op.page or op.op_id in FILTERED + TAGGED_READS, {400}),  # a query, or If-None-Match
        (op.conflict, {409}),
        (op.op_id in GUARDED, {400, 412}),  # If-Match malformed, or not matching
        (op.store, {503}),
    ):
        if applies:
            statuses |= found
    return sorted(statuses)


def _tag(path):
    """The group an operation is listed under, by its path."""
    if path.endswith("}/labels"):
        return "Customer labels"
    for prefix, tag in (("/labels", "Labels"), ("/customers", "Customers"), ("/__admin", "Mock")):
        if path.startswith(prefix):
            return tag
    return "Service"


def _links(op):
    """From a create, links to every operation on the new resource, by its id."""
    links = {}
    for other in OPERATIONS:
        for name in PATH_PARAMETERS:
            if other.path.startswith(f"{op.path}/{{{name}}}"):
                links[other.op_id] = {
                    "operationId": other.op_id,
                    "parameters": {name: "$response.body#/id"},
                }
    return links


def _success(op):
    """The answer of ``op`` when it succeeds."""
    success = {"description": op.summary}
    if op.result == "Metrics":
        success["content"] = {"text/plain": {"schema": {"type": "string"}, "example": examples.RESULTS[op.result]}}
    elif op.result:
        success.update(_json(_result_schema(op.result), examples.RESULTS[op.result]))
    if op.ok == 201 and not op.path.startswith("/__admin"):  # a fault rule has no URL of its own
        location = {"description": "The new resource's URL.", "required": True, "schema": {"type": "string"}}
        success["headers"] = {"Location": location}
        success["links"] = _links(op)
    if op.op_id in TAGGED_READS + GUARDED and op.ok == 200:
        success["headers"] = {"ETag": ETAG}
    return success


def _responses(op, mock=False):
    """Every answer of ``op``: its success, its problems, and what the server answers itself."""
    responses = {str(op.ok): _success(op)}
    if op.op_id in TAGGED_READS:
        responses["304"] = {"description": "Not modified: If-None-Match names its tag.", "headers": {"ETag": ETAG}}
    for status in _error_statuses(op, mock):
        example = examples.problem(status, ERRORS[status])
        response = {
            "description": ERRORS[status],
            "content": {"application/problem+json": {"schema": _ref("Problem"), "example": example}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 503:
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        if status == 429:
            names = ("Retry-After", *RATE_LIMIT_HEADERS)
            response["headers"] = {name: {"schema": {"type": "string"}} for name in names}
        responses[str(status)] = response
    for status, description in SERVER_ERRORS.items():
        if str(status) in responses:
            responses[str(status)]["description"] += " " + description
        else:
            responses[str(status)] = {"description": description}
    return responses


def _operation(op, mock=False):
    responses = _responses(op, mock)
    params = [
        {"name": name, "in": "path", "required": True, "schema": schema, "example": examples.PARAMETERS[name]}
        for name, schema in PATH_PARAMETERS.items()
        if "{" + name + "}" in op.path
    ]
    if op.page:
        params += _page_parameters(op.page)
    if op.op_id == "listRequests":
        params += JOURNAL_FILTERS
    if op.op_id in FILTERED:
        params += SEGMENT_FILTERS
    condition = "If-None-Match" if op.op_id in TAGGED_READS else "If-Match" if op.op_id in GUARDED else None
    if condition:
        params.append(
            {"name": condition, "in": "header", "description": CONDITIONS[condition], "schema": {"type": "string"}}
        )
    if mock and _tag(op.path) != "Service":  # the API's take both; the admin API, the namespace
        admin = _tag(op.path) == "Mock"
        params += [MOCK_HEADERS[name] for name in MOCK_HEADERS if not (admin and name == "Prefer")]
    operation = {"operationId": op.op_id, "summary": op.summary, "tags": [_tag(op.path)], "responses": responses}
    if params:
        operation["parameters"] = copy.deepcopy(params)
    if op.body:
        operation["requestBody"] = {"required": True, **_json(_ref(op.body), examples.BODIES[op.op_id])}
    operation["description"] = f"{op.summary}. " + (
        f"Needs the {op.role} role or higher." if op.role else "Needs no token."
    )
    if not op.role:
        operation["security"] = []
    return operation


#: The groups operations are listed under, the product's core first.
TAGS = ("Customer labels", "Labels", "Customers", "Mock", "Service")


def operations(mock=False):
    """Every operation the app serves, the mock's too in mock mode."""
    return OPERATIONS + MOCK_OPERATIONS if mock else OPERATIONS


def _always_sent(schema):
    """A copy of an object schema (and of the object schemas it holds) whose every
    property is required: what an answer always carries, though a request may leave out."""
    schema = copy.deepcopy(schema)
    for node in (schema, *(p.get("items", {}) for p in schema.get("properties", {}).values())):
        if node.get("type") == "object":
            node["required"] = list(node["properties"])
    return schema


def _with_count(label):
    """A label as the Labels endpoints answer it: with how many customers carry it."""
    counted = copy.deepcopy(label)
    counted["title"] = "LabelWithCount"
    counted["properties"]["customerCount"] = {
        "description": "How many customers carry the label (on a Redis Cluster: once each change has answered).",
        "type": "integer",
        "minimum": 0,
    }
    counted["required"] = [*counted["required"], "customerCount"]
    return counted


def _fault(rule):
    """A fault rule as the mock lists it: every field there (null when not given), its
    id, and its uses."""
    fault = copy.deepcopy(rule)
    fault.update(title="Fault", description="A fault rule of the mock, as it is listed.")
    for prop in fault["properties"].values():
        if prop["type"] != "boolean":
            prop["type"] = [prop["type"], "null"]
            if "enum" in prop:
                prop["enum"] = [*prop["enum"], None]
    fault["properties"] = {
        "id": {"description": "Its id in the namespace.", "type": "string"},
        **fault["properties"],
        "remaining": {"description": "Uses left; null for no limit.", "type": ["integer", "null"], "minimum": 0},
        "used": {"description": "Requests it applied to.", "type": "integer", "minimum": 0},
    }
    fault["required"] = list(fault["properties"])
    return fault


def servers(server, mock):
    """The document's servers: ``server``, and in mock mode any namespace of it."""
    found = [{"url": server, "description": "The service, as it was asked for this document."}]
    if mock:
        found.append(
            {
                "url": re.sub(r"/__ns/[^/]*$", "", server) + "/__ns/{namespace}",
                "description": "The mock, in a namespace of its own (or send X-Mock-Namespace).",
                "variables": {"namespace": {"default": "my-test", "description": "1 to 64 of A-Z a-z 0-9 _ . -"}},
            }
        )
    return found


def build(mock=False, server="http://localhost:5000"):
    """The whole document, as a dict; ``server`` is the base URL it names (the service
    names the one it was asked at)."""
    paths = {}
    for op in operations(mock):
        paths.setdefault(op.path, {})[op.method] = _operation(op, mock)
    schemas = {}
    for name, file in {**COMPONENTS, **(MOCK_COMPONENTS if mock else {})}.items():
        schema = copy.deepcopy(load(file))
        schema.pop("$schema", None)
        schemas[name] = schema
    schemas["LabelWithCount"] = _with_count(schemas["Label"])
    if mock:
        schemas["Snapshot"] = dict(_always_sent(schemas["Fixture"]), title="Snapshot")
        schemas["Fault"] = _fault(schemas["FaultRule"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Customer Labels",
            "version": API_VERSION,
            "description": "Which labels are attached to which customers." + (MOCK_DESCRIPTION if mock else ""),
            "contact": {"name": "The Customer Labels team"},
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": servers(server, mock),
        "tags": [{"name": tag} for tag in TAGS if tag != "Mock" or mock],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
