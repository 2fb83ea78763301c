"""The HTTP contract around the API's routes: what Django or ninja would answer as HTML answers as a problem.

Under /api/v1/ this middleware

- refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before anything reads it (Django would raise
  RequestDataTooBig, a 500 or an HTML 400);
- refuses a body whose Content-Type is not JSON with 415 (a form, text or XML body is never parsed as
  JSON); the FHIR routes also take `application/fhir+json`;
- refuses NUL anywhere in the path, the query or a JSON body's text with 422 naming the parameter
  (PostgreSQL cannot store it; the document states it as a pattern on every text);
- answers HEAD like GET without the body, and OPTIONS with 204 and `Allow`;
- turns any other non-JSON error response (405 with its `Allow`, a 404 of the URL resolver, …) into
  problem+json with the same status.

The limits gunicorn enforces before a request reaches Django (request line, header count and size) are
answered by gunicorn itself; they are listed in the README and the API description.

`NoStoreForCallers`: a JSON (or CSV) answer to a request that carried credentials (an API key, or a staff
session) holds one tenant's data, so `Cache-Control: no-store` keeps it out of browser and proxy caches.
The Content-Security-Policy on HTML pages is django-csp's (settings.CONTENT_SECURITY_POLICY).

`TenantClockPerRequest`: a sandbox tenant's test clock lasts exactly as long as the request that entered it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from punchcard import clock

from .problems import problem

API_PREFIX = "/api/v1/"
FHIR_PREFIX = API_PREFIX + "fhir/"
JSON_TYPES = frozenset({"application/json"})
FHIR_TYPES = JSON_TYPES | {"application/fhir+json"}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _has_body(request: HttpRequest, length: int | None) -> bool:
    return bool(length) or "HTTP_TRANSFER_ENCODING" in request.META


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """A 400/413/415 for a request whose body the API will not read, or None."""
    length = _content_length(request)
    if length is None:
        return problem(status=400, code="bad_request", detail="Content-Length is not a number")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return problem(
            status=413,
            code="too_large",
            detail=f"a request body is at most {limit} bytes",
            field="body",
            context={"limit": limit, "length": length},
        )
    if request.method not in BODY_METHODS or not _has_body(request, length):
        return None
    allowed = FHIR_TYPES if request.path.startswith(FHIR_PREFIX) else JSON_TYPES
    charset = request.content_params.get("charset", "utf-8").lower()
    if request.content_type not in allowed or charset not in ("utf-8", "utf8"):
        given = request.META.get("CONTENT_TYPE") or "none"
        return problem(
            status=415,
            code="unsupported_media_type",
            detail=f"a request body must be {' or '.join(sorted(allowed))} (UTF-8); Content-Type was {given[:100]}",
            field="Content-Type",
        )
    return None


# A JSON string escape \u0000 (an odd number of backslashes before u0000): NUL in a JSON text.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_path(value, path: str) -> str | None:
    """The JSON path of the first text (or key) holding NUL in a parsed body, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return path or "body"
        where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
        found = _nul_path(item, where)
        if found:
            return found
    return None


def _nul_refusal(request: HttpRequest) -> HttpResponse | None:
    field = None
    if "\x00" in unquote(request.path):
        field = "path"
    else:
        for name, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                field = name.replace("\x00", "") or "query"
                break
    if field is None and request.method in BODY_METHODS and _JSON_NUL.search(request.body):
        try:
            field = _nul_path(json.loads(request.body), "") or "body"
        except ValueError:
            field = None  # not JSON after all: the route answers that
    if field is None:
        return None
    return problem(status=422, code="invalid", detail=f"{field}: text must not contain NUL characters", field=field)


# The only query parameters the document declares as arrays (given once per value). Any other parameter
# is one value: given twice, the request is not what the document describes, so it is refused rather than
# silently keeping the last value.
REPEATABLE_QUERY = frozenset({"plan_id"})


def _repeat_refusal(request: HttpRequest) -> HttpResponse | None:
    seen: set[str] = set()
    for name, _ in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in seen and name not in REPEATABLE_QUERY:
            detail = f"{name}: give the parameter once (it takes one value)"
            return problem(status=422, code="invalid", detail=detail, field=name)
        seen.add(name)
    return None


def _is_json(response: HttpResponse) -> bool:
    media = response.get("Content-Type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    status = response.status_code
    code = STATUS_CODES.get(status, "bad_request" if status < 500 else "internal")
    if status == 405:
        detail = f"{request.method} is not allowed here; allowed: {response.get('Allow', 'none')}"
    elif status == 404:
        detail = f"no such resource: {request.path}"
    else:
        detail = response.reason_phrase
    replaced = problem(status=status, code=code, detail=detail)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            replaced[header] = response[header]
    return replaced


def _without_body(response: HttpResponse) -> HttpResponse:
    if response.streaming:
        response.streaming_content = iter(())
    else:
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


class ApiContractMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        refused = _refusal(request) or _nul_refusal(request) or _repeat_refusal(request)
        if refused is not None:
            return refused
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        response = self.get_response(request)
        if head:
            request.method = "HEAD"
        if request.method == "OPTIONS" and response.status_code == 405 and "Allow" in response:
            methods = [m.strip() for m in response["Allow"].split(",") if m.strip()]
            extra = (["HEAD"] if "GET" in methods else []) + ["OPTIONS"]
            answer = HttpResponse(status=204)
            answer["Allow"] = ", ".join(methods + extra)
            return answer
        if response.status_code >= 400 and not _is_json(response):
            response = _as_problem(request, response)
        return _without_body(response) if head else response


def _has_credentials(request) -> bool:
    if request.headers.get("Authorization"):
        return True
    user = getattr(request, "user", None)
    return settings.SESSION_COOKIE_NAME in request.COOKIES and user is not None and user.is_authenticated


class NoStoreForCallers:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if ("json" in content_type or content_type.startswith("text/csv")) and _has_credentials(request):
            patch_cache_control(response, no_store=True, private=True)
        return response


class TenantClockPerRequest:
    """A request starts on no tenant's clock and ends leaving none: the API's authentication and the
    console's desk enter a sandbox's test clock for their request (`clock.use_tenant_time`), and a thread
    serving the next request never inherits it. First in MIDDLEWARE, so it wraps everything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clock.reset_tenant_time()
        try:
            return self.get_response(request)
        finally:
            clock.reset_tenant_time()
