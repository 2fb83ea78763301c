"""Promotions (SPEC §9): `editing` (create, retire) and `offers` (what a sale's lines get, and quotes)."""

from .editing import MAX_PERCENT_BP, create_promotion, retire_promotion
from .offers import Quote, offers_for_order, quote

__all__ = ["MAX_PERCENT_BP", "Quote", "create_promotion", "offers_for_order", "quote", "retire_promotion"]
