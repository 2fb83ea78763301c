"""Finishing the OpenAPI document so it states exactly what the server enforces.

ninja writes the document from the routes and their schemas; two rules hold for every operation and are
added here rather than repeated on each route:

- error responses are problem details (`application/problem+json`), as the handlers send them;
- no text anywhere in a request holds NUL (the HTTP layer refuses it, kernel.middleware): every string
  of a parameter or a request body without a pattern, format, enum or const gets the NUL-free pattern.
"""

from __future__ import annotations

from punchcard.kernel.rendering import JSON, PROBLEM_JSON
from punchcard.kernel.schemas import NO_NUL

_EXACT = ("pattern", "format", "enum", "const")
_NESTED = ("anyOf", "oneOf", "allOf")


def _no_nul(schema: dict, components: dict, seen: set[str]) -> None:
    """Add the NUL-free pattern to every free string in `schema`, following $refs once each."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            _no_nul(components[name], components, seen)
        return
    if schema.get("type") == "string" and not any(key in schema for key in _EXACT):
        schema["pattern"] = NO_NUL
    for key in _NESTED:
        for part in schema.get(key, []):
            _no_nul(part, components, seen)
    for part in schema.get("properties", {}).values():
        _no_nul(part, components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _no_nul(schema[key], components, seen)


# Answered by gunicorn before the request reaches Punchcard (its own short page, not a problem): the
# document says so on every operation, so a client is told of them too (README, "The HTTP contract").
_SERVER_PAGE = {"text/html": {"schema": {"type": "string"}}}
SERVER_LIMITS = {
    "414": {
        "description": "The request line is over 4094 bytes (a query too long): gunicorn's page",
        "content": _SERVER_PAGE,
    },
    "431": {"description": "Over 100 header fields, or one over 8190 bytes: gunicorn's page", "content": _SERVER_PAGE},
}


def finish_openapi(schema: dict) -> dict:
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for status, limit in SERVER_LIMITS.items():
                operation.setdefault("responses", {}).setdefault(status, dict(limit))
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and JSON in content:
                    content[PROBLEM_JSON] = content.pop(JSON)
            for parameter in operation.get("parameters", []):
                _no_nul(parameter.get("schema", {}), components, seen)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _no_nul(media.get("schema", {}), components, seen)
    return schema
