"""Examples for the OpenAPI document, from the example fixture (fixtures/example.json).

With the mock seeded from that fixture (``SEED_FILE=fixtures/example.json make run``),
the API explorer's *Try it out* sends these as they are and succeeds: get, attach and
detach name a customer and labels the fixture has. tests/test_openapi.py holds them to
the fixture and to their schemas.
"""

from http import HTTPStatus

#: Ada Lovelace, who carries vip and newsletter in the fixture.
CUSTOMER_ID = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
STAMPS = {"createdAt": "2026-01-05T09:30:00.000Z", "updatedAt": "2026-01-05T09:30:00.000Z"}
VIP = {"id": "vip", "name": "VIP", "color": "#ffd700", "description": "Top customers", **STAMPS}
NEWSLETTER = {"id": "newsletter", "name": "Newsletter", "color": "#1976d2", "description": None, **STAMPS}
ADA = {"id": CUSTOMER_ID, "name": "Ada Lovelace", "email": "ada@example.com", **STAMPS}

#: Path parameters, by name.
PARAMETERS = {"customerId": CUSTOMER_ID, "labelId": "vip"}
#: Request bodies, by operation id.
BODIES = {
    "createLabel": {"id": "gold", "name": "Gold", "color": "#d4af37", "description": "Spent over 10,000"},
    "updateLabel": {"color": "#ffc107"},
    "createCustomer": {"name": "Katherine Johnson", "email": "katherine@example.com"},
    "updateCustomer": {"email": "ada@lovelace.example"},
    "createCustomerLabels": {"labels": ["beta"]},
    "deleteCustomerLabels": {"labels": ["newsletter"]},
    "replaceCustomerLabels": {"labels": ["vip", "beta"]},
    # Grace Hopper and Alan Turing, in the fixture.
    "attachLabelCustomers": {
        "customers": ["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f"]
    },
    "detachLabelCustomers": {"customers": [CUSTOMER_ID]},
    "putSnapshot": {
        "labels": [{"id": "vip", "name": "VIP", "color": "#ffd700"}, {"id": "beta", "name": "Beta tester"}],
        "customers": [{"id": CUSTOMER_ID, "name": "Ada Lovelace", "email": "ada@example.com", "labels": ["vip"]}],
    },
    "addFault": {"method": "POST", "path": "/customers/customers/{customerId}/labels", "status": 503, "times": 1},
}
#: A fault rule as the mock lists it.
FAULT = {**BODIES["addFault"], "delayMs": None, "malformed": False, "drop": False, "remaining": 1, "used": 0}
#: A request as the journal keeps it.
ENTRY = {
    "id": "1",
    "time": "2026-01-05T09:31:00.000Z",
    "method": "POST",
    "path": f"/customers/customers/{CUSTOMER_ID}/labels",
    "query": {},
    "headers": {"content-type": "application/json"},
    "body": BODIES["createCustomerLabels"],
    "bodyText": None,
    "status": 200,
    "responseBody": {"data": [NEWSLETTER, VIP]},
    "responseBodyTruncated": False,
    "durationMs": 1.5,
    "requestId": "3b1f0c9a4e2d4b6f8a7c5e3d1b9f0a2c",
    "operation": "POST /customers/customers/{customerId}/labels",
    "fault": None,
}
#: Answers, by the operation table's ``result``.
RESULTS = {
    "Label": VIP,
    "LabelWithCount": {**VIP, "customerCount": 1},
    "Customer": ADA,
    "CustomerLabels": {"data": [NEWSLETTER, VIP]},
    "page of Label": {"data": [VIP], "nextCursor": None},
    "page of LabelWithCount": {"data": [{**VIP, "customerCount": 1}], "nextCursor": None},
    "page of Customer": {"data": [ADA], "nextCursor": None},
    "Status": {"status": "ok"},
    "OpenAPI": {"openapi": "3.1.0", "info": {"title": "Customer Labels", "version": "1.0.0"}, "paths": {}},
    "Metrics": 'customer_labels_requests_total{route="/labels/labels",method="GET",status="200"} 1.0\n',
    "Snapshot": {
        "labels": [{**VIP}],
        "customers": [{**ADA, "labels": ["vip"]}],
    },
    "page of JournalEntry": {"data": [ENTRY], "nextCursor": None},
    "Fault": {"id": "1", **FAULT},
    "list of Fault": {"data": [{"id": "1", **FAULT}]},
    "Count": {"count": 1280},
    "CarriersChange": {"changed": [CUSTOMER_ID], "unchanged": [], "customerCount": 1},
    "Coverage": {"operations": {"POST /customers/customers/{customerId}/labels": {"200": 1}}},
}


def problem(status, detail):
    """A problem body as the service writes it."""
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
