"""RFC 9457 problem details: every refusal the API gives has one shape and a stable `code`.

Domain errors carry their code and kind (punchcard.domain.errors); the HTTP layer only maps the
kind to a status. Validation, authentication and parsing failures get problems too, so a client
never sees ninja's or Django's own error formats, and never a 500 for anything it can send.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from punchcard.domain.errors import CODES, DomainError

from .rendering import PROBLEM_JSON, json_response

logger = logging.getLogger(__name__)

STATUS_OF_KIND = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "rate_limited": 429,
    "unverified": 401,
    "bad_request": 400,
}

# Codes only the HTTP layer answers with; the domain's own are punchcard.domain.errors.CODES.
API_CODES: dict[str, str] = {
    "unauthenticated": "No valid API key (Authorization: Bearer …) or staff session was presented.",
    "bad_request": "The HTTP request itself is malformed (a header, the request line).",
    "method_not_allowed": "The resource does not answer this HTTP method; `Allow` lists the ones it does.",
    "too_large": "The request body is larger than the server accepts.",
    "unsupported_media_type": "The request body is not JSON (Content-Type application/json, UTF-8).",
    "internal": "An unexpected error; it is logged and is a bug.",
}
ALL_CODES: dict[str, str] = {**CODES, **API_CODES}

TYPE_BASE = "/api/v1/problems/"


class FieldError(Schema):
    field: str | None = None
    detail: str
    type: str


class Problem(Schema):
    """A problem details object (RFC 9457, application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    permission: str | None = None  # 403: the permission the caller's role lacks
    errors: list[FieldError] | None = None  # 422: every offending field, not just the first
    context: dict[str, Any] | None = None  # figures that explain a refusal, e.g. {"available": 2}


def errors(*statuses: int) -> dict[int, type[Problem]]:
    """The problem responses a route declares, e.g. `response={200: Out, **errors(401, 404)}`."""
    return {status: Problem for status in statuses}


READ = errors(401, 403, 404, 422)
WRITE = errors(401, 403, 404, 409, 422)


def problem(*, status: int, code: str, detail: str, field: str | None = None, **extra) -> HttpResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": ALL_CODES.get(code, code),
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
        **extra,
    }
    return json_response({k: v for k, v in body.items() if v is not None}, status=status, content_type=PROBLEM_JSON)


def _jsonable(value):
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    context = {k: _jsonable(v) for k, v in exc.context.items() if k != "permission"}
    return problem(
        status=STATUS_OF_KIND.get(exc.kind, 409),
        code=exc.code,
        detail=exc.message,
        field=exc.field,
        permission=exc.context.get("permission"),
        context=context or None,
    )


def _field_of(loc: tuple) -> str | None:
    """('body', 'payload', 'items', 0, 'plan_id') → 'items[0].plan_id'; ('query', 'limit') → 'limit'."""
    parts = list(loc[1:])
    if loc and loc[0] == "body":
        parts = parts[1:]  # the view's parameter name, not part of the document
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


_NOT_A_NUMBER = {"int_parsing", "int_type"}


def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    path_words = [e for e in exc.errors if tuple(e.get("loc", ()))[:1] == ("path",)]
    if path_words and len(path_words) == len(exc.errors) and all(e.get("type") in _NOT_A_NUMBER for e in path_words):
        # /appointments/None: a path segment that is not a number names no resource.
        field = _field_of(tuple(path_words[0]["loc"]))
        return problem(status=404, code="not_found", detail=f"no such resource: {request.path}", field=field)
    items = []
    for error in exc.errors:
        loc = tuple(error.get("loc", ()))
        field = _field_of(loc)
        message = str(error.get("msg", "invalid value"))
        if field is None and loc[:1] == ("body",):
            message = f"the request body: {message}"
        items.append({"field": field, "detail": message, "type": str(error.get("type", "invalid"))})
    first = items[0] if items else {"field": None, "detail": "invalid request"}
    detail = f"{first['field']}: {first['detail']}" if first["field"] else first["detail"]
    return problem(status=422, code="invalid", detail=detail, field=first["field"], errors=items)


def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = (
        exc.message
        if exc.message != "Unauthorized"
        else ("authenticate with 'Authorization: Bearer <API key>' or a staff session")
    )
    response = problem(status=401, code="unauthenticated", detail=detail)
    response["WWW-Authenticate"] = 'Bearer realm="punchcard"'
    return response


def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's "Cannot parse request body": malformed JSON is invalid input like any other.
        return problem(status=422, code="invalid", detail="the request body is not valid JSON")
    if exc.status_code == 403:
        return problem(status=403, code="forbidden", detail=exc.message)
    code = {401: "unauthenticated", 404: "not_found", 409: "invalid"}.get(exc.status_code, "invalid")
    return problem(status=exc.status_code, code=code, detail=exc.message)


def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(status=404, code="not_found", detail="no such resource")


def data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A value the database cannot store (out of range, NUL byte, …) that escaped validation: still
    # the client's input, so a 422 — and logged, because the schema should have refused it first.
    logger.warning("database refused a value: %s", exc)
    return problem(status=422, code="invalid", detail="a value is out of range or cannot be stored")


def too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(status=413, code="too_large", detail="the request body is larger than the server accepts")


def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return problem(status=500, code="internal", detail="an unexpected error occurred")


def install(api) -> None:
    api.add_exception_handler(DomainError, domain_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(DataError, data_error)
    api.add_exception_handler(RequestDataTooBig, too_large)
    api.add_exception_handler(OverflowError, data_error)
    api.add_exception_handler(Exception, unexpected)
