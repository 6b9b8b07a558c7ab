"""Parsing API_TOKENS, and finding the caller a presented token belongs to."""

import hashlib
import hmac
import re
from collections import namedtuple

from ..settings import ConfigError

#: The role ladder, lowest first: each role may do all that the ones below it may.
ROLES = ("reader", "editor", "admin")
#: What `python app.py` accepts when API_TOKENS is unset.
DEV_TOKENS = "dev-reader:reader,dev-editor:editor,dev-admin:admin"
HASHED = re.compile(r"sha256:([0-9a-fA-F]{64})")

#: Who made a request. ``name`` identifies the token without revealing it.
Caller = namedtuple("Caller", "name role")


def digest(token):
    """A token's SHA-256, as ``sha256:<hex>`` entries in API_TOKENS give it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenTable:
    """The configured tokens, kept only as SHA-256 digests."""

    def __init__(self, entries):
        self._entries = entries  # [(digest, Caller)]

    @classmethod
    def parse(cls, spec, min_length=0, one_per_role=None):
        """A table from ``"token:role,sha256:<hex>:role"`` (API_TOKENS) and ``one_per_role``
        ({setting: (token, role)}, READER_TOKEN and the like); ConfigError names what is wrong.

        Plain tokens shorter than ``min_length`` are refused. Hashed ones
        cannot be checked for length; their hex is their SHA-256.
        """
        entries = []
        for n, item in enumerate(spec.split(",") if spec else [], start=1):
            token, sep, role = item.strip().rpartition(":")
            if not sep or not token:
                raise ConfigError("API_TOKENS", f"entry {n} is not token:role")
            if role not in ROLES:
                raise ConfigError("API_TOKENS", f"entry {n} has unknown role {role!r}; roles are {', '.join(ROLES)}")
            cls._add(entries, "API_TOKENS", f"entry {n}", token, Caller(f"token-{n}", role), min_length, ":role")
        for setting, (token, role) in (one_per_role or {}).items():
            caller = Caller(setting.lower().replace("_", "-"), role)
            cls._add(entries, setting, "the token", token, caller, min_length)
        return cls(entries)

    @staticmethod
    def _add(entries, setting, which, token, caller, min_length, role=""):
        hashed = HASHED.fullmatch(token)
        if hashed:
            known = bytes.fromhex(hashed.group(1))
        elif token.startswith("sha256:"):
            raise ConfigError(setting, f"{which} is not sha256:<64 hex digits>{role}")
        elif len(token) < min_length:
            raise ConfigError(setting, f"{which} is shorter than {min_length} characters; use a long random token")
        else:
            known = digest(token)
        if any(hmac.compare_digest(known, other) for other, _ in entries):
            raise ConfigError(setting, f"{which} repeats an earlier token")
        entries.append((known, caller))

    def find(self, token):
        """The caller whose token this is, or None.

        Every entry is compared, in constant time, so timing tells nothing
        about which token came close.
        """
        presented = digest(token or "")
        found = None
        for known, caller in self._entries:
            if hmac.compare_digest(presented, known):
                found = caller
        return found


#: Each role on the ladder, with every role below it.
_LADDER = {role: ROLES[: n + 1] for n, role in enumerate(ROLES)}


def roles_of(caller):
    """The caller's role and every role below it on the ladder; a role off the ladder
    (METRICS_TOKEN's "metrics") is only itself."""
    return _LADDER.get(caller.role) or (caller.role,)
