"""The document makes clean clients: Spectral's `spectral:oas` rules find nothing, and
what openapi-typescript, @hey-api/openapi-ts and orval generate (default options)
compiles small strict TypeScript clients (tests/typescript/) that create with a name
alone and read answers as they are sent. Node tools come from the npm registry,
installed on first use."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from customer_labels.schemas import examples, openapi
from customer_labels.service import create_app

from .conftest import EXAMPLE
from .node_tools import ensure as node_tools_folder
from .processes import ROOT
from .redis_server import require


@pytest.fixture(scope="session")
def node_tools():
    """The folder whose node_modules holds the tools (tests/node_tools.py)."""
    require("node", "npm", package="nodejs npm")
    return node_tools_folder()


def served_document(mock):
    """/openapi.json as the service answers it."""
    app = create_app({"DEV_MODE": True, "MOCK_MODE": mock})
    return app.test_client().get("/openapi.json", base_url="http://127.0.0.1:5000").json


@pytest.mark.parametrize("mock", [False, True])
def test_spectral_oas_rules_find_nothing(node_tools, tmp_path, mock):
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(served_document(mock)))
    (tmp_path / ".spectral.yaml").write_text('extends: ["spectral:oas"]\n')
    done = subprocess.run(
        [str(node_tools / "node_modules" / ".bin" / "spectral"), "lint", str(document), "--fail-severity=hint"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_clients_compile_strictly_and_call_the_server_the_document_names(node_tools, tmp_path):
    """openapi-typescript (with openapi-fetch), @hey-api/openapi-ts and orval, each with
    its defaults, generate from the served document; one strict compile of three small
    clients that create with a name alone and read answers as they are sent."""
    for name in ("client.ts", "hey-client.ts", "orval-client.ts", "tsconfig.json", "orval.config.cjs"):
        shutil.copy(ROOT / "tests" / "typescript" / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(node_tools / "node_modules")
    (tmp_path / "openapi.json").write_text(json.dumps(served_document(True)))
    bin_ = node_tools / "node_modules" / ".bin"
    for command in (
        [bin_ / "openapi-typescript", "openapi.json", "-o", "api.ts"],
        [bin_ / "openapi-ts", "-i", "openapi.json", "-o", "hey"],
        [bin_ / "orval", "--config", "orval.config.cjs"],
    ):
        generated = subprocess.run(list(map(str, command)), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert generated.returncode == 0, generated.stdout + generated.stderr
    compiled = subprocess.run([str(bin_ / "tsc"), "-p", "tsconfig.json"], cwd=tmp_path, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    # orval's client calls the server the document names, not a relative URL.
    assert "return `http://127.0.0.1:5000/labels/labels`" in (tmp_path / "orv" / "api.ts").read_text()


@pytest.mark.fast
def test_the_document_names_the_server_it_was_asked_at():
    app = create_app({"DEV_MODE": True})
    servers = app.test_client().get("/openapi.json", base_url="http://10.1.2.3:8080").json["servers"]
    assert [server["url"] for server in servers] == ["http://10.1.2.3:8080", "http://10.1.2.3:8080/__ns/{namespace}"]
    servers = app.test_client().get("/__ns/team-a/openapi.json").json["servers"]
    assert [server["url"] for server in servers] == [
        "http://localhost/__ns/team-a",
        "http://localhost/__ns/{namespace}",
    ]
    production = create_app({"API_TOKENS": "x" * 16 + ":reader"}).test_client().get("/openapi.json")
    assert [server["url"] for server in production.json["servers"]] == ["http://localhost"]


@pytest.mark.fast
def test_the_examples_are_the_example_fixtures_data_and_keep_to_their_schemas():
    fixture = json.loads(Path(EXAMPLE).read_text())
    labels = {label["id"]: label for label in fixture["labels"]}
    ada = next(customer for customer in fixture["customers"] if customer["id"] == examples.CUSTOMER_ID)
    stamps = ("createdAt", "updatedAt")
    assert {k: v for k, v in examples.VIP.items() if k not in stamps} == labels["vip"]
    assert {k: v for k, v in examples.ADA.items() if k not in stamps} == {k: ada[k] for k in ("id", "name", "email")}
    assert examples.PARAMETERS["labelId"] in labels
    attach, detach = examples.BODIES["createCustomerLabels"], examples.BODIES["deleteCustomerLabels"]
    assert set(attach["labels"]) <= set(labels) - set(ada["labels"])  # attaching them changes something
    assert set(detach["labels"]) <= set(ada["labels"])  # and so does detaching these
    assert examples.BODIES["createLabel"]["id"] not in labels  # a create that succeeds
    document = openapi.build(mock=True)
    validator = jsonschema.Draft202012Validator
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            media = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            media += [
                r.get("content", {}).get(t) for r in operation["responses"].values() for t in r.get("content", {})
            ]
            for found in filter(None, media):
                assert "example" in found, (method, path)
                schema = {**found["schema"], "components": document["components"]}
                errors = list(validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(found["example"]))
                assert not errors, (method, path, errors[0].message)
