"""Conditional requests: an ETag on what a client reads, If-None-Match (a 304) on reads
and If-Match (a 412) on writes. The tags are the store's (store/base.py), so that a
write checks If-Match in the same atomic step as it changes the resource."""

import re

from flask import current_app, request

from ..problems import Problem
from ..schemas.openapi import CONDITION_PATTERN
from ..store.base import check_guard, guard_of

CONDITION = re.compile(CONDITION_PATTERN.strip("^$"))
TAG = re.compile(r'(W/)?"([^"]*)"')


def _tags(name, read):
    """The header ``name`` as (weak, tag) pairs, "*", or None when absent; a 400 when it
    is malformed, after ``read()`` (a missing resource is a 404 first)."""
    value = request.headers.get(name)
    if value is None:
        return None
    value = value.strip(" \t")
    if not CONDITION.fullmatch(value):
        read()
        message = 'must be * or entity tags ("tag" or W/"tag") separated by commas'
        raise Problem(
            400, f"{name} {message}.", title="Invalid header", errors=[{"parameter": name, "message": message}]
        )
    return "*" if value == "*" else [(bool(weak), tag) for weak, tag in TAG.findall(value)]


def if_match(read):
    """If-Match as the store takes it: None without one, "*", or its strong tags (a weak
    tag never matches for a write)."""
    tags = _tags("If-Match", read)
    return tags if tags in (None, "*") else tuple(tag for weak, tag in tags if not weak)


def owner(read, tag_of, guard):
    """For ``json_body``'s owner: the resource exists (``read`` raises NotFound) and passes
    the If-Match ``guard``, so that a 404 and then a 412 outrank a 400 or 422 of the body."""

    def check():
        check_guard(guard_of(guard), tag_of(read()))

    return check


def tagged(response, tag):
    """``response`` with its ETag; to a GET whose If-None-Match names it (weakly), a 304."""
    if "HTTP_IF_NONE_MATCH" in request.environ and request.method in ("GET", "HEAD"):
        tags = _tags("If-None-Match", lambda: None)
        if tags == "*" or tag in (t for _, t in tags):
            response = current_app.response_class(status=304)
    response.headers["ETag"] = f'"{tag}"'  # a hex digest: nothing to quote
    return response


def tagged_json(found, tag_of):
    """A resource as JSON, with its ETag (``tagged``)."""
    return tagged(current_app.make_response(found), tag_of(found))
