"""The Customers endpoints: /customers/customers, and segments of them by label."""

from flask import Blueprint, url_for

from ..auth import auth
from ..store import get_store
from ..store.base import customer_tag
from .inputs import customer_id, filter_labels, json_body, page, segment_args
from .preconditions import if_match, owner, tagged_json

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/customers")
@auth.login_required(role="reader")
def list_customers():
    """By id; with labels.all, labels.any or labels.none, a segment, oldest first."""
    clauses, limit, after = segment_args()
    if clauses is None:
        return page(get_store().list_customers(limit, after))
    with filter_labels(clauses):
        return page(get_store().segment(clauses, limit, after))


# Beside the collection, not under it: /customers/customers/<id> is a customer's.
@bp.get("/customer-count")
@auth.login_required(role="reader")
def count_customers():
    clauses, _, _ = segment_args(paged=False)
    with filter_labels(clauses or {}):
        return {"count": get_store().count_customers(clauses)}


@bp.post("/customers")
@auth.login_required(role="admin")
def create_customer():
    customer = get_store().create_customer(json_body("customer-create"))
    return customer, 201, {"Location": url_for(".get_customer", raw_id=customer["id"])}


@bp.get("/customers/<raw_id>")
@auth.login_required(role="reader")
def get_customer(raw_id):
    return tagged_json(get_store().get_customer(customer_id(raw_id)), customer_tag)


@bp.patch("/customers/<raw_id>")
@auth.login_required(role="admin")
def update_customer(raw_id):
    ident = customer_id(raw_id)
    store = get_store()
    guard = if_match(read := lambda: store.get_customer(ident))
    changes = json_body("customer-update", owner=owner(read, customer_tag, guard))
    return tagged_json(store.update_customer(ident, changes, guard), customer_tag)


@bp.delete("/customers/<raw_id>")
@auth.login_required(role="admin")
def delete_customer(raw_id):
    ident, store = customer_id(raw_id), get_store()
    store.delete_customer(ident, if_match(lambda: store.get_customer(ident)))
    return "", 204
