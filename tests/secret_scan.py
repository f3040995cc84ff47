"""The secret scan over the whole suite: every log record of the test process (cs3lab's own
at DEBUG), every answer that jp_fetch and the test's Jupyter servers (tests/servers.py) give,
and those servers' logs are searched for the secrets the test sites made
(tools/sites/known_secrets.py: users' passwords, revad's and Keycloak's secrets) and for
anything shaped like a JWT (Reva's and the identity provider's tokens). conftest.py fails the
test during which something was found."""

from __future__ import annotations

import logging
import re
import threading

from known_secrets import SECRETS

# Three base64url parts, the first two JSON objects ("eyJ" is '{"').
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


class Scanner:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.texts = 0  # how many texts were searched
        self._lock = threading.Lock()

    def scan(self, where: str, text: str) -> None:
        with self._lock:
            self.texts += 1
            for name, value in list(SECRETS.items()):
                if value in text:
                    self.found.append(f"{name} in {where}")
            if JWT.search(text):
                self.found.append(f"a token (JWT) in {where}")


SCANNER = Scanner()


class LogScanner(logging.Handler):
    """Searches each log record, as formatted, with its traceback."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        SCANNER.scan(f"a log record of {record.name} ({record.levelname})", text)


def install() -> None:
    """Scan every record that reaches the root logger's handlers, and cs3lab's at DEBUG."""
    logging.getLogger().addHandler(LogScanner(logging.DEBUG))
    logging.getLogger("cs3lab").setLevel(logging.DEBUG)
