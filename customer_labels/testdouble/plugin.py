"""pytest plugin: a real Customer Labels service for another project's tests.

Installing this package (``pip install .`` from the service's repo) registers
the plugin. Its ``customer_labels`` fixture is a running service, in memory on
a free port, shared by the whole test session; each test gets a namespace of
its own, seeded afresh, so tests never see each other's labels and need no
process of their own::

    def test_tagging(customer_labels):
        client = LabelsClient(customer_labels.url, customer_labels.tokens["editor"])
        ...

The seed is a fixture file named by the ini option ``customer_labels_seed``
(relative to the rootdir), or by overriding the ``customer_labels_seed_file``
fixture; without one, every namespace starts empty.

The fixture also asks the double what the code under test sent (``requests``,
``verify``) and makes it fail on purpose (``fault``). With
``--customer-labels-coverage``, the session ends with a report of which operations
and statuses of the API the tests reached, also written as JSON
(``--customer-labels-coverage-json``): under pytest-xdist too, where each worker
runs its own service and the controller adds their counts up.
"""

import collections
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from .. import settings
from . import coverage
from .double import CustomerLabels, CustomerLabelsError  # noqa: F401 (both importable from here, as before)

#: Where the package customer_labels is found, for the service's own process.
PACKAGE_HOME = Path(__file__).resolve().parent.parent.parent
#: The service's process: `python -m customer_labels`, finding this very copy of the
#: package. Its folder goes last on the path, so it shadows nothing of the stdlib's.
_RUN_SERVICE = "import runpy, sys; sys.path.append({home!r}); runpy.run_module('customer_labels', run_name='__main__')"
ROLES = ("reader", "editor", "admin")
#: Every setting the service reads from its environment: none leaks in from
#: the consuming project's, and the plugin sets the ones it needs.
SERVICE_SETTINGS = {*settings.DEFAULTS, *settings.PROCESS_SETTINGS, "FLASK_DEBUG"}


#: Where the session's coverage counts are kept: ("METHOD /template", "status") -> count.
COVERAGE = pytest.StashKey()


def pytest_addoption(parser):
    parser.addini("customer_labels_seed", "Fixture file (JSON or YAML) the customer_labels service starts from.")
    group = parser.getgroup("customer_labels", "Customer Labels test double")
    group.addoption(
        "--customer-labels-coverage",
        action="store_true",
        help="Report which operations and statuses of the Customer Labels API the tests exercised.",
    )
    group.addoption(
        "--customer-labels-coverage-json",
        default="customer-labels-coverage.json",
        metavar="PATH",
        help="Where the coverage report is written as JSON (default: %(default)s, in the rootdir).",
    )


def pytest_configure(config):
    config.stash[COVERAGE] = collections.Counter()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(process, base_url, log):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the customer_labels service did not start:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the customer_labels service did not answer in 20 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def customer_labels_seed_file(pytestconfig):
    """The fixture file the service starts from, or None; override it to choose another."""
    name = pytestconfig.getini("customer_labels_seed")
    return str(pytestconfig.rootpath / name) if name else None


@pytest.fixture(scope="session")
def customer_labels_service(customer_labels_seed_file, tmp_path_factory):
    """The session's service process: (base URL, tokens)."""
    port = _free_port()
    tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_SETTINGS}
    env.update(
        PORT=str(port),
        API_TOKENS=",".join(f"{token}:{role}" for role, token in tokens.items()),
        MOCK_MODE="1",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if customer_labels_seed_file:
        env["SEED_FILE"] = customer_labels_seed_file
    log = tmp_path_factory.mktemp("customer_labels") / "service.log"
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _RUN_SERVICE.format(home=str(PACKAGE_HOME))],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, base_url, log)
        yield base_url, tokens
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def customer_labels(customer_labels_service, pytestconfig):
    """The service, in a namespace of this test's own, freshly seeded."""
    base_url, tokens = customer_labels_service
    double = CustomerLabels(base_url, tokens, f"test-{uuid.uuid4().hex}")
    yield double
    if pytestconfig.getoption("customer_labels_coverage"):
        counts = pytestconfig.stash[COVERAGE]
        for operation, statuses in double.coverage().items():
            counts.update({(operation, status): count for status, count in statuses.items()})


# -- contract coverage ---------------------------------------------------------------


def pytest_sessionfinish(session):
    config = session.config
    if config.getoption("customer_labels_coverage") and hasattr(config, "workeroutput"):  # an xdist worker
        config.workeroutput["customer_labels_coverage"] = [[*key, n] for key, n in config.stash[COVERAGE].items()]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: a worker is done; add its counts to the session's."""
    counts = node.config.stash[COVERAGE]
    for operation, status, count in getattr(node, "workeroutput", {}).get("customer_labels_coverage", []):
        counts[(operation, status)] += count


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("customer_labels_coverage") or hasattr(config, "workeroutput"):
        return
    report = coverage.coverage_report(coverage.document(PACKAGE_HOME), config.stash[COVERAGE])
    path = Path(config.rootpath, config.getoption("customer_labels_coverage_json"))
    path.write_text(json.dumps(report, indent=2) + "\n")
    summary = report["summary"]
    write = terminalreporter.write_line
    terminalreporter.section("Customer Labels contract coverage")
    write(
        f"{summary['operationsExercised']} of {summary['operations']} operations, "
        f"{summary['documentedStatusesExercised']} of {summary['documentedStatuses']} documented statuses "
        f"exercised; the report: {path}"
    )
    for op in report["operations"]:
        got = ", ".join(f"{status} ({count})" for status, count in op["exercised"].items()) or "never called"
        write(f"  {op['method']:6} {op['path']:48} {got}")
