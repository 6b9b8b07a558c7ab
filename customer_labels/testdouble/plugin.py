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
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from .. import settings

#: Where the package customer_labels is found, for the service's own process.
PACKAGE_HOME = Path(__file__).resolve().parent.parent.parent
#: The service's process: `python -m customer_labels`, finding this very copy of the
#: package. Its folder goes last on the path, so it shadows nothing of the stdlib's.
_RUN_SERVICE = "import runpy, sys; sys.path.append({home!r}); runpy.run_module('customer_labels', run_name='__main__')"
ROLES = ("reader", "editor", "admin")
#: Every setting the service reads from its environment: none leaks in from
#: the consuming project's, and the plugin sets the ones it needs.
SERVICE_SETTINGS = {*settings.DEFAULTS, *settings.PROCESS_SETTINGS, "FLASK_DEBUG"}


def pytest_addoption(parser):
    parser.addini("customer_labels_seed", "Fixture file (JSON or YAML) the customer_labels service starts from.")


class CustomerLabelsError(AssertionError):
    """The service answered a plugin call with an error."""


class CustomerLabels:
    """One test's own view of the service.

    ``url`` is the base URL to give the code under test: it names this test's
    namespace, so nothing else is needed for isolation. ``tokens`` maps each
    role (reader, editor, admin) to a token that works.
    """

    def __init__(self, base_url, tokens, namespace):
        self.namespace = namespace
        self.url = f"{base_url}/__ns/{namespace}"
        self.tokens = dict(tokens)

    def headers(self, role="admin"):
        """Headers that authenticate as ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, method, path, body=None, role="admin"):
        """(status, parsed body) of one request to this namespace."""
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers(role), "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def reset(self):
        """Back to the seed."""
        self._expect(204, "POST", "/__admin/reset")

    def seed(self, data):
        """Replace this namespace's whole state with ``data``, a fixture as a dict."""
        self._expect(204, "PUT", "/__admin/snapshot", data)

    def snapshot(self):
        """This namespace's whole state, as a fixture."""
        return self._expect(200, "GET", "/__admin/snapshot")

    def _expect(self, status, method, path, body=None):
        got, answer = self.call(method, path, body)
        if got != status:
            raise CustomerLabelsError(f"{method} {path} answered {got}: {answer}")
        return answer


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
def customer_labels(customer_labels_service):
    """The service, in a namespace of this test's own, freshly seeded."""
    base_url, tokens = customer_labels_service
    return CustomerLabels(base_url, tokens, f"test-{uuid.uuid4().hex}")
