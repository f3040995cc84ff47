"""CS3 errors to tornado HTTPErrors: jupyter_server's APIHandler writes ``{message, reason}``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tornado.web import HTTPError

from ..cs3.errors import CS3Error


def http_error(err: CS3Error, home: str) -> HTTPError:
    # Users know their files by the path JupyterLab shows, not by the CS3 path of their home.
    message = err.message.replace(home.rstrip("/") + "/", "")
    return HTTPError(err.http_status, message, reason=err.reason)


@contextmanager
def as_http_errors(home: str) -> Iterator[None]:
    try:
        yield
    except CS3Error as err:
        raise http_error(err, home) from None
