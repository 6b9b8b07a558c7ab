"""Fault rules (mock mode): make chosen API requests fail, a set number of times.

A rule names which requests (a method, a path or path template), what happens
(a status with the usual problem body, a delay, a malformed body, or a dropped
connection) and how many times. The oldest rule with a use left that matches a
request applies to it, and wins over ``Prefer``. A rule's uses are taken in one
atomic step of the store (``journal.take_fault``), so that a rule for N requests
applies to exactly N, however many processes serve the namespace. A faulted
request runs no view, so it changes nothing, unless the rule is a delay alone:
then the real answer comes, late. The journal records the rule with the request.
"""

import json

from flask import Response, g, request

from ..api.inputs import invalid_body
from ..metrics import route_of
from ..problems import MEDIA_TYPE
from ..schemas.openapi import OPERATIONS
from ..store import BadNamespace, get_store
from .journal import is_api, matches
from .prefer import forced, hold_back

#: What a malformed answer carries: the start of a JSON document, cut off.
MALFORMED = '{"data":[{"id":'
#: Each operation's success status: what a malformed or dropped answer starts with.
SUCCESS = {(op.method.upper(), op.path): op.ok for op in OPERATIONS}
#: Fault rules a namespace may hold (used up ones too, until cleared).
MAX_RULES = 100
#: The fields of a rule as stored and listed (absent ones as null, or false).
FIELDS = ("method", "path", "status", "delayMs", "malformed", "drop", "times")


class DroppedConnection(ConnectionAbortedError):
    """Raised part-way through an answer's body: the server closes the connection."""


def rule_from(body):
    """The rule a valid ``fault-rule`` body asks for, every field present; Problem 422
    for a rule that says nothing should happen, or a drop that also answers."""
    errors = []
    if not (body.get("status") or body.get("delayMs") or body.get("malformed") or body.get("drop")):
        message = "must say what happens: status, delayMs, malformed or drop"
        errors.append({"path": "", "message": message})
    if body.get("drop") and ("status" in body or body.get("malformed")):
        errors.append({"path": "/drop", "message": "a dropped connection answers nothing: no status or malformed"})
    if errors:
        raise invalid_body(errors)
    rule = {field: body.get(field) for field in FIELDS}
    rule["method"] = rule["method"] and rule["method"].upper()
    rule["malformed"], rule["drop"] = bool(rule["malformed"]), bool(rule["drop"])
    return rule


def listed(fault_id, rule, left, used):
    """A rule as the admin API shows it."""
    return {"id": fault_id, **json.loads(rule), "remaining": left, "used": used}


def _applies(rule, req):
    return (rule["method"] in (None, req.method)) and (rule["path"] is None or matches(req.path, rule["path"]))


def _success(req):
    return SUCCESS.get((req.method, route_of(req)), 200)


def _dropped(req):
    """An answer whose body breaks off after its first byte."""

    def cut():
        yield MALFORMED[:1]
        raise DroppedConnection("a fault rule dropped this connection")

    return Response(cut(), _success(req), mimetype="application/json")


def init_app(app):
    @app.before_request
    def apply_faults():
        req = request._get_current_object()
        if not is_api(req):
            return None
        try:
            journal = g.journal = get_store(ensure_layout=False).journal  # the journal's hook reuses it
        except BadNamespace:
            return None  # answered 400 after auth, by the view's own call
        rules = {fault_id: json.loads(rule) for fault_id, rule, left, _ in journal.faults() if left != 0}
        fault_id = journal.take_fault([fault_id for fault_id, rule in rules.items() if _applies(rule, req)])
        if fault_id is None:
            return None
        rule = rules[fault_id]
        g.fault = {"id": fault_id, **rule}
        if rule["delayMs"]:
            hold_back(rule["delayMs"])
        if rule["drop"]:
            return _dropped(req)
        if rule["malformed"]:
            status = rule["status"] or _success(req)
            return Response(MALFORMED, status, mimetype=MEDIA_TYPE if status >= 400 else "application/json")
        if rule["status"]:
            raise forced(rule["status"], "a fault rule")
        return None  # a delay alone: the real answer, late
