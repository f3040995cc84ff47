"""Jupyter API paths (``dir/nb.ipynb``, relative to the root) to CS3 paths and back.

An API path never leaves the user's CS3 home: ``..`` and ``.`` segments, NUL bytes and
control characters are refused with 400 before any CS3 call is made.
"""

from __future__ import annotations

import re

from tornado.web import HTTPError

# The longest file or folder name (bytes of UTF-8) storages keep: NAME_MAX on their disks.
MAX_NAME_BYTES = 255
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def clean_api_path(path: str) -> str:
    """Normalise an API path (strip slashes, collapse empty segments) or refuse it. (Called
    for every entry of every listing: no per-character Python loop.)"""
    if _CONTROL.search(path):
        raise HTTPError(400, f"Invalid path {path!r}: control characters are not allowed")
    segments = [s for s in path.replace("\\", "/").split("/") if s]
    if "." in segments or ".." in segments:
        raise HTTPError(400, f"Invalid path {path!r}: '.' and '..' segments are not allowed")
    for segment in segments:
        # (UTF-8 takes at most 4 bytes a character: shorter names need no encoding)
        if len(segment) * 4 <= MAX_NAME_BYTES:
            continue
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise HTTPError(
                400,
                f"Invalid path {path!r}: the name {segment[:40]!r}... is too long (at most "
                f"{MAX_NAME_BYTES} bytes in UTF-8, as on the storage's disks)",
            )
    # Keep the name as given (backslashes are ordinary characters in CS3 names).
    return "/".join(s for s in path.split("/") if s)


def to_cs3(home: str, api_path: str) -> str:
    api_path = clean_api_path(api_path)
    if not api_path:
        return home
    return f"{home.rstrip('/')}/{api_path}"


def to_api(home: str, cs3_path: str) -> str:
    prefix = home.rstrip("/") + "/"
    if cs3_path == home or cs3_path + "/" == prefix:
        return ""
    if not cs3_path.startswith(prefix):
        raise HTTPError(500, f"The storage returned {cs3_path!r}, outside your home {home!r}")
    return cs3_path[len(prefix) :]


def split(api_path: str) -> tuple[str, str]:
    """(parent, name) of an API path."""
    if "/" in api_path:
        parent, name = api_path.rsplit("/", 1)
        return parent, name
    return "", api_path


def is_hidden_name(name: str) -> bool:
    return name.startswith(".")


def is_hidden_path(api_path: str) -> bool:
    return any(is_hidden_name(s) for s in api_path.split("/") if s)
