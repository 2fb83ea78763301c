"""Claim codes' periodic work: unclaimed codes past their last day expire (daily, 00:05 UTC)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard.tenancy.selectors import tenants_for_job

from .services import expire_claim_codes


@task()
def claim_code_expiry(*, now: str, zone: str = "", day: str = "", tenant_id: int | None = None) -> int:
    at = dt.datetime.fromisoformat(now)
    return sum(expire_claim_codes(now=at, tenant=tenant) for tenant in tenants_for_job(tenant_id))
