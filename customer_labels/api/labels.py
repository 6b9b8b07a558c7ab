"""The Labels endpoints: /labels/labels."""

from flask import Blueprint, url_for

from ..auth import auth
from ..store import get_store
from .inputs import json_body, page, page_args

bp = Blueprint("labels", __name__, url_prefix="/labels/labels")


@bp.get("")
@auth.login_required(role="reader")
def list_labels():
    limit, after = page_args()
    return page(get_store().list_labels(limit, after))


@bp.post("")
@auth.login_required(role="admin")
def create_label():
    label = get_store().create_label(json_body("label-create"))
    return label, 201, {"Location": url_for(".get_label", label_id=label["id"])}


@bp.get("/<label_id>")
@auth.login_required(role="reader")
def get_label(label_id):
    return get_store().get_label(label_id)


@bp.patch("/<label_id>")
@auth.login_required(role="admin")
def update_label(label_id):
    store = get_store()
    changes = json_body("label-update", owner=lambda: store.get_label(label_id))
    return store.update_label(label_id, changes)


@bp.delete("/<label_id>")
@auth.login_required(role="admin")
def delete_label(label_id):
    get_store().delete_label(label_id)
    return "", 204


@bp.get("/<label_id>/customers")
@auth.login_required(role="reader")
def list_label_customers(label_id):
    store = get_store()
    limit, after = page_args("number", owner=lambda: store.get_label(label_id))
    return page(store.label_customers(label_id, limit, after))


@bp.post("/<label_id>/customers")
@auth.login_required(role="editor")
def attach_label_customers(label_id):
    return _change_carriers(label_id, "attach")


@bp.delete("/<label_id>/customers")
@auth.login_required(role="editor")
def detach_label_customers(label_id):
    return _change_carriers(label_id, "detach")


def _change_carriers(label_id, change):
    """Attach or detach the label for the body's customers; what changed."""
    store = get_store()
    body = json_body("label-customers-change", owner=lambda: store.get_label(label_id))
    return store.change_carriers(label_id, change, body["customers"])
