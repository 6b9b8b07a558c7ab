"""One test's view of the service: its namespace's URL and tokens, and calls that
seed it, read its journal, verify what it was sent, and make it fail on purpose."""

import difflib
import json
import urllib.error
import urllib.parse
import urllib.request


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
