"""Centres, services, patients and the caller."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, StrictInt

from punchcard.kernel.schemas import EMAIL, SLUG, Amount, Ctx, Flag, Input, Money, PageParams, Schema, Text
from punchcard.tenancy.models import Centre, Patient, PortalLink, Service

Name = Text(200, min_length=1)
Code = Text(64, min_length=1, pattern=SLUG)


class CentreIn(Input):
    name: Name
    code: Code = Field(description="lower-case letters, digits, '-' or '_'")
    timezone: Text(64, min_length=1) = Field(description="IANA time zone, e.g. Asia/Kolkata")


class CentreOut(Schema):
    id: int
    name: str
    code: str
    timezone: str

    @classmethod
    def of(cls, centre: Centre) -> CentreOut:
        return cls(id=centre.id, name=centre.name, code=centre.code, timezone=centre.timezone)


class ServiceIn(Input):
    name: Name
    code: Code
    list_price: Amount
    delivery_cost: Amount = 0


class ServicePatch(Input):
    name: Name | None = None
    list_price: Amount | None = None
    delivery_cost: Amount | None = None
    active: Flag | None = None


class ServiceOut(Schema):
    id: int
    code: str
    name: str
    list_price: Money
    delivery_cost: Money
    active: bool

    @classmethod
    def of(cls, service: Service, ctx: Ctx) -> ServiceOut:
        return cls(
            id=service.id,
            code=service.code,
            name=service.name,
            list_price=ctx.money(service.list_price),
            delivery_cost=ctx.money(service.delivery_cost),
            active=service.active,
        )


class PatientIn(Input):
    external_ref: Text(100, min_length=1) = Field(description="the clinic's own reference; unique per tenant")
    name: Name
    email: Text(254, pattern=EMAIL) = ""
    phone: Text(40) = ""


class PatientPatch(Input):
    name: Name | None = None
    email: Text(254, pattern=EMAIL) | None = None
    phone: Text(40) | None = None


class PatientOut(Schema):
    id: int
    external_ref: str
    name: str
    email: str
    phone: str
    created_at: dt.datetime

    @classmethod
    def of(cls, patient: Patient) -> PatientOut:
        return cls(
            id=patient.id,
            external_ref=patient.external_ref,
            name=patient.name,
            email=patient.email,
            phone=patient.phone,
            created_at=patient.created_at,
        )


class PatientFilters(PageParams):
    external_ref: Text(100) | None = Field(None, description="exact match")
    name: Text(200) | None = Field(None, description="case-insensitive substring")


class CreditOut(Schema):
    patient_id: int
    balance: Money


class TenantOut(Schema):
    id: int
    slug: str
    name: str
    currency: str
    locale: str


class MeOut(Schema):
    tenant: TenantOut
    actor: str
    role: str
    source: str
    staff_id: int | None
    permissions: list[str]


class PortalLinkIn(Input):
    days: StrictInt = Field(7, ge=1, le=90, description="how long the link opens the portal")


class PortalLinkOut(Schema):
    id: int
    patient_id: int
    url: str = Field(description="the signed link; it opens only this patient's portal")
    created_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def of(cls, link: PortalLink, url: str) -> PortalLinkOut:
        return cls(
            id=link.id, patient_id=link.patient_id, url=url, created_at=link.created_at, expires_at=link.expires_at
        )


class PortalRevokeIn(Input):
    reason: Text(500) = ""


class PortalRevokeOut(Schema):
    patient_id: int
    revoked: int = Field(description="how many links stopped opening")
