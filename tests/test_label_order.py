"""A customer's labels come in the API's order (by name key, code point by code point)
from a real Redis whatever locale it was started in: Redis takes its collation from
the environment, and Lua's < on strings follows it."""

import json
import subprocess
from pathlib import Path

import pytest

from customer_labels.store import MemoryStore, RedisStore

from .redis_server import RedisServer, require

#: Names whose order by code point differs from en_US's collation, which ignores spaces
#: and punctuation at first and puts "ä" beside "a".
NAMES = ["Gold Tier", "Golden", "a b", "ab", "a-c", "Ärger", "Zeta", "b", "B2", "vip", "VIP gold", "ß", "ss x"]


@pytest.fixture(scope="session")
def collating_locale(tmp_path_factory):
    """The environment of a process in en_US.UTF-8 (built with localedef: CI machines
    carry only the C locales), whose collation is not byte order."""
    require("localedef", package="locales")  # and its sources, /usr/share/i18n/locales
    folder = tmp_path_factory.mktemp("locales")
    subprocess.run(["localedef", "-i", "en_US", "-f", "UTF-8", str(folder / "en_US.UTF-8")], capture_output=True)
    if not (folder / "en_US.UTF-8").is_dir():
        pytest.fail("localedef could not build en_US.UTF-8 (apt-get install locales)")
    return {"LOCPATH": str(folder), "LC_ALL": "en_US.UTF-8"}


@pytest.fixture(params=["C", "en_US.UTF-8"])
def redis_in_a_locale(request, tmp_path):
    """A real Redis started in the C locale (where Lua's < is byte order), or in en_US.UTF-8."""
    env = {"LC_ALL": "C"} if request.param == "C" else request.getfixturevalue("collating_locale")
    server = RedisServer(Path(tmp_path), env=env).start()
    yield server.client(), request.param
    server.stop()


def test_labels_keep_the_apis_order_on_a_redis_in_any_locale(redis_in_a_locale):
    client, locale = redis_in_a_locale
    # The test stands only if this Redis collates as its locale says: en_US ignores the space.
    assert client.eval("return ('golden' < 'gold tier') and 1 or 0", 0) == (0 if locale == "C" else 1)
    on_redis, in_memory = (answers(store) for store in (RedisStore(client, "order:"), MemoryStore()))
    assert on_redis == in_memory
    assert in_memory[-1][:3] == ["a b", "a-c", "ab"]  # by code point: " " < "-" < "b"


def answers(store):
    """The names in the answers of an attach, a replace and a read, in order."""
    ids = [store.create_label({"name": name})["id"] for name in NAMES]
    customer = store.create_customer({"name": "Ada"})["id"]
    texts = [
        store.labels_json(customer, "attach", ids[: len(ids) // 2]),
        store.labels_json(customer, "replace", ids),
        store.labels_json(customer),
    ]
    return [[label["name"] for label in json.loads(text)["data"]] for text in texts]
