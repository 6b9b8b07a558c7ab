"""The Customer Labels endpoints: get, attach, detach and replace a customer's labels."""

from flask import Blueprint, current_app

from ..auth import auth
from ..store import get_store
from ..store.base import labels_tag
from .inputs import customer_id, json_body
from .preconditions import if_match, owner, tagged

bp = Blueprint("customer_labels", __name__, url_prefix="/customers/customers/<raw_id>/labels")


@bp.get("")
@auth.login_required(role="reader")
def get_customer_labels(raw_id):
    return _json(get_store().labels_json(customer_id(raw_id)))


@bp.post("")
@auth.login_required(role="editor")
def create_customer_labels(raw_id):
    return _change(raw_id, "attach")


@bp.delete("")
@auth.login_required(role="editor")
def delete_customer_labels(raw_id):
    return _change(raw_id, "detach")


@bp.put("")
@auth.login_required(role="editor")
def replace_customer_labels(raw_id):
    return _change(raw_id, "replace", schema="customer-labels-replace")


def _change(raw_id, change, schema="customer-labels-change"):
    """Attach, detach or replace with the body's labels; the customer's labels after."""
    ident = customer_id(raw_id)
    store = get_store()
    guard = if_match(read := lambda: store.labels_json(ident))
    body = json_body(schema, owner=owner(read, labels_tag, guard))
    return _json(store.labels_json(ident, change, body["labels"], guard))


def _json(text):
    # The store gives the body as JSON text already: no decoding and encoding it again.
    # Compact, with a final newline, like every other answer.
    return tagged(current_app.response_class(text + "\n", mimetype="application/json"), labels_tag(text))
