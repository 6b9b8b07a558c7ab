"""The distribution, as another project gets it: built from this checkout,
installed into a folder of its own, used as a library and as a pytest plugin
(examples/label-client), with no path to this repo."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from email.parser import Parser

import pytest

from .processes import ROOT

#: What a build must not copy: the checkout's own caches and leftovers.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache")


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
PIP = [sys.executable, "-m", "pip", "--quiet"]
BUILD = ["--no-deps", "--no-build-isolation"]


def run(command, cwd, env=None):
    """A command's completed process, its output as text."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def installed(tmp_path_factory, worker_id):
    """A folder holding the distribution, installed from a copy of the checkout: once
    per run, shared by the pytest-xdist workers (the first to need it installs it)."""
    base = tmp_path_factory.getbasetemp()
    base = base if worker_id == "master" else base.parent  # the run's, not one worker's
    source, site, done = base / "installed-source", base / "installed-site", base / "installed-done"
    with open(base / "installed.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(source, ignore_errors=True)
            shutil.rmtree(site, ignore_errors=True)
            shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
            install = run([*PIP, "install", *BUILD, "--target", str(site), str(source)], base)
            assert install.returncode == 0, install.stderr
            done.touch()
    return site


def isolated(site):
    """An environment that finds the installed copy, and nothing of this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "API_TOKENS", "REDIS_URL", "SEED_FILE")}
    env["PYTHONPATH"] = str(site)
    return env


def test_the_distribution_installs_one_package_and_no_generic_modules(installed):
    top_level = {entry.name for entry in installed.iterdir() if not entry.name.endswith(".dist-info")}
    assert top_level == {"customer_labels"}
    package = installed / "customer_labels"
    for part in ("store", "auth", "schemas", "api", "mock", "testdouble"):
        assert (package / part / "__init__.py").is_file(), part
    assert list((package / "store" / "lua").glob("*.lua")) and list((package / "schemas").glob("*.json"))


def test_the_installed_package_works_as_a_library(installed, tmp_path):
    script = (
        "from customer_labels.service import create_app\n"
        "from customer_labels.store import MemoryStore\n"
        "app = create_app({'DEV_MODE': True, 'STORE': MemoryStore()})\n"
        "client = app.test_client()\n"
        "headers = {'Authorization': 'Bearer dev-admin'}\n"
        "assert client.post('/labels/labels', json={'id': 'vip', 'name': 'VIP'}, headers=headers).status_code == 201\n"
        "assert client.get('/openapi.json').json['openapi'].startswith('3.1')\n"
        "import customer_labels, sys\n"
        "assert not {'store', 'settings', 'logs', 'api', 'auth', 'schemas', 'mock', 'problems'} & set(sys.modules)\n"
        "print(customer_labels.__file__)\n"
    )
    done = run([sys.executable, "-c", script], tmp_path, isolated(installed))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(installed))


def test_the_service_needs_no_pytest_and_brings_its_server(installed):
    (info,) = installed.glob("customer_labels-*.dist-info")
    metadata = Parser().parsestr((info / "METADATA").read_text())
    requires = metadata.get_all("Requires-Dist")
    plain = [r.split(";")[0].strip() for r in requires if "extra ==" not in r]
    deploy = [r.split(";")[0].strip() for r in requires if 'extra == "deploy"' in r]
    assert not [r for r in requires if r.lower().startswith("pytest")]
    names = {r.split(">")[0].split("<")[0].split("=")[0] for r in plain}
    assert {"flask", "redis", "granian", "uvloop", "jsonschema-rs", "prometheus-client"} <= names  # server, metrics
    # A deploy adds the faster parser, and error reports (loaded only with SENTRY_DSN).
    assert {r.split(">")[0].split("<")[0] for r in deploy} == {"hiredis", "sentry-sdk[flask]"}
    assert metadata["License-Expression"] == "MIT"
    assert "customer_labels = customer_labels.testdouble.plugin" in (info / "entry_points.txt").read_text()


def test_example_project_passes_with_the_installed_plugin(installed, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "label-client", project)
    # Settings of the consuming project's own environment must not reach the service.
    env = dict(isolated(installed), REDIS_CLUSTER="true", REDIS_MAX_CONNECTIONS="x", REDIS_TLS_VERIFY="maybe")
    result = run(PYTEST, project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "34 passed" in result.stdout, result.stdout
    assert str(ROOT) not in result.stdout + result.stderr


def test_under_xdist_each_worker_isolated_and_coverage_added_up(installed, tmp_path):
    """The example on 4 workers (each its own service), with the coverage report: its
    counts are the sum of every worker's, and the JSON file says the same."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "label-client", project)
    command = [*PYTEST, "-n", "4", "--customer-labels-coverage", "--customer-labels-coverage-json", "cov.json"]
    result = run(command, project, isolated(installed))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "34 passed" in result.stdout and "Customer Labels contract coverage" in result.stdout
    report = json.loads((project / "cov.json").read_text())
    operations = {f"{op['method']} {op['path']}": op for op in report["operations"]}
    attach = operations["POST /customers/customers/{customerId}/labels"]
    # Attaches answered 200: one in each of the 20 parametrized tests and in 4 others.
    assert attach["exercised"]["200"] == 24
    assert attach["exercised"]["403"] == 1 and attach["exercised"]["422"] == 1 and attach["exercised"]["503"] == 3
    assert "404" in attach["neverExercised"] and "200" not in attach["neverExercised"]
    assert operations["POST /labels/labels"]["exercised"] == {}
    assert "GET /healthz" not in operations  # the service's own endpoints are not the API's
    assert report["summary"]["operationsExercised"] == 3


def test_a_build_leaves_the_checkout_testable(tmp_path):
    """`pip install .` builds in place, leaving build/ and *.egg-info/ that name the
    plugin; the checkout's own suite must still collect and run beside them."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_SOURCE)
    build = run([*PIP, "wheel", *BUILD, "-w", str(tmp_path), "."], checkout)
    assert build.returncode == 0, build.stderr
    assert list(checkout.glob("*.egg-info")), "the build left no egg-info: this test would prove nothing"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    suite = run([*PYTEST, "tests/test_config.py"], checkout, env)
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert " passed" in suite.stdout
