"""Driving HTTP load with wrk, and reading its numbers."""

import re
import shutil
import subprocess
from collections import namedtuple
from pathlib import Path

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
#: The service's customer-labels path, as requests.lua templates it.
LABELS_PATH = "/customers/customers/{id}/labels"
Result = namedtuple("Result", "rps p50 p99")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ensure_wrk():
    """wrk on PATH, installed from Debian's packages where missing."""
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk")


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def parse(output):
    """Requests per second, and p50 and p99 latency in ms, from `wrk --latency`."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} requests failed:\n{output}")
    return Result(rps, p50, p99)


def run(url, args, seconds, connections=32, threads=2):
    """One wrk run against ``url``, with bench/wrk/requests.lua and its arguments:
    token, ids file, methods, path template and, for a body, the body."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(WRK_SCRIPTS / "requests.lua"),
        url,
        "--",
        *map(str, args),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse(done.stdout)
