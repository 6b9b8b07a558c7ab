"""The admin API of the mock, under /__admin/: reset and snapshot the caller's namespace."""

from flask import Blueprint

from ..api.inputs import json_body
from ..auth import auth
from ..problems import Problem
from ..store import get_namespaces, get_store
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
    """The whole state, in fixture form."""
    return get_store().export()


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
