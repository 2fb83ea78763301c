"""Writes for tenants, centres, staff, patients, services and API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zoneinfo

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from punchcard import clock, events
from punchcard.db import unique
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput, NotFound
from punchcard.domain.money import check_amount, check_currency
from punchcard.domain.roles import ROLES, Actor, Perm

from . import keycache
from .models import ApiKey, AuditEvent, Centre, Patient, Role, Service, StaffMember, Tenant
from .selectors import scoped_get


def audit(
    *, tenant: Tenant, actor: Actor, action: str, subject, reason: str = "", data: dict | None = None, now=None
) -> AuditEvent:
    """Record who did what, when, from where and why. Call inside the service's transaction."""
    return AuditEvent.objects.create(
        tenant=tenant,
        at=now or clock.now(),
        action=action,
        actor=actor.label,
        source=actor.source,
        reason=reason,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        data=data or {},
    )


def check_zone(value, field: str) -> str:
    """An IANA time zone name, or InvalidInput naming the field."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(f"{value!r} is not an IANA time zone (e.g. Asia/Kolkata)", field=field) from None
    return value


def check_locale(value, field: str = "locale") -> str:
    """A locale Babel knows; 'en-IN' is accepted and stored as 'en_IN'."""
    try:
        Locale.parse(value.replace("-", "_") if isinstance(value, str) else value)
    except (UnknownLocaleError, ValueError, TypeError, AttributeError):
        raise InvalidInput(f"{value!r} is not a known locale (e.g. en_IN)", field=field) from None
    return value.replace("-", "_")


def _known_currency(value) -> str:
    code = check_currency(value)
    if code not in list_currencies():
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code", field="currency")
    return code


@transaction.atomic
def create_tenant(
    *,
    name: str,
    slug: str,
    currency: str = "INR",
    locale: str = "en_IN",
    time_zone: str = "",
    sandbox: bool = False,
    now=None,
) -> Tenant:
    locale = check_locale(locale)
    slug = validation.slug(slug, "slug")
    taken = f"a tenant with slug {slug!r} exists"
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(taken, code="duplicate_code", field="slug")
    fields = dict(
        name=validation.text(name, "name"),
        currency=_known_currency(currency),
        locale=locale,
        time_zone=check_zone(time_zone, "time_zone") if time_zone else "",
        sandbox=bool(sandbox),
    )
    with unique(taken, field="slug"):
        tenant = Tenant.objects.create(slug=slug, created_at=now or clock.now(), **fields)
    # The ledger answers with the tenant's chart of accounts, in this transaction.
    events.record("tenant.created", tenant=tenant, subject=tenant, slug=tenant.slug, currency=tenant.currency)
    return tenant


@transaction.atomic
def create_centre(*, tenant: Tenant, actor: Actor, name: str, code: str, timezone: str) -> Centre:
    actor.require(Perm.ADMIN)
    check_zone(timezone, "timezone")
    code = validation.slug(code, "code")
    name = validation.text(name, "name")
    taken = f"a centre with code {code!r} exists"
    if Centre.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(taken, code="duplicate_code", field="code")
    with unique(taken, field="code"):
        centre = Centre.objects.create(tenant=tenant, name=name, code=code, timezone=timezone)
    audit(tenant=tenant, actor=actor, action="centre.create", subject=centre)
    return centre


@transaction.atomic
def create_service(
    *, tenant: Tenant, actor: Actor, name: str, code: str, list_price: int, delivery_cost: int = 0
) -> Service:
    actor.require(Perm.EDIT_CATALOGUE)
    code = validation.slug(code, "code")
    taken = f"a service with code {code!r} exists"
    if Service.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(taken, code="duplicate_code", field="code")
    fields = dict(
        name=validation.text(name, "name"),
        list_price=check_amount(list_price, field="list_price"),
        delivery_cost=check_amount(delivery_cost, field="delivery_cost"),
    )
    with unique(taken, field="code"):
        service = Service.objects.create(tenant=tenant, code=code, **fields)
    audit(tenant=tenant, actor=actor, action="service.create", subject=service)
    return service


@transaction.atomic
def update_service(
    *,
    tenant: Tenant,
    actor: Actor,
    service_id: int,
    name: str | None = None,
    list_price: int | None = None,
    delivery_cost: int | None = None,
    active: bool | None = None,
) -> Service:
    actor.require(Perm.EDIT_CATALOGUE)
    service = scoped_get(Service, tenant=tenant, pk=service_id, field="service_id")
    if name is not None:
        service.name = validation.text(name, "name")
    if list_price is not None:
        service.list_price = check_amount(list_price, field="list_price")
    if delivery_cost is not None:
        service.delivery_cost = check_amount(delivery_cost, field="delivery_cost")
    if active is not None:
        service.active = bool(active)
    service.save()
    audit(tenant=tenant, actor=actor, action="service.update", subject=service)
    return service


@transaction.atomic
def create_patient(
    *, tenant: Tenant, actor: Actor, external_ref: str, name: str, email: str = "", phone: str = "", now=None
) -> Patient:
    actor.require(Perm.MANAGE_PATIENTS)
    ref = validation.text(external_ref, "external_ref", max_length=100)
    taken = f"a patient with reference {ref!r} exists"
    if Patient.objects.filter(tenant=tenant, external_ref=ref).exists():
        raise Conflict(taken, code="duplicate_code", field="external_ref")
    fields = dict(
        name=validation.text(name, "name"),
        email=validation.email(email),
        phone=validation.text(phone, "phone", max_length=40, required=False),
    )
    with unique(taken, field="external_ref"):
        patient = Patient.objects.create(tenant=tenant, external_ref=ref, created_at=now or clock.now(), **fields)
    audit(tenant=tenant, actor=actor, action="patient.create", subject=patient)
    return patient


@transaction.atomic
def update_patient(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Patient:
    actor.require(Perm.MANAGE_PATIENTS)
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    if name is not None:
        patient.name = validation.text(name, "name")
    if email is not None:
        patient.email = validation.email(email)  # the same check as at creation
    if phone is not None:
        patient.phone = validation.text(phone, "phone", max_length=40, required=False)
    patient.save()
    audit(tenant=tenant, actor=actor, action="patient.update", subject=patient)
    return patient


@transaction.atomic
def create_staff_member(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    role: str = Role.FRONT_DESK,
    is_practitioner: bool = False,
    username: str | None = None,
    password: str | None = None,
    email: str = "",
) -> StaffMember:
    """A person who works for the tenant; with a username (their email by default), a login.

    Django's password validators apply to the password; without one the login is unusable until set."""
    actor.require(Perm.ADMIN)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    email = validation.email(email)
    username = validation.text(username, "username", max_length=150, required=False) or email
    name = validation.text(name, "name")
    user = None
    if username:
        User = get_user_model()
        taken = f"the username {username!r} is taken"
        if User.objects.filter(username=username).exists():
            raise Conflict(taken, code="duplicate_code", field="username")
        if password is not None:  # None: no usable password until one is set (`punchcard changepassword`)
            try:
                validate_password(password, User(username=username, email=email))
            except ValidationError as exc:
                raise InvalidInput(f"the password is refused: {' '.join(exc.messages)}", field="password") from None
        with unique(taken, field="username"):
            user = User.objects.create_user(username=username, email=email, password=password, is_staff=False)
    elif password:
        raise InvalidInput("a password needs a username or an email to log in with", field="password")
    member = StaffMember.objects.create(
        tenant=tenant, user=user, name=name, role=role, is_practitioner=bool(is_practitioner)
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="staff.create",
        subject=member,
        data={"role": role, "username": username or None},
    )
    return member


def _digest(secret: str) -> str:
    """HMAC-SHA256 of the secret under the server's pepper: a copy of the table alone cannot test guesses."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _legacy_digest(secret: str) -> str:
    """How keys made before the pepper were stored (unsalted SHA-256); each is re-hashed at its first use."""
    return hashlib.sha256(secret.encode()).hexdigest()


API_KEY_PREFIX = "pc_"
CHOSEN_SECRET_MIN_LENGTH = 32  # url-safe characters after pc_<8 hex>_
CHOSEN_SECRET_MIN_DISTINCT = 16  # so a chosen secret carries at least 32 × log2(16) = 128 bits


def _check_chosen_secret(secret: str) -> None:
    if not re.fullmatch(r"pc_[0-9a-f]{8}_[A-Za-z0-9_-]+", secret) or len(secret) < 12 + CHOSEN_SECRET_MIN_LENGTH:
        raise InvalidInput(
            f"an API key looks like pc_<8 hex>_<at least {CHOSEN_SECRET_MIN_LENGTH} url-safe characters>",
            field="secret",
        )
    if len(set(secret[12:])) < CHOSEN_SECRET_MIN_DISTINCT:
        raise InvalidInput(
            f"a chosen API key secret needs at least {CHOSEN_SECRET_MIN_DISTINCT} different characters after "
            "pc_<8 hex>_ (a random one, e.g. from `openssl rand -base64 32`, not a word or a repeat)",
            field="secret",
        )


@transaction.atomic
def create_api_key(
    *, tenant: Tenant, actor: Actor, name: str, role: str, secret: str | None = None, now=None
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown this once and stored only as a digest."""
    actor.require(Perm.ADMIN)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if secret is None:
        secret = f"{API_KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    else:
        _check_chosen_secret(secret)
    prefix = secret[:11]
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                tenant=tenant,
                name=validation.text(name, "name", max_length=100),
                prefix=prefix,
                digest=_digest(secret),
                role=role,
                created_at=now or clock.now(),
            )
    except IntegrityError:
        raise Conflict("an API key with that prefix exists", code="invalid", field="secret") from None
    audit(tenant=tenant, actor=actor, action="apikey.create", subject=key, data={"role": role, "prefix": prefix})
    return key, secret


def authenticate_api_key(secret: str, *, now=None) -> ApiKey | None:
    """The live key for a presented secret, or None. Compares digests in constant time.

    A key stored before keyed hashing (`keyed` false) is checked against its old digest once and, if it
    matches, re-stored under the pepper: existing keys keep working and leave the old form as they are used.
    A live key read in the last few seconds comes from this process's memory (`keycache`: a revoked key
    stops working everywhere within that window).
    """
    if not isinstance(secret, str) or not secret.startswith(API_KEY_PREFIX) or len(secret) < 12:
        return None
    key = keycache.remembered(secret[:11])
    if key is None:
        key = ApiKey.objects.select_related("tenant").filter(prefix=secret[:11], revoked_at__isnull=True).first()
        if key is None:
            return None
        keycache.remember(key)
    if key.keyed:
        return key if secrets.compare_digest(key.digest, _digest(secret)) else None
    if not secrets.compare_digest(key.digest, _legacy_digest(secret)):
        return None
    key.digest, key.keyed = _digest(secret), True
    ApiKey.objects.filter(pk=key.pk, keyed=False).update(digest=key.digest, keyed=True)
    return key


@transaction.atomic
def revoke_api_key(*, tenant: Tenant, actor: Actor, prefix: str, now=None) -> ApiKey:
    actor.require(Perm.ADMIN)
    key = ApiKey.objects.filter(tenant=tenant, prefix=prefix).first()
    if key is None:
        raise NotFound(f"no API key {prefix!r}", field="prefix")
    if key.revoked_at is None:
        key.revoked_at = now or clock.now()
        key.save(update_fields=["revoked_at"])
        keycache.forget(prefix=key.prefix)
        audit(tenant=tenant, actor=actor, action="apikey.revoke", subject=key)
    return key
