"""The code under test: a small client that another service uses to tag its customers."""

import json
import urllib.error
import urllib.request


class LabelsError(Exception):
    def __init__(self, status, problem):
        super().__init__(f"{status}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


class LabelsClient:
    #: Attach and detach are safe to repeat: a 503 is tried once more.
    RETRIES = 1

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def _call(self, method, path, body=None):
        for _ in range(self.RETRIES):
            try:
                return self._call_once(method, path, body)
            except LabelsError as err:
                if err.status != 503:
                    raise
        return self._call_once(method, path, body)

    def _call_once(self, method, path, body=None):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise LabelsError(err.code, json.loads(err.read())) from None

    def labels_of(self, customer_id):
        """The names of a customer's labels."""
        answer = self._call("GET", f"/customers/customers/{customer_id}/labels")
        return [label["name"] for label in answer["data"]]

    def tag(self, customer_id, *label_ids):
        answer = self._call("POST", f"/customers/customers/{customer_id}/labels", {"labels": list(label_ids)})
        return [label["name"] for label in answer["data"]]

    def untag(self, customer_id, *label_ids):
        answer = self._call("DELETE", f"/customers/customers/{customer_id}/labels", {"labels": list(label_ids)})
        return [label["name"] for label in answer["data"]]
