"""Health checks for the platform: no token, and cheap."""

from flask import Blueprint

from ..problems import RETRY_AFTER, problem
from ..store import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. No store call, so a Redis outage does
    not get healthy processes restarted."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: the store answers a ping."""
    # check() brings the layout up to date itself, and says False rather than raising.
    if get_store(ensure_layout=False).check():
        return {"status": "ok"}
    return problem(503, "The store does not answer.", headers={"Retry-After": RETRY_AFTER})
