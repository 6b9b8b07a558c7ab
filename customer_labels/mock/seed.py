"""Fixture files: read them (JSON or YAML), and find everything wrong with one.

A fixture is a whole state, the same form that snapshots and exports take:

    {"labels": [{"id": "vip", "name": "VIP"}],
     "customers": [{"id": "<uuid>", "name": "Ada", "labels": ["vip"]}]}

Nothing is loaded until all of it is checked, so a bad fixture changes nothing.
"""

import json
from pathlib import Path

import yaml

from .. import schemas
from ..store import LABEL_CAP
from ..store.base import name_key


class SeedError(ValueError):
    """A fixture that cannot be loaded; ``errors`` lists every problem as {path, message}."""

    def __init__(self, source, errors):
        self.source = source
        self.errors = errors
        listed = "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors)
        super().__init__(f"{source}: {listed}")


def read(path):
    """The checked fixture in file ``path`` (.json, .yaml or .yml); SeedError if bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as err:
        raise SeedError(path, [{"path": "", "message": f"cannot be read: {err}"}]) from None
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as err:
        message = f"is not {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {err}"
        raise SeedError(path, [{"path": "", "message": " ".join(message.split())}]) from None
    check(data, source=path)
    return data


def check(data, source="fixture"):
    """Raise SeedError naming every problem in ``data``; return it when it has none."""
    errors = schemas.errors("fixture", data)
    if isinstance(data, dict):
        errors += _consistency(data)
    if errors:
        raise SeedError(source, errors)
    return data


def _well_formed(items, *fields):
    """The (index, item) pairs whose fields are strings; the schema reports the rest."""
    if not isinstance(items, list):
        return []
    return [
        (i, item)
        for i, item in enumerate(items)
        if isinstance(item, dict) and all(isinstance(item.get(f), str) for f in fields)
    ]


def _consistency(data):
    """What a schema cannot say: unique ids and names, known labels, the label cap."""
    errors = []

    def once(items, key, what, path):
        seen = set()
        for i, item in _well_formed(items, what):
            value = key(item[what])
            if value in seen:
                errors.append({"path": f"/{path}/{i}/{what}", "message": f"repeats the {what} {item[what]!r}"})
            seen.add(value)
        return seen

    labels = data.get("labels", [])
    customers = data.get("customers", [])
    known = once(labels, str, "id", "labels")
    once(labels, name_key, "name", "labels")
    once(customers, str.lower, "id", "customers")
    for i, customer in _well_formed(customers):
        carried = customer.get("labels", [])
        if not isinstance(carried, list):
            continue
        for j, label_id in enumerate(carried):
            if isinstance(label_id, str) and label_id not in known:
                errors.append({"path": f"/customers/{i}/labels/{j}", "message": f"names no label: {label_id!r}"})
        if len(set(map(str, carried))) > LABEL_CAP:
            errors.append({"path": f"/customers/{i}/labels", "message": f"more than {LABEL_CAP} labels"})
    return errors
