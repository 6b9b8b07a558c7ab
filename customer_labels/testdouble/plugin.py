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
import difflib
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

#: Where the package customer_labels is found, for the service's own process.
PACKAGE_HOME = Path(__file__).resolve().parent.parent.parent
#: The service's process: `python -m customer_labels`, finding this very copy of the
#: package. Its folder goes last on the path, so it shadows nothing of the stdlib's.
_RUN_SERVICE = "import runpy, sys; sys.path.append({home!r}); runpy.run_module('customer_labels', run_name='__main__')"
ROLES = ("reader", "editor", "admin")
#: Every setting the service reads from its environment: none leaks in from
#: the consuming project's, and the plugin sets the ones it needs.
SERVICE_SETTINGS = {*settings.DEFAULTS, *settings.PROCESS_SETTINGS, "FLASK_DEBUG"}


#: The API's document as the service builds it outside mock mode, made in a process of
#: its own like the service, for the coverage report.
_BUILD_DOCUMENT = (
    "import json, sys; sys.path.append({home!r}); from customer_labels.schemas import openapi; "
    "print(json.dumps(openapi.build()))"
)
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
        """Back to the seed, with an empty journal and no fault rules."""
        self._expect(204, "POST", "/__admin/reset")

    def seed(self, data):
        """Replace this namespace's whole state with ``data``, a fixture as a dict."""
        self._expect(204, "PUT", "/__admin/snapshot", data)

    def state(self):
        """This namespace's whole state, as a fixture dict."""
        return self._expect(200, "GET", "/__admin/snapshot")

    snapshot = state

    def requests(self, method=None, path=None):
        """The requests this namespace received, oldest first, as journal entries (dicts
        with method, path, query, body, status, responseBody...): only those with
        ``method``, and to ``path`` (a path, or a template such as
        ``/customers/customers/{customerId}/labels``), when given."""
        query = {name: value for name, value in (("method", method), ("path", path)) if value is not None}
        found, cursor = [], None
        while True:
            page = dict(query, limit=200, **({"cursor": cursor} if cursor else {}))
            answer = self._expect(200, "GET", "/__admin/requests?" + urllib.parse.urlencode(page))
            found += answer["data"]
            cursor = answer["nextCursor"]
            if cursor is None:
                return found[::-1]

    def clear_requests(self):
        """Empty this namespace's journal."""
        self._expect(204, "DELETE", "/__admin/requests")

    def verify(self, method, path, times=1, body=None):
        """Assert that exactly ``times`` requests with ``method`` to ``path`` (a path or a
        template) were received, with JSON body equal to ``body`` when it is given. On
        failure the message shows the closest requests that were made. The matching
        requests, oldest first."""
        method = method.upper()
        on_path = self.requests(path=path)
        same = [entry for entry in on_path if entry["method"] == method]
        found = [entry for entry in same if body is None or entry["body"] == body]
        if len(found) != times:
            raise AssertionError(_missed(method, path, times, body, found, same, on_path, self.requests()))
        return found

    def fault(self, method=None, path=None, *, status=None, delay_ms=None, malformed=False, drop=False, times=None):
        """Make the matching requests fail (see the README): answer ``status``, wait
        ``delay_ms`` first, answer a ``malformed`` body, or ``drop`` the connection;
        ``times`` times, or until cleared. The rule as the service lists it."""
        rule = {"method": method, "path": path, "status": status, "delayMs": delay_ms, "times": times}
        rule = {name: value for name, value in rule.items() if value is not None}
        rule.update({name: True for name, value in (("malformed", malformed), ("drop", drop)) if value})
        return self._expect(201, "POST", "/__admin/faults", rule)

    def faults(self):
        """This namespace's fault rules, with their uses so far and left."""
        return self._expect(200, "GET", "/__admin/faults")["data"]

    def clear_faults(self):
        self._expect(204, "DELETE", "/__admin/faults")

    def coverage(self):
        """{"METHOD /template": {"status": count}}: what this namespace was answered."""
        return self._expect(200, "GET", "/__admin/coverage")["operations"]

    def _expect(self, status, method, path, body=None):
        got, answer = self.call(method, path, body)
        if got != status:
            raise CustomerLabelsError(f"{method} {path} answered {got}: {answer}")
        return answer


def _shown(entry):
    body = "" if entry["body"] is None else " " + json.dumps(entry["body"])
    status = "dropped" if entry["status"] is None else entry["status"]
    return f"  {entry['method']} {entry['path']}{body} -> {status}"


def _missed(method, path, times, body, found, same, on_path, everything):
    """Why ``verify`` failed: what was expected, the nearest misses, and what came."""
    wanted = f"{method} {path}" + ("" if body is None else f" with body {json.dumps(body)}")
    lines = [f"expected {wanted} {times} time(s), but it came {len(found)} time(s)"]
    near = [(entry, "same method and path, other body") for entry in same if entry not in found]
    near += [(entry, "same path, other method") for entry in on_path if entry["method"] != method]
    if not near:  # the same method elsewhere, the most alike paths first
        others = [entry for entry in everything if entry["method"] == method and entry not in on_path]
        alike = sorted(others, key=lambda entry: -difflib.SequenceMatcher(None, entry["path"], path).ratio())
        near = [(entry, "same method, other path") for entry in alike[:3]]
    if near:
        lines.append("closest requests received:")
        lines += [f"{_shown(entry)}   ({why})" for entry, why in near[:5]]
    lines.append(f"all {len(everything)} request(s) received, oldest first:" if everything else "no requests received")
    lines += [_shown(entry) for entry in everything[-20:]]
    return "\n".join(lines)


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


def coverage_report(document, counts):
    """The report: for each operation of ``document`` (the API's OpenAPI document), the
    statuses it documents, how often the tests got each, and those they never got. The
    service's own endpoints (health, metrics, the document) are not the API's: left out."""
    exercised = collections.defaultdict(dict)
    for (operation, status), count in sorted(counts.items()):
        exercised[operation][status] = count
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if "Service" in operation["tags"]:
                continue
            key = f"{method.upper()} {path}"
            got, documented = exercised.pop(key, {}), sorted(operation["responses"])
            operations.append(
                {
                    "operationId": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "exercised": got,
                    "documented": documented,
                    "neverExercised": [status for status in documented if status not in got],
                }
            )
    statuses = [(op["documented"], op["exercised"]) for op in operations]
    return {
        "api": document["info"]["title"],
        "version": document["info"]["version"],
        "summary": {
            "operations": len(operations),
            "operationsExercised": sum(bool(op["exercised"]) for op in operations),
            "documentedStatuses": sum(len(documented) for documented, _ in statuses),
            "documentedStatusesExercised": sum(len(set(documented) & set(got)) for documented, got in statuses),
        },
        "operations": operations,
        # Answers the document does not list for that operation: forced by fault rules.
        "undocumented": {
            **{
                f"{op['method']} {op['path']}": sorted(set(op["exercised"]) - set(op["documented"]))
                for op in operations
                if set(op["exercised"]) - set(op["documented"])
            },
            **{operation: sorted(got) for operation, got in exercised.items()},
        },
    }


def _document():
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_DOCUMENT.format(home=str(PACKAGE_HOME))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def pytest_terminal_summary(terminalreporter, config):
    if not config.getoption("customer_labels_coverage") or hasattr(config, "workeroutput"):
        return
    report = coverage_report(_document(), config.stash[COVERAGE])
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
