"""What the service says about itself: /openapi.json."""

import functools

from flask import Blueprint

from schemas import openapi

bp = Blueprint("meta", __name__)


@functools.cache
def _document():
    return openapi.build()


@bp.get("/openapi.json")
def get_openapi():
    return _document()
