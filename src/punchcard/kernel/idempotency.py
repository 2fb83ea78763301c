"""Idempotency-Key on every POST (SPEC §3.4, DESIGN rule 3).

The first successful response to (tenant, caller, key) is stored; a repeat of the same request
(method, path and body) gets that response back — same status, same bytes — and writes nothing; the
same key with a different request is a 409 `idempotency_conflict`.

Keys belong to the caller (an API key or a staff user, `Principal.caller_id`): another caller using
the same key makes a request of their own and never sees the stored response. Every route names the
permission it needs (`@idempotent(perm=Perm.ADJUST)`), and the decorator checks it before anything
else, so a replay is refused exactly when the request itself would be (a caller whose role was
lowered since does not get the old answer back).

Race safety: the lookup, the service call and the insert of the record run in one transaction.
Two concurrent requests with one key may both start, but the record's unique (tenant, caller, key)
constraint lets only one commit: the other's insert fails, its whole transaction (the service's
writes included) rolls back, and it answers with the winner's stored response. On SQLite the
transactions are IMMEDIATE and simply run one after the other.

Only successes are stored: a refused request wrote nothing, so retrying it with the same key is
a fresh attempt (a package that was short of sessions may have been topped up since).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja.responses import Status
from ninja.utils import contribute_operation_callback

from punchcard import clock
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Perm

from .models import IdempotencyRecord
from .rendering import JSON, json_response

HEADER = "Idempotency-Key"
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Repeat a request safely: the same key and request get the first response (kept 48 h).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
}
RETENTION = dt.timedelta(hours=48)  # promised: at least 24 h
PURGE_EVERY = 100  # stored responses between purges of expired ones
_writes = itertools.count(1)


def key_of(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, checked: 1–200 printable ASCII characters."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not 1 <= len(value) <= 200 or not all(" " <= ch <= "~" for ch in value):
        raise InvalidInput("an Idempotency-Key is 1 to 200 printable ASCII characters", field=HEADER)
    return value


def fingerprint(request: HttpRequest) -> str:
    """Hash of what the request asks for. JSON bodies are canonicalised (key order, spacing)."""
    try:
        body = json.dumps(json.loads(request.body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = request.body.hex()
    return hashlib.sha256(f"{request.method}\n{request.get_full_path()}\n{body}".encode()).hexdigest()


def render(result) -> HttpResponse:
    """A view's Status(code, schema instance) as the JSON response ninja would have produced."""
    if isinstance(result, HttpResponse):
        return result
    status, value = (result.status_code, result.value) if isinstance(result, Status) else (200, result)
    data = value.model_dump() if hasattr(value, "model_dump") else value
    return json_response(data, status=status)


def purge_expired(*, now: dt.datetime | None = None, tenant_ids=None) -> int:
    """Forget stored responses older than the retention period (of the tenants `tenant_ids` names, or
    any tenant's): a sandbox's are kept by its own clock, as its requests read them."""
    old = IdempotencyRecord.objects.filter(created_at__lt=(now or clock.now()) - RETENTION)
    if tenant_ids is not None:
        old = old.filter(tenant_id__in=tenant_ids)
    deleted, _ = old.delete()
    return deleted


class _LostRace(Exception):
    pass


def _replay(record: IdempotencyRecord, request: HttpRequest, digest: str) -> HttpResponse:
    # The digest covers method, path and body; the stored path is only for people reading the table.
    if (record.method, record.request_hash) != (request.method, digest):
        raise Conflict(
            f"the Idempotency-Key {record.key!r} was used for a different request",
            code="idempotency_conflict",
            field=HEADER,
        )
    response = HttpResponse(record.body, status=record.status, content_type=f"{JSON}; charset=utf-8")
    response["Idempotent-Replayed"] = "true"
    return response


def _live_record(tenant, caller: str, key: str, now: dt.datetime) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(tenant=tenant, caller=caller, key=key).first()
    if record is not None and record.created_at < now - RETENTION:
        record.delete()  # expired: the key is free again
        return None
    return record


def idempotent(*, perm: Perm, calls_out: bool = False):
    """Decorate a POST view (under the router decorator) with the permission the route needs; the view
    returns Status(code, schema).

    `calls_out`: the view calls the outside world (a payment provider), which must never happen inside a
    transaction. Its service must then be idempotent by the same key itself (it is handed `key_of`):
    the view runs outside any transaction and its response is stored afterwards, in one of its own; a
    concurrent twin gets the same answer from the service, and whichever stores first is replayed."""
    if not isinstance(perm, Perm):
        raise TypeError("@idempotent(perm=...) takes the route's Perm")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            request.auth.actor.require(perm)  # before a replay too: a replay is no way round the role check
            key = key_of(request)
            if key is None:
                return render(view(request, *args, **kwargs))
            if calls_out:
                return _once_outside(view, request, key, args, kwargs)
            return _once(view, request, key, args, kwargs)

        wrapper.idempotent = True
        wrapper.idempotent_perm = perm
        contribute_operation_callback(wrapper, _document_header)
        return wrapper

    return decorate


def _once(view, request: HttpRequest, key: str, args, kwargs) -> HttpResponse:
    tenant, caller = request.auth.tenant, request.auth.caller_id
    digest = fingerprint(request)
    now = clock.now()
    try:
        with transaction.atomic():
            record = _live_record(tenant, caller, key, now)
            if record is not None:
                return _replay(record, request, digest)
            response = render(view(request, *args, **kwargs))
            if 200 <= response.status_code < 300:
                try:
                    with transaction.atomic():
                        _store(request, key, digest, response, now)
                except IntegrityError:
                    raise _LostRace from None
                if next(_writes) % PURGE_EVERY == 0:
                    purge_expired(now=now)
            return response
    except (_LostRace, IntegrityError) as exc:
        # A concurrent request with this key committed first (our record, or the service's own
        # unique idempotency key, collided with its rows); everything we did was rolled back.
        record = IdempotencyRecord.objects.filter(tenant=tenant, caller=caller, key=key).first()
        if record is None:
            if isinstance(exc, IntegrityError):
                raise  # not a duplicate of this request: a genuine error
            raise Conflict(
                "a request with this Idempotency-Key is in progress; retry",  # pragma: no cover
                code="idempotency_conflict",
                field=HEADER,
            ) from None
        return _replay(record, request, digest)


def _store(request: HttpRequest, key: str, digest: str, response: HttpResponse, now: dt.datetime) -> None:
    IdempotencyRecord.objects.create(
        tenant=request.auth.tenant,
        caller=request.auth.caller_id,
        key=key,
        method=request.method,
        path=request.get_full_path()[:500],
        request_hash=digest,
        status=response.status_code,
        body=response.content.decode(),
        created_at=now,
    )


def _once_outside(view, request: HttpRequest, key: str, args, kwargs) -> HttpResponse:
    """`_once` for a view that calls out: no transaction around the view (see `idempotent`)."""
    tenant, caller = request.auth.tenant, request.auth.caller_id
    digest = fingerprint(request)
    now = clock.now()
    record = _live_record(tenant, caller, key, now)
    if record is not None:
        return _replay(record, request, digest)
    response = render(view(request, *args, **kwargs))
    if 200 <= response.status_code < 300:
        try:
            with transaction.atomic():
                _store(request, key, digest, response, now)
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(tenant=tenant, caller=caller, key=key), request, digest)
    return response


def _document_header(operation) -> None:
    # Only operations that honour the header document it (ninja merges these lists into the schema).
    extra = operation.openapi_extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), HEADER_PARAMETER]
