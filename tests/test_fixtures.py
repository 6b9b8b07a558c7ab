"""Fixture files: SEED_FILE, the `flask fixtures` commands, and their checks."""

import json

import pytest

from customer_labels.mock import seed
from customer_labels.service import create_app
from customer_labels.settings import ConfigError

from .conftest import API_TOKENS, EXAMPLE, auth, make_store

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
VALID_YAML = """
labels:
  - {id: vip, name: VIP, color: "#FFD700"}
  - {id: beta, name: Beta}
customers:
  - id: 3F2B8E4A-9C1D-4E5F-8A7B-6C5D4E3F2A1B
    name: Ada
    labels: [vip, beta, vip]
"""


def labels_of(client, customer):
    response = client.get(f"/customers/customers/{customer}/labels", headers=auth("reader"))
    return [label["id"] for label in response.json["data"]]


def test_seed_file_is_loaded_at_start(mock_client):
    assert labels_of(mock_client, ADA) == ["newsletter", "vip"]  # by name: Newsletter, VIP
    labels = mock_client.get("/labels/labels", headers=auth("reader")).json["data"]
    assert [label["id"] for label in labels] == ["beta", "churn-risk", "newsletter", "vip"]
    assert next(label for label in labels if label["id"] == "vip")["color"] == "#ffd700"
    carriers = mock_client.get("/labels/labels/vip/customers", headers=auth("reader")).json["data"]
    assert [customer["id"] for customer in carriers] == [ADA]


def test_yaml_fixture(tmp_path, store):
    path = tmp_path / "seed.yaml"
    path.write_text(VALID_YAML)
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": str(path)})
    client = app.test_client()
    assert labels_of(client, ADA.lower()) == ["beta", "vip"]
    assert client.get("/labels/labels/vip", headers=auth("reader")).json["color"] == "#ffd700"


@pytest.mark.parametrize(
    "data, paths",
    [
        ({"labels": {}}, ["/labels"]),
        ({"labels": [{"name": "x"}]}, ["/labels/0"]),
        ({"labels": [{"id": "bad id", "name": ""}]}, ["/labels/0/id", "/labels/0/name"]),
        ({"labels": [{"id": "a", "name": "A", "color": "red"}], "extra": 1}, ["", "/labels/0/color"]),
        ({"labels": [{"id": "a", "name": "A", "createdAt": "yesterday"}]}, ["/labels/0/createdAt"]),
        ({"customers": [{"id": "not-a-uuid", "name": "x"}]}, ["/customers/0/id"]),
        ({"customers": [{"id": ADA, "name": "x", "email": "nope"}]}, ["/customers/0/email"]),
        ({"labels": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, ["/labels/1/id"]),
        ({"labels": [{"id": "a", "name": "Same"}, {"id": "b", "name": "SAME"}]}, ["/labels/1/name"]),
        (
            {"customers": [{"id": ADA, "name": "x"}, {"id": ADA.upper(), "name": "y"}]},
            ["/customers/1/id"],
        ),
        (
            {"labels": [{"id": "a", "name": "A"}], "customers": [{"id": ADA, "name": "x", "labels": ["a", "b", "c"]}]},
            ["/customers/0/labels/1", "/customers/0/labels/2"],
        ),
        ([], [""]),
    ],
)
def test_check_names_every_problem(data, paths):
    with pytest.raises(seed.SeedError) as err:
        seed.check(data)
    assert sorted({e["path"] for e in err.value.errors}) == sorted(paths)
    assert all(e["message"] for e in err.value.errors)


def test_more_labels_than_the_cap(tmp_path):
    data = {
        "labels": [{"id": f"l{i}", "name": f"L{i}"} for i in range(251)],
        "customers": [{"id": ADA, "name": "x", "labels": [f"l{i}" for i in range(251)]}],
    }
    with pytest.raises(seed.SeedError) as err:
        seed.check(data)
    assert [e["path"] for e in err.value.errors] == ["/customers/0/labels"]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("seed.json", "{not json", "is not JSON"),
        ("seed.yaml", "labels: [unclosed", "is not YAML"),
        ("seed.json", '{"labels": [{"id": "a"}]}', '"name" is a required property'),
    ],
)
def test_bad_seed_file_stops_the_start_and_changes_nothing(tmp_path, store, name, text, message):
    store.create_label({"id": "kept", "name": "Kept"})
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        create_app({"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": str(path)})
    assert str(err.value).startswith(f"SEED_FILE: {path}: ")
    assert message in str(err.value)
    assert [label["id"] for label in store.export()["labels"]] == ["kept"]


def test_missing_seed_file_is_a_config_error(store):
    with pytest.raises(ConfigError, match="SEED_FILE: .*cannot be read"):
        create_app({"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": "/no/such.json"})


@pytest.mark.parametrize("setting, value", [("SEED_FILE", EXAMPLE), ("MOCK_LATENCY_MS", (1, 2))])
def test_mock_settings_need_mock_mode(store, setting, value):
    with pytest.raises(ConfigError, match=f"^{setting}: only works in mock mode"):
        create_app({"API_TOKENS": API_TOKENS, "STORE": store, setting: value})


@pytest.fixture(params=[pytest.param("fakeredis", marks=pytest.mark.fast), "redis", "cluster"])
def shared_app(request):
    """An app on a store that outlives the process: what the CLI acts on."""
    return create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": make_store(request.param, request)})


@pytest.mark.fast
@pytest.mark.parametrize("args", [["fixtures", "load", EXAMPLE], ["fixtures", "export"], ["migrate"]])
def test_the_cli_refuses_a_store_in_memory_in_one_line(args):
    runner = create_app({"DEV_MODE": True}).test_cli_runner()
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: the store is in memory (REDIS_URL is unset)")
    assert "SEED_FILE" in result.output and "REDIS_URL" in result.output
    assert result.output.count("\n") == 1 and "Loaded" not in result.output


def test_cli_load_and_export_round_trip_exactly(shared_app, tmp_path):
    app, runner = shared_app, shared_app.test_cli_runner()
    result = runner.invoke(args=["fixtures", "load", EXAMPLE])
    assert result.exit_code == 0, result.output
    assert "Loaded 4 labels and 3 customers" in result.output
    client = app.test_client()
    client.post(f"/customers/customers/{ADA}/labels", json={"labels": ["beta"]}, headers=auth("editor"))
    first = tmp_path / "first.json"
    assert runner.invoke(args=["fixtures", "export", str(first)]).exit_code == 0
    client.delete("/labels/labels/vip", headers=auth("admin"))  # change it, then load the export back
    assert runner.invoke(args=["fixtures", "load", str(first)]).exit_code == 0
    second = runner.invoke(args=["fixtures", "export"])
    assert second.exit_code == 0
    assert json.loads(second.output) == json.loads(first.read_text())
    assert labels_of(client, ADA) == ["beta", "newsletter", "vip"]


def test_cli_refuses_a_bad_file_and_changes_nothing(shared_app, tmp_path):
    runner = shared_app.test_cli_runner()
    runner.invoke(args=["fixtures", "load", EXAMPLE])
    before = runner.invoke(args=["fixtures", "export"]).output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"labels": [{"id": "x", "name": "X"}, {"id": "x", "name": ""}]}))
    result = runner.invoke(args=["fixtures", "load", str(bad)])
    assert result.exit_code == 1
    assert "/labels/1/name" in result.output and "/labels/1/id" in result.output
    assert runner.invoke(args=["fixtures", "export"]).output == before


@pytest.mark.parametrize("kind", [pytest.param("fakeredis", marks=pytest.mark.fast), "redis"])
def test_cli_works_on_a_namespace(kind, request, tmp_path):
    store = make_store(kind, request)
    mock_app = create_app(
        {"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": EXAMPLE}
    )
    runner = mock_app.test_cli_runner()
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"labels": [{"id": "only", "name": "Only"}]}))
    assert runner.invoke(args=["fixtures", "load", str(path), "--namespace", "team-a"]).exit_code == 0
    client = mock_app.test_client()
    headers = {**auth("reader"), "X-Mock-Namespace": "team-a"}
    assert [label["id"] for label in client.get("/labels/labels", headers=headers).json["data"]] == ["only"]
    assert len(client.get("/labels/labels", headers=auth("reader")).json["data"]) == 4  # the default is as seeded
