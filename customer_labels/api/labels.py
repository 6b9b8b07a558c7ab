"""The Labels endpoints: /labels/labels."""

from flask import Blueprint, url_for

from ..auth import auth
from ..store import get_store
from ..store.base import label_tag
from .inputs import json_body, page, page_args
from .preconditions import if_match, owner, tagged_json

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
    return tagged_json(get_store().get_label(label_id), label_tag)


@bp.patch("/<label_id>")
@auth.login_required(role="admin")
def update_label(label_id):
    store = get_store()
    guard = if_match(read := lambda: store.get_label(label_id))
    changes = json_body("label-update", owner=owner(read, label_tag, guard))
    return tagged_json(store.update_label(label_id, changes, guard), label_tag)


@bp.delete("/<label_id>")
@auth.login_required(role="admin")
def delete_label(label_id):
    store = get_store()
    store.delete_label(label_id, if_match(lambda: store.get_label(label_id)))
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
