"""The Node tools the client tests drive, from the npm registry, pinned: installed into
tests/.node on first use (one install, even under pytest-xdist). `.ci/run` installs them
before the suite (`python -m tests.node_tools`), so that the install is not timed with it."""

import fcntl
import json
import subprocess
from pathlib import Path

#: What a frontend developer would install.
TOOLS = (
    "@stoplight/spectral-cli@6.16.3",
    "openapi-typescript@7.13.0",
    "openapi-fetch@0.17.0",
    "@hey-api/openapi-ts@0.95.0",
    "orval@7.13.2",
    "typescript@5.9.3",
)
FOLDER = Path(__file__).resolve().parent / ".node"


def ensure():
    """The folder whose node_modules holds TOOLS, installed if they are not."""
    FOLDER.mkdir(exist_ok=True)
    with open(FOLDER / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = FOLDER / "installed.json"
        if not marker.exists() or json.loads(marker.read_text()) != list(TOOLS):
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(FOLDER), *TOOLS],
                check=True,
                capture_output=True,
                timeout=600,
            )
            marker.write_text(json.dumps(list(TOOLS)))
    return FOLDER


if __name__ == "__main__":
    print(f"Node tools in {ensure()}")
