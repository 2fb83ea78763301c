"""The one place input is checked before a service acts on it (DESIGN rule 9).

Every checker takes the raw value and the field it came from, returns the clean value, or raises
InvalidInput naming the field and the rule. Pure: no Django, no database. Services call these
instead of writing their own; the API's schemas refuse the same shapes earlier, with the same words.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import TypeVar

from .errors import InvalidInput

MAX_REASON = 2000
MAX_IDEMPOTENCY_KEY = 200
MAX_EMAIL = 254  # RFC 5321's limit on a forward path, and the database column's
# Dates and times are kept between these years: far enough for any clinic, and never near the
# database's or Python's own limits (year 9999 at -12:00 is year 10000 in UTC).
MIN_YEAR, MAX_YEAR = 1900, 2999
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# An email address, or none: the exact regular expression the OpenAPI document states (checked
# before stripping, as a JSON Schema validator checks it).
EMAIL_PATTERN = r"^[ \t]*([^@ \t\r\n\f\v\x00]+@[^@ \t\r\n\f\v\x00]+\.[^@ \t\r\n\f\v\x00]+)?[ \t]*$"
_EMAIL = re.compile(EMAIL_PATTERN)

E = TypeVar("E", bound=Enum)


def text(value, field: str, *, max_length: int = 200, required: bool = True) -> str:
    """Text, stripped; None counts as empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return value


def reason(value, *, required: bool = True, field: str = "reason") -> str:
    """Why a change was made; kept in the history."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"a {field} is required", field=field)
    if len(value) > MAX_REASON:
        raise InvalidInput(f"{field} is longer than {MAX_REASON} characters", field=field)
    return value


def slug(value, field: str) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise InvalidInput(f"{field} must be lower-case letters, digits, '-' or '_'", field=field)
    return value


def email(value, field: str = "email") -> str:
    """An email address, or "" when none is given."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(value) > MAX_EMAIL:
        raise InvalidInput(f"{field} is longer than {MAX_EMAIL} characters", field=field)
    if not _EMAIL.match(value):
        raise InvalidInput(f"{value.strip()!r} is not an email address", field=field)
    return value.strip(" \t\n")  # what the pattern allows around the address (and `$` before a last newline)


def whole(value, field: str, *, low: int, high: int, optional: bool = False) -> int | None:
    """A whole number in [low, high]; a bool is not a number here."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def choice(value, enum: type[E], field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"{field} must be one of {', '.join(str(e.value) for e in enum)}", field=field) from None


def date(value, field: str, *, optional: bool = False, parse: bool = True) -> dt.date | None:
    """A calendar date; with `parse`, also its ISO text (YYYY-MM-DD)."""
    if value is None and optional:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not parse:
        raise InvalidInput(f"{field} must be a date", field=field)
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be an ISO date (YYYY-MM-DD)", field=field) from None


def instant(value, field: str, *, optional: bool = False, parse: bool = False) -> dt.datetime | None:
    """An aware date and time; with `parse`, also its ISO 8601 text."""
    if value is None and optional:
        return None
    if parse and isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 date-time", field=field) from None
    if not isinstance(value, dt.datetime):
        raise InvalidInput(f"{field} must be a date and time with its time zone", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone offset", field=field)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInput(f"{field} must be between the years {MIN_YEAR} and {MAX_YEAR}", field=field)
    return value


def idempotency_key(value, field: str = "idempotency_key") -> str | None:
    """A caller-chosen key that makes a write safe to repeat (DESIGN rule 3)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} characters", field=field)
    return value
