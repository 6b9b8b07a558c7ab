"""The admin API of the mock, under /__admin/: reset and snapshot the caller's namespace."""

from flask import Blueprint, current_app

from ..api.inputs import json_body
from ..auth import auth
from ..problems import Problem
from ..settings import MAX_BODY_BYTES
from ..store import get_namespaces, get_store
from ..store.errors import TooLarge
from . import seed

bp = Blueprint("admin", __name__, url_prefix="/__admin")


@bp.post("/reset")
@auth.login_required(role="admin")
def reset():
    """Back to the seed (SEED_FILE), or to empty without one."""
    get_store().replace(get_namespaces().seed or {})
    return "", 204


@bp.get("/snapshot")
@auth.login_required(role="admin")
def get_snapshot():
    """The whole state, in fixture form: at most what a PUT may send back (MAX_BODY_BYTES),
    read no further than that."""
    pieces, size = [], 0
    for piece in seed.text(*get_store().export_parts()):
        size += len(piece.encode())
        if size > MAX_BODY_BYTES:
            raise TooLarge(f"a snapshot of more than {MAX_BODY_BYTES // 1024} KiB", MAX_BODY_BYTES)
        pieces.append(piece)
    return current_app.response_class("".join(pieces), mimetype="application/json")


@bp.put("/snapshot")
@auth.login_required(role="admin")
def put_snapshot():
    """Replace the whole state with a fixture; a bad one changes nothing."""
    state = json_body("fixture")
    try:
        seed.check(state, source="body")
    except seed.SeedError as err:
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in err.errors)
        raise Problem(422, detail, title="Invalid fixture", errors=err.errors) from None
    get_store().replace(state)
    return "", 204
