"""Small helpers for REST tests through pytest-jupyter's jp_fetch."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


def url_parts(path: str) -> list[str]:
    # jp_fetch URL-escapes each part itself.
    return ["api", "contents", *[p for p in path.split("/") if p]]


async def api(jp_fetch, method: str, path: str, body: Any = None, **params: str) -> Any:
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "PUT", "PATCH"):
        kwargs["body"] = "{}"
    if params:
        kwargs["params"] = params
    response = await jp_fetch(*url_parts(path), **kwargs)
    return json.loads(response.body) if response.body else None


async def api_error(jp_fetch, method: str, path: str, body: Any = None, **params: str):
    """Call expecting an HTTP error; return (status, message)."""
    with pytest.raises(HTTPClientError) as info:
        await api(jp_fetch, method, path, body, **params)
    err = info.value
    body = err.response.body.decode() if err.response and err.response.body else ""
    try:
        return err.code, json.loads(body).get("message", "")
    except ValueError:  # jupyter_server answers a GET of a missing file with plain text
        return err.code, body


async def refusal(call: Awaitable[Any]) -> tuple[int, str]:
    """(status, message) of a request to a JSON API that must fail (``call``: the request)."""
    try:
        await call
    except HTTPClientError as err:
        return err.code, json.loads(err.response.body)["message"]
    raise AssertionError("the request succeeded")


async def cs3lab_api(jp_fetch, method: str, *parts: str, body: Any = None, **params: str) -> Any:
    """Call cs3lab's own REST API (/cs3lab/api/<parts>); the JSON answer (None if empty)."""
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("cs3lab", "api", *parts, **kwargs)
    return json.loads(response.body) if response.body else None


class CallMeter:
    """The gateway calls a Jupyter server's CS3 client makes during one action (``contents``:
    its CS3ContentsManager). ``forget_metadata``: its cache forgets every Stat and listing
    (not the share state) before each action, which then pays for its own."""

    def __init__(self, contents, forget_metadata: bool = False) -> None:
        self.calls = contents.files.client.calls
        self.cache = contents.files.cache
        self.forget_metadata = forget_metadata

    async def cost(self, action: Awaitable[Any]) -> dict[str, int]:
        if self.forget_metadata:
            self.cache.drop_path("/")
        before = Counter(self.calls)
        await action
        return dict(Counter(self.calls) - before)


def text_model(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}
