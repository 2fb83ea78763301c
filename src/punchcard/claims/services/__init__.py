"""Claim codes for bulk orders, gifts and transfers (SPEC §7, §9). One function, one transaction each.

See claims.models for how the money is held on a code until it is claimed. By idea:
`ordering` (bulk and gift orders, opening their codes when paid, transfer codes), `claiming`,
`lifecycle` (revoke, reissue, expire) and `issuing` (drawing a code, shown once).
"""

from .claiming import claim_code
from .issuing import IssuedCode
from .lifecycle import expire_claim_codes, reissue_claim_code, revoke_claim_code
from .ordering import (
    DEFAULT_CODE_VALID_DAYS,
    DEFAULT_TRANSFER_VALID_DAYS,
    MAX_BULK_CODES,
    MAX_GIFT_CODES,
    ClaimOrder,
    create_transfer_code,
    hold_for_claim,
    place_claim_order,
)

__all__ = [
    "DEFAULT_CODE_VALID_DAYS",
    "DEFAULT_TRANSFER_VALID_DAYS",
    "MAX_BULK_CODES",
    "MAX_GIFT_CODES",
    "ClaimOrder",
    "IssuedCode",
    "claim_code",
    "create_transfer_code",
    "expire_claim_codes",
    "hold_for_claim",
    "place_claim_order",
    "reissue_claim_code",
    "revoke_claim_code",
]
