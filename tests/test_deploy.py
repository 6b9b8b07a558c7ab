"""What an operator deploys with: app.json (Heroku's button and review apps, Dokku)
and .env.example (heroku local, honcho), checked against the settings the service
reads, and started as a platform would start them."""

import json
import secrets
import shutil
import sys
from pathlib import Path

import pytest

from customer_labels import settings

from .processes import ROOT, call, start, stop, wait_until_up
from .redis_server import free_port

MANIFEST = json.loads((ROOT / "app.json").read_text())
#: What the platform sets itself: the port, and the Redis add-on's URLs.
PLATFORM = {"PORT", "REDIS_URL", "REDIS_TLS_URL"}
#: Every setting the service reads from the environment.
READ = set(settings.READERS) | set(settings.SERVER_NUMBERS) | PLATFORM
#: Values app.json sets on purpose to something other than the service's default.
#: The secrets app.json generates: a token for each role, and the scraper's.
GENERATED = ("READER_TOKEN", "EDITOR_TOKEN", "ADMIN_TOKEN", "METRICS_TOKEN")
NOT_THE_DEFAULT = {"REDIS_TLS_VERIFY": "Heroku's Key-Value Store has self-signed certificates"}


def env_example():
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.fast
def test_app_json_names_every_setting_the_service_reads_and_no_other():
    assert set(MANIFEST["env"]) == READ - PLATFORM
    for name, entry in MANIFEST["env"].items():
        assert entry["description"].strip(), name
        assert entry.get("required", True) is (name in GENERATED), name


@pytest.mark.fast
def test_app_json_values_are_the_defaults_and_pass_the_checks():
    for name, entry in MANIFEST["env"].items():
        if "value" not in entry:
            continue
        settings.from_env({name: entry["value"]})  # a wrong one raises ConfigError
        default = settings.DEFAULTS.get(name, settings.SERVER_NUMBERS.get(name, (None,))[0])
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert (entry["value"] == shown) is (name not in NOT_THE_DEFAULT), name


@pytest.mark.fast
def test_app_json_generates_one_token_per_role_and_adds_redis():
    generated = {name for name, entry in MANIFEST["env"].items() if entry.get("generator") == "secret"}
    assert generated == set(GENERATED)
    assert [addon["plan"].split(":")[0] for addon in MANIFEST["addons"]] == ["heroku-redis"]
    (check,) = MANIFEST["healthchecks"]["web"]
    assert check["path"] == "/readyz" and check["type"] == "startup"


def test_a_deploy_from_app_json_serves_with_its_generated_tokens(redis_url):
    """The Procfile's web line with what app.json gives: its values, a secret for each
    generated setting (Heroku's: 64 hex digits), and the add-on's REDIS_URL."""
    env = {name: entry["value"] for name, entry in MANIFEST["env"].items() if "value" in entry}
    tokens = {name: secrets.token_hex(32) for name in GENERATED}
    port = free_port()
    process = start("python -m customer_labels.server", PORT=str(port), REDIS_URL=redis_url, **env, **tokens)
    try:
        wait_until_up(process, port)
        assert call(port, "GET", MANIFEST["healthchecks"]["web"][0]["path"])[0] == 200
        assert call(port, "POST", "/labels/labels", {"name": "VIP"}, token=tokens["ADMIN_TOKEN"])[0] == 201
        assert call(port, "GET", "/labels/labels", token=tokens["READER_TOKEN"])[0] == 200
        assert call(port, "POST", "/labels/labels", {"name": "X"}, token=tokens["EDITOR_TOKEN"])[0] == 403
        assert call(port, "GET", "/labels/labels", token="not-a-token-0123456789")[0] == 401
        assert call(port, "GET", "/labels/labels", token=tokens["METRICS_TOKEN"])[0] == 403
    finally:
        output = stop(process)
    assert not any(token in output for token in tokens.values())  # never logged


@pytest.mark.fast
def test_env_example_holds_only_settings_the_service_reads():
    assert set(env_example()) <= READ
    assert {"READER_TOKEN", "EDITOR_TOKEN", "ADMIN_TOKEN"} <= set(env_example())


def test_honcho_start_with_env_example_serves(tmp_path):
    """As `honcho start` runs the Procfile in a checkout where .env.example became .env."""
    for name in ("Procfile", ".env.example"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    port = free_port()
    honcho = Path(sys.executable).parent / "honcho"
    # The checkout's package, as a deploy has it installed: PYTHONPATH points at it.
    command = f"cd {tmp_path} && PYTHONPATH={ROOT} {honcho} start --port {port} web"
    process = start(command)
    try:
        wait_until_up(process, port)
        tokens = env_example()
        assert call(port, "GET", "/readyz")[0] == 200
        assert call(port, "POST", "/labels/labels", {"name": "VIP"}, token=tokens["ADMIN_TOKEN"])[0] == 201
        assert call(port, "GET", "/labels/labels", token=tokens["READER_TOKEN"])[1]["data"][0]["name"] == "VIP"
    finally:
        output = stop(process)
    assert "web.1" in output  # honcho ran it, and prefixed its lines
