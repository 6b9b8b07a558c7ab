"""The JSON Schema documents: they validate requests and make the OpenAPI document.

Each ``<name>.json`` here is one schema; request bodies are checked against
exactly the text that ``/openapi.json`` publishes.

Requests are validated by jsonschema-rs (Draft 2020-12): about 300 times as
fast as python-jsonschema on an attach body, and its ``pattern`` matches the
whole value as ECMA-262 does (Python's ``re`` lets ``$`` match before a final
newline, so ``"zz\n"`` would pass ``^[a-z]+$``). python-jsonschema checks
each schema when it is loaded, and the tests hold the two to the same
verdicts (tests/test_schemas.py).
"""

import functools
import json
from importlib import resources

import jsonschema_rs
from jsonschema import Draft202012Validator

#: Request body schemas, by the name the views use.
REQUEST_BODIES = (
    "label-create",
    "label-update",
    "customer-create",
    "customer-update",
    "customer-labels-change",
    "customer-labels-replace",
    "label-customers-change",
    "fixture",
    "fault-rule",
)


@functools.cache
def load(name):
    """The schema ``<name>.json`` as a dict (shared: do not change it)."""
    return json.loads((resources.files(__package__) / f"{name}.json").read_text())


@functools.cache
def validator(name):
    """The validator of schema ``name``, formats checked; the schema itself checked first."""
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def pointer(path):
    """A JSON Pointer (RFC 6901) from an error's path (a list of keys and indexes)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _message(err, limit=200):
    """The error's message, short: it quotes the offending value, which may be 64 KiB
    long, so a long value is cut first, keeping what is wrong with it."""
    message = err.message
    if len(message) <= limit:
        return message
    quoted = json.dumps(err.instance, ensure_ascii=False)
    if len(quoted) > 40 and message.startswith(quoted):
        message = quoted[:40] + "…" + message[len(quoted) :]
    return message if len(message) <= limit else message[: limit - 1] + "…"


def errors(name, instance):
    """Everything wrong with ``instance`` under schema ``name``, as {path, message}."""
    checker = validator(name)
    if checker.is_valid(instance):  # the common case, and the fast one
        return []
    found = [{"path": pointer(err.instance_path), "message": _message(err)} for err in checker.iter_errors(instance)]
    return sorted(found, key=lambda e: (e["path"], e["message"]))
