"""How a code is issued: drawn at random, stored as its digest and hint, shown once (SPEC §9)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from .. import codes
from ..models import ClaimCode


@dataclass
class IssuedCode:
    code: ClaimCode
    plaintext: str | None  # shown once; None when an idempotent repeat answers with codes made before

    @property
    def display(self) -> str | None:
        return codes.display(self.plaintext) if self.plaintext else None


def new_code(**fields) -> IssuedCode:
    """A fresh code row; a digest collision (2^-65) just draws again."""
    for _ in range(5):
        plaintext = codes.generate()
        try:
            with transaction.atomic():
                row = ClaimCode.objects.create(digest=codes.digest(plaintext), hint=codes.hint(plaintext), **fields)
            return IssuedCode(row, plaintext)
        except IntegrityError:  # pragma: no cover - astronomically unlikely
            continue
    raise AssertionError("could not draw a unique claim code")
