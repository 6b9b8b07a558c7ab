"""What the service says about itself: /openapi.json."""

import functools

from flask import Blueprint, current_app, request

from ..schemas import openapi

bp = Blueprint("meta", __name__)


@functools.cache
def _document(mock):
    return openapi.build(mock=mock)


@bp.get("/openapi.json")
def get_openapi():
    # Its server is where it was asked for (a mock namespace's prefix included), so that
    # generated clients and the explorer call the service that gave it.
    mock = bool(current_app.config["MOCK_MODE"])
    return {**_document(mock), "servers": openapi.servers(request.url_root.rstrip("/"), mock)}
