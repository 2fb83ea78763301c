"""Claim codes' periodic work: unclaimed codes past their last day expire (daily, 00:05 UTC)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from .services import expire_claim_codes


@task()
def claim_code_expiry(*, now: str, zone: str = "", day: str = "") -> int:
    return expire_claim_codes(now=dt.datetime.fromisoformat(now))
