"""The Customers endpoints: /customers/customers, just enough for customers to exist."""

from flask import Blueprint, url_for

from ..auth import auth
from ..store import get_store
from .inputs import customer_id, json_body, page, page_args

bp = Blueprint("customers", __name__, url_prefix="/customers/customers")


@bp.get("")
@auth.login_required(role="reader")
def list_customers():
    limit, after = page_args()
    return page(get_store().list_customers(limit, after))


@bp.post("")
@auth.login_required(role="admin")
def create_customer():
    customer = get_store().create_customer(json_body("customer-create"))
    return customer, 201, {"Location": url_for(".get_customer", raw_id=customer["id"])}


@bp.get("/<raw_id>")
@auth.login_required(role="reader")
def get_customer(raw_id):
    return get_store().get_customer(customer_id(raw_id))


@bp.patch("/<raw_id>")
@auth.login_required(role="admin")
def update_customer(raw_id):
    ident = customer_id(raw_id)
    store = get_store()
    changes = json_body("customer-update", owner=lambda: store.get_customer(ident))
    return store.update_customer(ident, changes)


@bp.delete("/<raw_id>")
@auth.login_required(role="admin")
def delete_customer(raw_id):
    get_store().delete_customer(customer_id(raw_id))
    return "", 204
