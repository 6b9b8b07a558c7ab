"""The pytest plugin, used the way another project uses it: pip-installed, in
a project of its own (examples/label-client), with no path to this repo."""

import os
import shutil
import subprocess
import sys

from .processes import ROOT


def test_example_project_passes_with_the_installed_plugin(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "examples", "bench"))
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "label-client", project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "API_TOKENS", "REDIS_URL", "SEED_FILE")}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "27 passed" in result.stdout, result.stdout
    assert str(ROOT) not in result.stdout + result.stderr
