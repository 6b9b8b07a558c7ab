"""What the service says about itself: /openapi.json."""

import functools

from flask import Blueprint, current_app

from ..schemas import openapi

bp = Blueprint("meta", __name__)


@functools.cache
def _document(mock):
    return openapi.build(mock=mock)


@bp.get("/openapi.json")
def get_openapi():
    return _document(bool(current_app.config["MOCK_MODE"]))
