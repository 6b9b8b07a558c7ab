"""Parsing API_TOKENS, and finding the caller a presented token belongs to."""

import hashlib
import hmac
from collections import namedtuple

from settings import ConfigError

#: The role ladder, lowest first: each role may do all that the ones below it may.
ROLES = ("reader", "editor", "admin")
#: What `python app.py` accepts when API_TOKENS is unset.
DEV_TOKENS = "dev-reader:reader,dev-editor:editor,dev-admin:admin"

#: Who made a request. ``name`` identifies the token without revealing it.
Caller = namedtuple("Caller", "name role")


def _digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenTable:
    """The configured tokens, kept only as SHA-256 digests."""

    def __init__(self, entries):
        self._entries = entries  # [(digest, Caller)]

    @classmethod
    def parse(cls, spec):
        """A table from ``"token:role,token:role"``; ConfigError names what is wrong."""
        entries = []
        for n, item in enumerate(spec.split(","), start=1):
            token, sep, role = item.strip().rpartition(":")
            if not sep or not token:
                raise ConfigError("API_TOKENS", f"entry {n} is not token:role")
            if role not in ROLES:
                raise ConfigError(
                    "API_TOKENS", f"entry {n} has unknown role {role!r}; roles are {', '.join(ROLES)}"
                )
            digest = _digest(token)
            if any(hmac.compare_digest(digest, known) for known, _ in entries):
                raise ConfigError("API_TOKENS", f"entry {n} repeats an earlier token")
            entries.append((digest, Caller(f"token-{n}", role)))
        return cls(entries)

    def find(self, token):
        """The caller whose token this is, or None.

        Every entry is compared, in constant time, so timing tells nothing
        about which token came close.
        """
        digest = _digest(token or "")
        found = None
        for known, caller in self._entries:
            if hmac.compare_digest(digest, known):
                found = caller
        return found


def roles_of(caller):
    """The caller's role and every role below it on the ladder."""
    return list(ROLES[: ROLES.index(caller.role) + 1])
