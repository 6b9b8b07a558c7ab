"""Contract coverage: which operations and statuses of the API a consumer's tests got,
and which they never did, from the counts the service keeps (GET /__admin/coverage)."""

import collections
import json
import subprocess
import sys

#: The API's document as the service builds it outside mock mode, made in a process of
#: its own like the service, for the coverage report.
_BUILD_DOCUMENT = (
    "import json, sys; sys.path.append({home!r}); from customer_labels.schemas import openapi; "
    "print(json.dumps(openapi.build()))"
)


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


def document(home):
    """The API's document, from the copy of the package found in folder ``home``."""
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_DOCUMENT.format(home=str(home))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)
