"""Reading JSON request bodies as JSON Schema reads them: 5.0 is the integer 5.

JSON has one number type; JSON Schema's `integer` is any number without a fraction, so `5.0` and `5e2`
are integers there. Python's json module makes them floats, which the strict integer fields would
refuse. Exactly integral numbers are read as ints (with Decimal, so no precision is lost); 5.5 stays
a float and is still refused where an integer is expected.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from ninja.parser import Parser


def _number(text: str):
    try:
        value = Decimal(text)
        if value.is_finite() and value == value.to_integral_value() and value.adjusted() < 40:
            return int(value)
    except InvalidOperation:
        pass
    return float(text)


def loads(raw: bytes | str):
    return json.loads(raw, parse_float=_number)


class JsonParser(Parser):
    def parse_body(self, request):
        return loads(request.body)
