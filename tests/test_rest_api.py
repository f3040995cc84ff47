"""docs/rest-api.yaml, the OpenAPI description of cs3lab's REST API, against the handlers the
server really registers: the same operations, and every query parameter and body field a
handler reads (and every field it requires) is described there as such."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import yaml
from test_session_and_auth import cs3lab_routes, implemented

SPEC = Path(__file__).resolve().parent.parent / "docs" / "rest-api.yaml"


def load_spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def template(path: str) -> str:
    """A route regex or an OpenAPI path with its variable parts as {}."""
    path = "/" + path.strip("/")
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"\([^)]*\)", "{}", path))


def described(spec: dict, operation: dict) -> tuple[set[str], set[str], set[str]]:
    """(query parameters, body fields, required body fields) of an operation."""
    query = set()
    for parameter in operation.get("parameters", []):
        parameter = resolve(spec, parameter)
        if parameter["in"] == "query":
            query.add(parameter["name"])
    body = resolve(spec, operation.get("requestBody", {}))
    schema = resolve(spec, body.get("content", {}).get("application/json", {}).get("schema", {}))
    fields, required = set(), set()
    for alternative in schema.get("oneOf", [schema]):  # one of several bodies: any of them
        fields |= set(alternative.get("properties", {}))
        required |= set(alternative.get("required", []))
    return query, fields, required


def read_by(method) -> tuple[set[str], set[str], set[str]]:
    """(query parameters, body fields, required body fields) a handler method reads."""
    source = inspect.getsource(method)
    query = set(re.findall(r'get_query_argument\("(\w+)"', source))
    required = set(re.findall(r'required\((?:body|self\.json_body\(\)), "(\w+)"\)', source))
    optional = set(re.findall(r'body\.get\("(\w+)"', source))
    optional |= set(re.findall(r'body\["(\w+)"\]', source))
    return query, required | optional, required


async def test_the_description_has_exactly_the_registered_operations(jp_serverapp):
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    base = jp_serverapp.base_url
    registered = {
        (template(pattern.removeprefix(base)), method)
        for pattern, handler in cs3lab_routes(jp_serverapp.web_app).items()
        for method in implemented(handler)
    }
    documented = {
        (template(path), method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == registered
    assert len(registered) >= 40


# Required fields a handler checks by hand rather than with ``required`` (a boolean, an
# object).
CHECKED_BY_HAND = {"grant", "grantee"}


async def test_every_parameter_and_field_a_handler_reads_is_described(jp_serverapp):
    spec = load_spec()
    by_template = {template(path): item for path, item in spec["paths"].items()}
    base = jp_serverapp.base_url
    # A handler method serving several routes (a list and one item) may read what any of
    # their operations describes.
    operations: dict[tuple[type, str], list[dict]] = {}
    for pattern, handler in cs3lab_routes(jp_serverapp.web_app).items():
        item = by_template[template(pattern.removeprefix(base))]
        for method in implemented(handler):
            operations.setdefault((handler, method), []).append(item[method.lower()])
    missing = []
    for (handler, method), served in operations.items():
        query, fields, required = set(), set(), set()
        for operation in served:
            q, f, r = described(spec, operation)
            query, fields, required = query | q, fields | f, required | r
        reads_query, reads_fields, requires = read_by(getattr(handler, method.lower()))
        where = f"{method} {handler.__module__}.{handler.__name__}"
        missing += [f"{where}: query {q}" for q in reads_query - query]
        missing += [f"{where}: body {f}" for f in reads_fields - fields]
        missing += [f"{where}: {f} required" for f in requires - required]
        missing += [f"{where}: {f} not required" for f in required - requires - CHECKED_BY_HAND]
    assert missing == [], "\n".join(missing)
