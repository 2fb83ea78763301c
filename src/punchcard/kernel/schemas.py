"""Types shared by every schema: ids, amounts, text, dates, money, pages.

Inputs are strict where JSON has a type of its own (an amount is a JSON number without a fraction,
never "5" nor 5.5 nor true; 5.0 is the same JSON number as 5, see kernel.parsing) and bounded where the database has
limits, so bad input is a 422 naming the field rather than an error further down. Each type's JSON
Schema says exactly what it accepts (patterns for dates, cursors and NUL-free text), so a generated
client is never surprised.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Generic, TypeVar

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from punchcard.domain.money import MAX_AMOUNT, format_money
from punchcard.domain.roles import Perm
from punchcard.domain.validation import EMAIL_PATTERN

MAX_ID = 2**63 - 1  # ids are int64 in the database

# Text anywhere in the API (bodies, paths, queries) never holds NUL: PostgreSQL cannot store it.
NO_NUL = "^[^\\x00]*$"
# Required text is stripped, so it needs one character that is not white space.
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
# Codes (centres, services, plans): as punchcard.domain.validation.slug checks them.
SLUG = "^[a-z0-9][a-z0-9_-]{0,63}$"
# An email address as punchcard.domain.validation.email checks it, or none.
EMAIL = EMAIL_PATTERN


# Path and query parameters arrive as text, so these convert "12" → 12 (and refuse "12.5", "x").
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# JSON body ids must be JSON integers.
BodyId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="minor units, e.g. 800000 = ₹8,000.00")]
PositiveAmount = Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT, description="minor units")]
Count = Annotated[StrictInt, Field(ge=0, le=10_000)]
Flag = StrictBool


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


def Text(max_length: int, *, min_length: int = 0, pattern: str | None = None):  # a type factory
    """Text up to `max_length`; `pattern` is what the service checks, stated in the document."""
    stated = pattern or (NOT_BLANK if min_length else NO_NUL)
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, json_schema_extra={"pattern": stated}),
        AfterValidator(_storable),
    ]


Reason = Annotated[
    str,
    Field(
        min_length=1, max_length=2000, description="why; kept in the history", json_schema_extra={"pattern": NOT_BLANK}
    ),
    AfterValidator(_storable),
]

MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# YYYY-MM-DD in the years 1900–2999, as the document states it (format: date checks the calendar).
DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def _iso_date(value):
    # pydantic would also take timestamps and other spellings; a date here is exactly YYYY-MM-DD.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return dt.date.fromisoformat(value)


def _in_range(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"a date must be between {MIN_DATE} and {MAX_DATE}")
    return value


Date = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    AfterValidator(_in_range),
    Field(json_schema_extra={"pattern": DATE_PATTERN, "description": "YYYY-MM-DD, years 1900 to 2999"}),
]

_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def _iso_instant(value):
    # A time here is ISO 8601 with an offset; pydantic alone would also take numbers and naive times.
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        raise ValueError("a time is ISO 8601 with an offset, e.g. 2026-03-10T10:00:00+05:30")
    return value


def _instant_in_range(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2999:
        raise ValueError("a time must be between the years 1900 and 2999")
    return value


# The same rule as the document states it: ISO 8601 with an offset, years 1900–2999 (format: date-time
# adds the calendar and the seconds).
INSTANT_PATTERN = (
    r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
Instant = Annotated[
    dt.datetime,
    BeforeValidator(_iso_instant),
    AfterValidator(_instant_in_range),
    Field(json_schema_extra={"pattern": INSTANT_PATTERN}),
]
BackdateReason = Annotated[
    Reason | None,
    Field(description="a date before today at the centre is refused (backdated) unless a manager gives the reason"),
]


class Input(Schema):
    """A request body: unknown fields are refused, so a typo is a 422 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ReasonIn(Input):
    reason: Reason


class Money(Schema):
    amount: int = Field(description="integer minor units; never a float")
    currency: str = Field(description="ISO 4217")
    display: str = Field(description="formatted for the tenant's locale, e.g. ₹8,000.00")


class Ref(Schema):
    id: int
    name: str


class PatientRef(Schema):
    id: int
    name: str
    external_ref: str


T = TypeVar("T")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


# A cursor is a token this API issued: "p1-" then the base-36 position (see kernel.pagination).
CURSOR_PATTERN = "^p1-[1-9a-z][0-9a-z]{0,11}$"


class PageParams(Schema):
    cursor: str | None = Field(
        None,
        max_length=15,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: an opaque token this API issued",
    )
    limit: int = Field(50, ge=1, le=200)


class Ctx:
    """What rendering needs beyond the rows: the tenant's currency and locale, the caller's rights."""

    def __init__(self, principal):
        self.principal = principal
        self.tenant = principal.tenant

    def money(self, amount: int, currency: str | None = None) -> Money:
        currency = currency or self.tenant.currency
        return Money(amount=amount, currency=currency, display=format_money(amount, currency, self.tenant.locale))

    def money_if_allowed(self, amount: int, currency: str | None = None) -> Money | None:
        """Accounting figures (deferred revenue) only for roles that may read money."""
        return self.money(amount, currency) if self.principal.can(Perm.READ_MONEY) else None


def patient_ref(patient) -> PatientRef:
    return PatientRef(id=patient.id, name=patient.name, external_ref=patient.external_ref)


def ref(obj) -> Ref | None:
    return Ref(id=obj.id, name=obj.name) if obj is not None else None
