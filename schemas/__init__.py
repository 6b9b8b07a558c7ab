"""The JSON Schema documents: they validate requests and make the OpenAPI document.

Each ``<name>.json`` here is one schema; request bodies are checked against
exactly the text that ``/openapi.json`` publishes.
"""

import functools
import json
from importlib import resources

from jsonschema import Draft202012Validator

#: Request body schemas, by the name the views use.
REQUEST_BODIES = (
    "label-create",
    "label-update",
    "customer-create",
    "customer-update",
    "customer-labels-change",
    "fixture",
)


@functools.cache
def load(name):
    """The schema ``<name>.json`` as a dict (shared: do not change it)."""
    return json.loads((resources.files(__package__) / f"{name}.json").read_text())


@functools.cache
def _validator(name):
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def pointer(path):
    """A JSON Pointer (RFC 6901) from a jsonschema error path."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _short(message, limit=200):
    # jsonschema quotes the offending value, which may be up to 64 KiB long.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def errors(name, instance):
    """Everything wrong with ``instance`` under schema ``name``, as {path, message}."""
    found = [
        {"path": pointer(err.absolute_path), "message": _short(err.message)}
        for err in _validator(name).iter_errors(instance)
    ]
    return sorted(found, key=lambda e: (e["path"], e["message"]))
