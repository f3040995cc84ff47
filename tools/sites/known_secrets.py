"""Every secret the test sites make (users' passwords, revad's shared secrets, Keycloak's),
by name, for tests/secret_scan.py: it searches the whole suite's logs and answers for them."""

from __future__ import annotations

SECRETS: dict[str, str] = {}


def remember(name: str, value: str) -> str:
    """Keep ``value`` as a secret called ``name``; returns it."""
    if value:
        SECRETS[name] = value
    return value
