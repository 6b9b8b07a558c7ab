"""Fixture files: read them (JSON or YAML), and find everything wrong with one.

A fixture is a whole state, the same form that snapshots and exports take:

    {"labels": [{"id": "vip", "name": "VIP"}],
     "customers": [{"id": "<uuid>", "name": "Ada", "labels": ["vip"]}]}

Nothing is loaded until all of it is checked, so a bad fixture changes nothing.
"""

import json
import uuid
from pathlib import Path

import ijson
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


#: A JSON fixture larger than this is read as a stream (``scan`` and ``customers``),
#: never whole: a million customers are about 150 MB of JSON.
WHOLE_BYTES = 4 * 1024 * 1024
#: A streamed file's check stops listing problems after this many.
MOST_ERRORS = 100


def is_large(path):
    """Whether ``path`` is a JSON fixture to stream rather than read whole (YAML never is)."""
    path = Path(path)
    return path.suffix.lower() not in (".yaml", ".yml") and path.stat().st_size > WHOLE_BYTES


def scan(path):
    """Check a large JSON fixture as a stream, holding one customer at a time (and each
    customer id as a number): (its labels, how many customers); SeedError if bad."""
    path = Path(path)
    try:
        errors = _top_level(path)
        if errors:
            raise SeedError(path, errors)
        checker = Checker()
        with path.open("rb") as stream:
            labels = list(ijson.items(stream, "labels.item", use_float=True))
        for i, label in enumerate(labels):
            if not _check_item(errors, "labels", i, label):
                checker.label(i, label)
        count = 0
        for count, customer in enumerate(customers(path), 1):
            if not _check_item(errors, "customers", count - 1, customer):
                checker.customer(count - 1, customer)
            if len(errors) + len(checker.errors) >= MOST_ERRORS:
                break
    except (OSError, ijson.JSONError, UnicodeError) as err:
        raise SeedError(path, [{"path": "", "message": f"is not JSON: {' '.join(str(err).split())}"}]) from None
    errors += checker.errors
    if errors:
        raise SeedError(path, errors[:MOST_ERRORS])
    return labels, count


def _top_level(path):
    """What is wrong with the file's outside: an object of labels and customers."""
    errors = []
    with path.open("rb") as stream:
        for prefix, event, value in ijson.parse(stream):
            if prefix == "" and event == "map_key" and value not in ("labels", "customers"):
                errors.append({"path": "", "message": f"has an unknown member {value!r}"})
            elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
                errors.append({"path": "", "message": "is not a JSON object"})
    return errors


def customers(path):
    """The customers of a JSON fixture file, one at a time."""
    with Path(path).open("rb") as stream:
        yield from ijson.items(stream, "customers.item", use_float=True)


def _check_item(errors, part, i, item):
    """Add the schema's problems with item ``i`` of ``part`` to ``errors``, with paths into
    the whole file: whether it had any."""
    found = schemas.errors("fixture", {part: [item]})
    errors += [{**error, "path": error["path"].replace(f"/{part}/0", f"/{part}/{i}", 1)} for error in found]
    return bool(found)


def text(labels, customers, line=""):
    """A state as fixture JSON, a piece at a time, so that a state of any size streams:
    the labels, then each customer (with its labels' ids), then the end; ``line`` goes
    before each label and customer (a newline in files: one record a line)."""
    yield '{"labels":[' + ",".join(line + _json(label) for label in labels) + '],"customers":['
    for n, (customer, label_ids) in enumerate(customers):
        yield ("," if n else "") + line + _json(dict(customer, labels=label_ids))
    yield "]}\n"


def _json(record):
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def check(data, source="fixture"):
    """Raise SeedError naming every problem in ``data``; return it when it has none."""
    errors = schemas.errors("fixture", data)
    if isinstance(data, dict):
        checker = Checker()
        for i, label in _well_formed(data.get("labels", []), "id", "name"):
            checker.label(i, label)
        for i, customer in _well_formed(data.get("customers", [])):
            checker.customer(i, customer)
        errors += checker.errors
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


class Checker:
    """What a schema cannot say, one record at a time (so that a stream of a million
    customers can be checked too): unique ids and names, known labels, the label cap.
    Labels come first. It keeps each customer id as one 128-bit number."""

    def __init__(self):
        self.errors = []
        self._labels, self._names, self._customers = set(), set(), set()

    def _once(self, seen, value, path, what, shown):
        if value in seen:
            self.errors.append({"path": path, "message": f"repeats the {what} {shown!r}"})
        seen.add(value)

    def label(self, i, label):
        """Label ``i`` (its id and name strings)."""
        self._once(self._labels, label["id"], f"/labels/{i}/id", "id", label["id"])
        self._once(self._names, name_key(label["name"]), f"/labels/{i}/name", "name", label["name"])

    def customer(self, i, customer):
        """Customer ``i`` (a dict), after every label."""
        if isinstance(customer.get("id"), str):
            try:
                key = uuid.UUID(customer["id"]).int
            except ValueError:
                key = customer["id"].lower()  # not a UUID: the schema says so
            self._once(self._customers, key, f"/customers/{i}/id", "id", customer["id"])
        carried = customer.get("labels", [])
        if not isinstance(carried, list):
            return
        for j, label_id in enumerate(carried):
            if isinstance(label_id, str) and label_id not in self._labels:
                self.errors.append({"path": f"/customers/{i}/labels/{j}", "message": f"names no label: {label_id!r}"})
        if len(set(map(str, carried))) > LABEL_CAP:
            self.errors.append({"path": f"/customers/{i}/labels", "message": f"more than {LABEL_CAP} labels"})
