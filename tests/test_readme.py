"""The README stays true: its curl examples work, and it lists every endpoint and setting."""

import re
import shlex
import subprocess
import sys

import pytest

from customer_labels import settings
from customer_labels.schemas.openapi import operations

from .processes import ROOT, start, stop, wait_until_up
from .redis_server import free_port

README = (ROOT / "README.md").read_text()
EXAMPLE_BASE = "http://127.0.0.1:5000"


def section(start, end):
    return README.split(start, 1)[1].split(end, 1)[0]


#: Each group of examples, with the settings its section says to start the service with.
EXAMPLE_GROUPS = {
    "quick start": (section("## Quick start", "\n## "), {}),
    "api": (section("## The API by example", "### The rules"), {}),
    "mock": (section("## The mock", "\n## "), {"SEED_FILE": "fixtures/example.json"}),
}


def examples(group=None):
    """The curl commands of one group of examples (or all), in order."""
    groups = [EXAMPLE_GROUPS[group]] if group else EXAMPLE_GROUPS.values()
    return [line for text, _ in groups for line in text.splitlines() if line.startswith("curl ")]


def method_and_path(command):
    words = shlex.split(command)
    method = words[words.index("-X") + 1] if "-X" in words else "GET"
    url = next(word for word in words if word.startswith(EXAMPLE_BASE))
    return method.lower(), url.removeprefix(EXAMPLE_BASE).split("?")[0]


def test_every_operation_has_a_curl_example():
    examples_shapes = set()
    for command in examples():
        method, path = method_and_path(command)
        examples_shapes.add((method, re.sub(r"/(vip|[0-9a-f-]{36})(?=/|$)", "/{}", path)))
    documented = {(op.method, re.sub(r"\{[^}]+\}", "{}", op.path)) for op in operations(mock=True)}
    assert documented <= examples_shapes, sorted(documented - examples_shapes)


@pytest.mark.parametrize("group", EXAMPLE_GROUPS)
def test_curl_examples_work_against_the_dev_server(group):
    port = free_port()
    process = start(f"{sys.executable} app.py", PORT=str(port), **EXAMPLE_GROUPS[group][1])
    try:
        wait_until_up(process, port)
        for command in examples(group):
            command = command.replace(EXAMPLE_BASE, f"http://127.0.0.1:{port}")
            result = subprocess.run(
                ["bash", "-c", command + " -w '\\n%{http_code}'"], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
            assert result.returncode == 0, (command, result.stderr)
            status = result.stdout.rsplit("\n", 1)[-1]
            assert status.startswith("2"), (command, result.stdout)
    finally:
        stop(process)


def test_settings_table_lists_every_setting_and_its_default():
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {row.split("|")[1].strip(" `"): row for row in table.splitlines() if row.startswith("| `")}
    environment_settings = set(settings.DEFAULTS) - {"DEV_MODE"} | set(settings.PROCESS_SETTINGS)
    assert set(rows) == environment_settings
    for name, default in settings.DEFAULTS.items():
        if name in rows and default is not None:
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"`{shown}`" in rows[name], f"the README gives another default for {name}"


def test_the_quick_start_fits_on_one_screen():
    quick = section("## Quick start", "\n## ")
    assert len(quick.strip().splitlines()) <= 24
    for words in ("make run", "make test", "make test-fast", "http://127.0.0.1:5000", "curl "):
        assert words in quick


def test_every_document_the_readme_links_exists():
    for document in ("README.md", *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))):
        text = (ROOT / document).read_text()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (ROOT / document).parent.joinpath(target).resolve().exists(), f"{document} links {target}"


def test_the_two_commands_are_the_ones_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    quick = section("## Quick start", "\n## ")
    assert "make test " in quick and "make run " in quick
    assert "make test" in ci.splitlines()  # the README's test command, as a step of its own
