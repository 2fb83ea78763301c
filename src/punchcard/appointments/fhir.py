"""FHIR Appointment resources (R4/R4B and R5) as appointment events (fhir.resources 8).

Mapping (documented for integrators; see also appointments.events for what each status does):

    Punchcard                 FHIR Appointment
    external id               Appointment.id (the scheduler's logical id), else identifier[0].value
    status                    Appointment.status (proposed/pending/booked/waitlist → booked;
                              arrived/checked-in/fulfilled → arrived; noshow → no-show;
                              cancelled/entered-in-error → cancelled)
    patient                   R5 Appointment.subject, else the participant whose actor is "Patient/<ref>";
                              <ref> is the patient's external reference (Patient.external_ref)
    practitioner              the participant whose actor is "Practitioner/<staff id>" (optional)
    service                   serviceType: the first coding whose code is one of the tenant's Service.code
                              (R4: CodeableConcept.coding; R5: CodeableReference.concept.coding)
    centre                    the extension CENTRE_EXTENSION (valueCode / valueString = Centre.code), else the
                              participant whose actor is "Location/<centre code>"; may be omitted when the
                              tenant has a single centre
    start, end                Appointment.start / end (instants, with an offset); start is required
    dedupe key                meta.versionId, else meta.lastUpdated, else a SHA-256 of the resource
    staleness                 meta.lastUpdated (an older version arriving late is ignored)

References may be relative ("Patient/P-1001"), absolute ("https://ehr.example/fhir/Patient/P-1001") or
versioned (".../_history/2").

The version is the one the caller names (fhirVersion 4.0/4.0.1/4.3 → R4B model, 5.0 → R5), else
detected: the resource is validated as R4B first, then as R5 (their serviceType shapes differ).
"""

from __future__ import annotations

import datetime as dt
import re

from fhir.resources.appointment import Appointment as R5Appointment
from fhir.resources.R4B.appointment import Appointment as R4Appointment
from pydantic import ValidationError

from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor
from punchcard.tenancy.models import Tenant

from .events import Incoming, body_hash, ingest, normalise_status
from .models import AppointmentEvent

CENTRE_EXTENSION = "https://punchcard.dev/fhir/StructureDefinition/appointment-centre"

_R4 = {"4.0", "4.0.0", "4.0.1", "4.3", "4.3.0", "r4", "r4b"}
_R5 = {"5.0", "5.0.0", "r5"}
_REFERENCE = re.compile(r"(?:^|/)(Patient|Practitioner|Location)/([^/]+)(?:/_history/[^/]+)?$")


def _models():
    return R4Appointment, R5Appointment


def _first_error(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__") or "body"
    return field, f"{field}: {first.get('msg', 'invalid')}"


def validate(resource: dict, fhir_version: str | None = None):
    """The resource as a fhir.resources model, and its source label ('fhir-r4' or 'fhir-r5')."""
    r4, r5 = _models()
    version = (fhir_version or "").strip().lower()
    if version and version not in _R4 | _R5:
        raise InvalidInput("fhirVersion must be 4.0, 4.0.1, 4.3 (R4/R4B) or 5.0 (R5)", field="fhirVersion")
    tries = (
        [(r4, "fhir-r4")]
        if version in _R4
        else [(r5, "fhir-r5")]
        if version in _R5
        else [(r4, "fhir-r4"), (r5, "fhir-r5")]
    )
    errors = []
    for model, source in tries:
        try:
            return model.model_validate(resource), source
        except ValidationError as error:
            errors.append((source, error))
        except (TypeError, ValueError) as error:  # fhir.resources raises plain ValueErrors on some shapes
            raise InvalidInput(f"not a valid FHIR Appointment: {error}", field="body") from None
    source, error = errors[0]
    field, message = _first_error(error)
    versions = " or ".join(s.removeprefix("fhir-").upper() for s, _ in errors)
    raise InvalidInput(f"not a valid FHIR {versions} Appointment: {message}", field=field)


def _reference(reference, kind: str) -> str | None:
    value = getattr(reference, "reference", None) if reference is not None else None
    if not value:
        return None
    match = _REFERENCE.search(value)
    return match.group(2) if match and match.group(1) == kind else None


def _participants(model, kind: str) -> list[str]:
    found = []
    for participant in model.participant or []:
        ref = _reference(participant.actor, kind)
        if ref:
            found.append(ref)
    return found


def _service_codes(model) -> tuple[str, ...]:
    codes = []
    for item in model.serviceType or []:
        concept = getattr(item, "concept", None) or item  # R5 CodeableReference / R4 CodeableConcept
        for coding in getattr(concept, "coding", None) or []:
            if coding.code:
                codes.append(coding.code)
    return tuple(codes)


def _centre_code(model) -> str | None:
    for extension in model.extension or []:
        if extension.url == CENTRE_EXTENSION:
            value = extension.valueCode or extension.valueString
            if value:
                return value
    locations = _participants(model, "Location")
    return locations[0] if locations else None


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    return validation.instant(value, field, optional=True)


def parse(resource, fhir_version: str | None = None) -> Incoming:
    if not isinstance(resource, dict):
        raise InvalidInput("the body must be a FHIR Appointment resource (a JSON object)", field="body")
    if resource.get("resourceType") != "Appointment":
        raise InvalidInput("resourceType must be 'Appointment'", field="resourceType")
    model, source = validate(resource, fhir_version)
    external_id = model.id or next((i.value for i in model.identifier or [] if i.value), None)
    if not external_id:
        raise InvalidInput("the Appointment needs an id or an identifier", field="id")
    status = normalise_status(model.status)
    subject = _reference(getattr(model, "subject", None), "Patient")  # R5 only
    patients = [subject] if subject else _participants(model, "Patient")
    if not patients:
        raise InvalidInput("no participant (or subject) references a Patient", field="participant")
    practitioners = _participants(model, "Practitioner")
    start = _aware(model.start, "start")
    if start is None:
        raise InvalidInput("the Appointment has no start", field="start")
    end = _aware(model.end, "end")
    if end is not None and end < start:
        raise InvalidInput("end is before start", field="end")
    meta = model.meta
    updated_at = _aware(meta.lastUpdated, "meta.lastUpdated") if meta else None
    if meta and meta.versionId:
        key = f"fhir:{external_id}:v{meta.versionId}"
    elif updated_at:
        key = f"fhir:{external_id}:{updated_at.isoformat()}"
    else:
        key = f"fhir:{external_id}:sha256:{body_hash(resource)}"
    return Incoming(
        source=source,
        external_id=str(external_id)[:200],
        status=status,
        raw_status=model.status,
        patient_ref=patients[0],
        service_codes=_service_codes(model),
        centre_code=_centre_code(model),
        start=start,
        end=end,
        practitioner_ref=practitioners[0] if practitioners else None,
        beneficiary_ref=None,
        updated_at=updated_at,
        dedupe_key=key,
    )


def ingest_fhir(
    *,
    tenant: Tenant,
    actor: Actor,
    resource: dict,
    fhir_version: str | None = None,
    now: dt.datetime | None = None,
    retry_of: AppointmentEvent | None = None,
) -> AppointmentEvent:
    """A FHIR Appointment (create or update) from the scheduling system; see appointments.events."""
    version = (fhir_version or "").strip().lower()
    source = "fhir-r4" if version in _R4 else "fhir-r5" if version in _R5 else "fhir"  # until parsed
    fallback = resource.get("id") if isinstance(resource, dict) and isinstance(resource.get("id"), str) else ""
    return ingest(
        tenant=tenant,
        actor=actor,
        source=source,
        payload=resource,
        parse=lambda body: parse(body, fhir_version),
        now=now,
        retry_of=retry_of,
        fallback_external_id=fallback,
    )
