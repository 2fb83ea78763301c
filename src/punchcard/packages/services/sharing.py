"""Sharing and transfer (SPEC §7): beneficiaries added and removed, the whole package moved to another
patient."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import Beneficiary, EntryKind, Hold, HoldState, Package, Transfer
from .session_ledger import apply_entry, lines_of, lock_package


@transaction.atomic
def add_beneficiary(
    *, tenant: Tenant, actor: Actor, package_id: int, patient_id: int, now: dt.datetime | None = None
) -> Beneficiary:
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    package = lock_package(tenant, package_id)
    ensure_allowed(
        Action.ADD_BENEFICIARY, selectors.status_of(package, lines_of(package), selectors.today_for(package, now))
    )
    version = package.plan_version
    if not version.shareable:
        raise RuleViolation("this package is not shareable", code="not_shareable")
    live = selectors.beneficiary_ids(package)
    if patient.id == package.holder_id or patient.id in live:
        raise Conflict(f"{patient.name} already shares this package", code="already_beneficiary", field="patient_id")
    if len(live) + 1 >= version.max_beneficiaries:
        raise RuleViolation(
            f"at most {version.max_beneficiaries} people (the holder included) can share it",
            code="beneficiary_limit",
            max_beneficiaries=version.max_beneficiaries,
        )
    beneficiary = Beneficiary.objects.create(
        tenant=tenant, package=package, patient=patient, added_at=now, added_by=actor.label
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="package.add_beneficiary",
        subject=package,
        now=now,
        data={"patient_id": patient.id},
    )
    return beneficiary


@transaction.atomic
def remove_beneficiary(
    *, tenant: Tenant, actor: Actor, package_id: int, patient_id: int, now: dt.datetime | None = None
) -> Beneficiary:
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    package = lock_package(tenant, package_id)
    beneficiary = Beneficiary.objects.filter(package=package, patient=patient, removed_at__isnull=True).first()
    if beneficiary is None:
        raise NotFound(f"patient {patient.id} is not a beneficiary of package {package.id}", field="patient_id")
    if Hold.objects.filter(package=package, person=patient, state=HoldState.PENDING).exists():
        raise Conflict(
            "the beneficiary has booked appointments on this package; remove the package from them first",
            code="transition_not_allowed",
        )
    beneficiary.removed_at, beneficiary.removed_by = now, actor.label
    beneficiary.save(update_fields=["removed_at", "removed_by"])
    audit(
        tenant=tenant,
        actor=actor,
        action="package.remove_beneficiary",
        subject=package,
        now=now,
        data={"patient_id": patient.id},
    )
    return beneficiary


@transaction.atomic
def transfer_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    to_patient_id: int,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Transfer:
    """The whole package (its remaining sessions) moves to another patient, with history."""
    actor.require(Perm.TRANSFER)
    now = now or clock.now()
    reason = validation.reason(reason, required=False)
    recipient = scoped_get(Patient, tenant=tenant, pk=to_patient_id, field="to_patient_id")
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    if not package.plan_version.transferable:
        raise RuleViolation("this package is not transferable", code="not_transferable")
    ensure_allowed(Action.TRANSFER, selectors.status_of(package, lines, selectors.today_for(package, now)))
    if recipient.id == package.holder_id:
        raise InvalidInput("the package already belongs to this patient", field="to_patient_id")
    if Hold.objects.filter(package=package, state=HoldState.PENDING).exists():
        raise Conflict(
            "the package has booked appointments; remove it from them before transferring",
            code="transition_not_allowed",
        )
    transfer = Transfer.objects.create(
        tenant=tenant,
        package=package,
        from_patient_id=package.holder_id,
        to_patient=recipient,
        reason=reason,
        at=now,
        actor=actor.label,
    )
    # The old family's beneficiaries do not come along; their usage history stays.
    Beneficiary.objects.filter(package=package, removed_at__isnull=True).update(removed_at=now, removed_by=actor.label)
    for line in lines:
        apply_entry(
            line,
            kind=EntryKind.TRANSFER,
            actor=actor,
            now=now,
            reason=reason,
            data={"from_patient_id": package.holder_id, "to_patient_id": recipient.id},
        )
    Package.objects.filter(pk=package.pk).update(holder=recipient)
    package.holder = recipient
    audit(
        tenant=tenant,
        actor=actor,
        action="package.transfer",
        subject=package,
        reason=reason,
        now=now,
        data={"from_patient_id": transfer.from_patient_id, "to_patient_id": recipient.id},
    )
    return transfer
