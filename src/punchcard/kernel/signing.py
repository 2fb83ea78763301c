"""Standard Webhooks signatures (https://www.standardwebhooks.com): the secret, signing and checking.

One scheme for both directions: the webhooks Punchcard sends (notifications) and those the test payment
provider sends us (billing). A signature is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; a header
may carry several, space-separated (a secret being rotated signs alongside the new one).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import secrets

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    """`whsec_` and 24 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, *, msg_id: str, at: dt.datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id, at, body)


def signed_by(secret: str, *, msg_id: str, at: dt.datetime, body: str, header: str) -> bool:
    """Whether one of the header's `v1,` signatures is this secret's (compared in constant time)."""
    try:
        expected = sign(secret, msg_id=msg_id, at=at, body=body).split(",", 1)[1].encode()
    except (binascii.Error, ValueError):
        return False
    given = [s.split(",", 1)[1].encode() for s in header.split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)
