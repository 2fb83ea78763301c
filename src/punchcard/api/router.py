"""The HTTP API, version 1, mounted at /api/v1 (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

The composition root of the API, above every app: the routes live in each app's api.py (on the kernel's
problems, idempotency and pagination); this module mounts them, installs tenancy's authenticators and
the problem-details error handlers, and finishes the OpenAPI document (the problem media type on errors).
"""

from __future__ import annotations

from ninja import NinjaAPI, Router, Schema

from punchcard.api.openapi import finish_openapi
from punchcard.appointments.api import router as appointments
from punchcard.billing.api import router as billing
from punchcard.billing.providers_api import router as payment_providers
from punchcard.billing.receipts_api import router as receipts
from punchcard.catalogue.api import router as catalogue
from punchcard.claims.api import router as claims
from punchcard.domain.errors import NotFound
from punchcard.imports.api import router as imports
from punchcard.kernel.parsing import JsonParser
from punchcard.kernel.problems import ALL_CODES, TYPE_BASE, errors, install
from punchcard.kernel.rendering import renderer
from punchcard.ledger.api import router as ledger
from punchcard.memberships.api import router as memberships
from punchcard.notifications.api import router as notifications
from punchcard.packages.api import router as packages
from punchcard.promotions.api import router as promotions
from punchcard.reports.api import router as reports
from punchcard.tenancy.admin_api import router as tenancy_admin
from punchcard.tenancy.api import router as tenancy
from punchcard.tenancy.auth import api_key_auth, session_auth
from punchcard.tenancy.testclock_api import router as test_clock

DESCRIPTION = """\
Prepaid packages for clinics: catalogue, selling, balances, redemptions, holds, voids, sharing and history.

**Authentication.** `Authorization: Bearer <API key>` (keys are scoped to one tenant and one role; create
them with `punchcard apikey create` or `POST /api-keys`), or a logged-in staff member's session cookie
(unsafe methods then need the CSRF token in `X-CSRFToken`). Everything is scoped to the caller's tenant:
another tenant's ids answer 404 exactly like missing ones.

**Roles.** front_desk (sell, redeem, patients), manager (+ voids, adjustments, expiry, closing, transfer,
catalogue, money, imports), accountant (read, money, closing accounting periods), admin (everything, including the
tenant's settings, staff and API keys). A refusal is a 403 naming the permission.

**Money** is `{"amount": <integer minor units>, "currency": "INR", "display": "₹8,000.00"}`; money in
requests is an integer of minor units. Dates are `YYYY-MM-DD` (local to the centre); times are ISO 8601
with an offset.

**Idempotency.** POSTs accept an `Idempotency-Key` header (each operation that does documents it). The
same key with the same request returns the first (successful) response, with `Idempotent-Replayed: true`,
and writes nothing; the same key with a different request is a 409 `idempotency_conflict`. A refused
request is not remembered, so it can be retried with its key. Keys are kept for 48 hours.

**Errors** are RFC 9457 problem details (`application/problem+json`) with a stable `code`, the offending
`field` when there is one, and for 422 every field error in `errors`. See `GET /problems`. A body over
2.5 MB is a 413, a body that is not `application/json` (UTF-8) a 415, NUL in any text a 422, an undeclared
method a 405 with `Allow`. The HTTP server refuses a request line over 4094 bytes (414), more than 100
header fields or one over 8190 bytes (431) and unparseable requests (400) before the API sees them.

**Lists** are paginated by cursor: `?limit=` (1–200, default 50) and `?cursor=` (the previous page's
`next_cursor`, opaque); `next_cursor` is null on the last page. A package's status is derived (from its
ledger, dates and the clock), so `GET /packages?status=` filters each page after the query: a page may
hold fewer than `limit` items while `next_cursor` is set.
"""


class PunchcardAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return finish_openapi(schema)


api = PunchcardAPI(
    title="Punchcard API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=[api_key_auth, session_auth],
    renderer=renderer,
    parser=JsonParser(),
)
install(api)


# ---------------------------------------------------------------- problem types (public documentation)


class ProblemType(Schema):
    code: str
    type: str
    title: str


def _problem_type(code: str) -> ProblemType:
    return ProblemType(code=code, type=TYPE_BASE + code, title=ALL_CODES[code])


problems_router = Router(tags=["problems"], auth=None)


@problems_router.get("/problems", response=list[ProblemType], summary="Problem types")
def list_problem_types(request):
    """Every `code` a problem can carry, with what it means."""
    return [_problem_type(code) for code in ALL_CODES]


@problems_router.get("/problems/{code}", response={200: ProblemType, **errors(404)}, summary="Problem type")
def get_problem_type(request, code: str):
    """The problem type a problem's `type` URI names."""
    if code not in ALL_CODES:
        raise NotFound(f"no problem type {code!r}", field="code")
    return _problem_type(code)


# Each app's routes use absolute paths, so every router is mounted at the API's root.
for router in (
    tenancy,
    tenancy_admin,
    catalogue,
    ledger,
    billing,
    packages,
    appointments,
    promotions,
    claims,
    memberships,
    receipts,
    reports,
    notifications,
    test_clock,
    payment_providers,
    imports,
):
    api.add_router("", router)
api.add_router("", problems_router)
