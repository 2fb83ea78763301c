"""What the admin routes take and give: the tenant's settings, centres, staff and API keys."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field

from punchcard.domain.roles import ROLES
from punchcard.kernel.schemas import Flag, Input, Reason, Schema, Text
from punchcard.tenancy.models import ApiKey, StaffMember, Tenant

RoleIn = StrEnum("RoleIn", {role.upper(): role for role in ROLES})  # front_desk | manager | accountant | admin
Zone = Text(64, min_length=1)


class TenantSettingsOut(Schema):
    id: int
    slug: str
    name: str
    currency: str = Field(description="fixed at creation: every amount is kept in it")
    locale: str
    time_zone: str = Field(description="the zone the books are kept in; empty: the first centre's")
    sandbox: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantSettingsOut:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            currency=tenant.currency,
            locale=tenant.locale,
            time_zone=tenant.time_zone,
            sandbox=tenant.sandbox,
            created_at=tenant.created_at,
        )


class TenantPatch(Input):
    name: Text(200, min_length=1) | None = None
    locale: Text(16, min_length=2) | None = Field(None, description="e.g. en_IN")
    time_zone: Zone | None = Field(None, description="IANA time zone, e.g. Asia/Kolkata")


class CentrePatch(Input):
    name: Text(200, min_length=1) | None = None
    timezone: Zone | None = Field(None, description="IANA time zone, e.g. Asia/Kolkata")


class StaffIn(Input):
    name: Text(200, min_length=1)
    role: RoleIn
    email: Text(200) = Field("", description="also the login's username; without it, no login")
    password: Text(200, min_length=1) | None = Field(None, description="the login's password (Django's rules apply)")
    is_practitioner: Flag = False


class StaffPatch(Input):
    name: Text(200, min_length=1) | None = None
    role: RoleIn | None = None
    is_practitioner: Flag | None = None


class StaffOut(Schema):
    id: int
    name: str
    role: str
    username: str | None = Field(description="the login, if they have one")
    email: str
    is_practitioner: bool
    active: bool

    @classmethod
    def of(cls, member: StaffMember) -> StaffOut:
        user = member.user
        return cls(
            id=member.id,
            name=member.name,
            role=member.role,
            username=user.username if user else None,
            email=user.email if user else "",
            is_practitioner=member.is_practitioner,
            active=member.active,
        )


class DeactivateIn(Input):
    reason: Reason


class ApiKeyIn(Input):
    name: Text(100, min_length=1) = Field(description="what the key is for, e.g. 'scheduler'")
    role: RoleIn


class ApiKeyOut(Schema):
    prefix: str = Field(description="the public part of the key, e.g. pc_1a2b3c4d")
    name: str
    role: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            prefix=key.prefix,
            name=key.name,
            role=key.role,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="the whole key, shown only in this response: store it now")
