"""The lock files agree with pyproject.toml, the one source of truth for
dependencies (`make lock` makes them from it)."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .processes import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
GROUPS = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==(\S+)")


def locked(name):
    """{package: version} of a lock file; every entry must carry hashes."""
    text = (ROOT / name).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2] if text.startswith("#") else text)
    pins = {}
    for entry in entries:
        match = PIN.match(entry)
        if not match:
            continue
        assert "--hash=sha256:" in entry, f"{name}: {match.group(1)} has no hash"
        pins[canonicalize_name(match.group(1).split("[")[0])] = Version(match.group(2))
    return pins


def requirements(specs):
    return [Requirement(spec) for spec in specs]


def test_the_deploy_lock_pins_every_dependency_inside_its_range():
    pins = locked("requirements.txt")
    needed = requirements(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["deploy"])
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"
    # Transitive ones too: Werkzeug, Jinja2 and click are pinned, not left to float.
    assert {"werkzeug", "jinja2", "click", "itsdangerous", "markupsafe"} <= set(pins)
    assert "pytest" not in pins


def test_the_dev_lock_pins_the_same_versions_and_the_tools():
    deploy, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert {name: dev.get(name) for name in deploy} == deploy
    for requirement in requirements(GROUPS["dev"]):
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{name} is not in requirements-dev.txt"
        assert requirement.specifier.contains(dev[name]), f"{name}=={dev[name]} is outside {requirement.specifier}"
