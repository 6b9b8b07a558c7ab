"""The request validator (jsonschema-rs) held to python-jsonschema as an oracle,
on a generated corpus of bodies: the same verdict and the same error paths."""

import copy
import json
import random
import re

import pytest
from jsonschema import Draft202012Validator
from jsonschema.validators import extend

from customer_labels import schemas
from customer_labels.schemas import REQUEST_BODIES, load, pointer

#: A valid body of each request schema, the corpus's starting points.
VALID = {
    "label-create": {"id": "vip", "name": "VIP", "color": "#FFD700", "description": "Top customers"},
    "label-update": {"name": "VIP", "color": "#ffd700", "description": None},
    "customer-create": {"id": "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b", "name": "Ada", "email": "ada@example.com"},
    "customer-update": {"name": "Ada King", "email": None},
    "customer-labels-change": {"labels": ["vip", "beta", "newsletter"]},
    "label-customers-change": {
        "customers": ["3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b", "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D"]
    },
    "customer-labels-replace": {"labels": ["vip", "beta", "vip"]},
    "fault-rule": {"method": "post", "path": "/customers/customers/{customerId}/labels", "status": 503, "times": 2},
    "fixture": {
        "labels": [{"id": "vip", "name": "VIP", "createdAt": "2026-01-01T00:00:00Z"}],
        "customers": [{"id": "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b", "name": "Ada", "labels": ["vip"]}],
    },
}
#: Values a field may be given instead of its own: every JSON type, and the edges
#: of the patterns, lengths and formats in schemas/. Emails are only those whose
#: verdict every reading of RFC 5321 shares (python-jsonschema's "email" is any
#: text with an "@"; jsonschema-rs's is stricter).
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    [],
    {},
    ["x"],
    "",
    " ",
    "x",
    "x" * 64,
    "x" * 65,
    "x" * 101,
    "x" * 201,
    "x" * 501,
    "zz\n",
    "vip\n",
    "\nvip",
    "#00ff00",
    "#00FF00",
    "#00ff00\n",
    "#00ff0",
    "#00ff000",
    "3F2B8E4A-9C1D-4E5F-8A7B-6C5D4E3F2A1B",
    "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b\n",
    "3f2b8e4a9c1d4e5f8a7b6c5d4e3f2a1b",
    "not-an-email",
    "ada@example.com",
    "2026-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "Café",
    "ünïcödé-😀",
    "a-b_c",
    "a b",
]
EXTRA_KEYS = ["extra", "ID", "labels", "name", "$ref", ""]


def _ecma(pattern):
    # ECMA-262 (and jsonschema-rs): "$" ends the value; Python's re also lets it
    # match before a final newline. The published patterns all end in "$".
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.search(_ecma(pattern), instance):
        yield from Draft202012Validator.VALIDATORS["pattern"](validator, pattern, "", schema)  # its message


Oracle = extend(Draft202012Validator, {"pattern": _pattern})


def oracle_paths(name, body):
    validator = Oracle(load(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return sorted({pointer(error.absolute_path) for error in validator.iter_errors(body)})


def _places(value, path=()):
    """Every (path, value) inside ``value``, itself included."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


def _set(body, path, value):
    if not path:
        return value
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def mutate(body, rng):
    """``body`` with one to three things changed: a value swapped, a key dropped or added,
    an array emptied or overfilled."""
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        path, value = rng.choice(list(_places(body)))
        move = rng.randrange(4)
        if move == 0 or not isinstance(value, (dict, list)):
            body = _set(body, path, copy.deepcopy(rng.choice(ODD_VALUES)))
        elif move == 1 and isinstance(value, dict) and value:
            del value[rng.choice(list(value))]
        elif move == 2 and isinstance(value, dict):
            value[rng.choice(EXTRA_KEYS)] = rng.choice(ODD_VALUES)
        elif isinstance(value, list):
            value[:] = [] if rng.random() < 0.5 else [copy.deepcopy(rng.choice(value or ["x"]))] * 101
    return body


def corpus(name, size=300):
    rng = random.Random(f"{name}-corpus")  # the same bodies every run
    bodies = [VALID[name]]
    while len(bodies) < size:
        bodies.append(mutate(VALID[name], rng))
    return bodies


@pytest.mark.fast
@pytest.mark.parametrize("name", REQUEST_BODIES)
def test_the_validator_agrees_with_the_oracle_on_a_generated_corpus(name):
    valid = invalid = 0
    for body in corpus(name):
        found = schemas.errors(name, body)
        assert sorted({error["path"] for error in found}) == oracle_paths(name, body), json.dumps(body)[:300]
        valid, invalid = valid + (not found), invalid + bool(found)
    assert valid >= 5 and invalid >= 150  # the corpus exercises both verdicts


@pytest.mark.fast
def test_every_request_schema_has_a_valid_example():
    assert set(VALID) == set(REQUEST_BODIES)
    for name, body in VALID.items():
        assert schemas.errors(name, body) == [], name


@pytest.mark.fast
@pytest.mark.parametrize(
    "name, body, path",
    [
        ("label-create", {"id": "zz\n", "name": "x"}, "/id"),
        ("label-create", {"name": "x", "color": "#00ff00\n"}, "/color"),
        ("label-update", {"color": "#00ff00\n"}, "/color"),
        ("customer-create", {"name": "x", "id": "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b\n"}, "/id"),
    ],
)
def test_a_pattern_matches_the_whole_value_not_up_to_a_final_newline(name, body, path):
    assert {error["path"] for error in schemas.errors(name, body)} == {path}
    # Python's re lets "$" match before the newline: python-jsonschema alone takes it.
    assert Draft202012Validator(load(name)).is_valid(body)


@pytest.mark.fast
def test_messages_name_the_problem_and_stay_short():
    found = schemas.errors("customer-labels-change", {"labels": ["x" * 70_000, 3], "more": 1})
    assert [error["path"] for error in found] == ["", "/labels/0", "/labels/1"]
    assert "'more' was unexpected" in found[0]["message"]
    assert found[1]["message"] == '"' + "x" * 39 + "… is longer than 64 characters"
    assert found[2]["message"] == '3 is not of type "string"'


@pytest.mark.fast
@pytest.mark.parametrize(
    "email, valid",
    [
        ("ada@example.com", True),
        ("first.last+tag@example.co.uk", True),
        ("a@localhost", True),
        ("@", False),
        ("a@", False),
        ("a b@example.com", False),
        ("用户@例子.广告", False),  # RFC 6531's, not the "email" format's (RFC 5321), as the README says
    ],
)
def test_emails_follow_the_email_format(email, valid):
    assert (schemas.errors("customer-create", {"name": "Ada", "email": email}) == []) is valid
