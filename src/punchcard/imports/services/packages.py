"""Importing packages from another system (SPEC §10a): row by row, re-runnable, with a dry run.

Each row goes through the product's own writers: `create_patient` for a patient not yet here,
`create_plan` (retired) for terms no plan has, `open_package` for the package and its grant, `apply_entry`
for the sessions it had used, `ledger.services.record` for its unused value. In the books:

    opening_balance entry, per line:  Dr Opening balances  unused value  /  Cr Deferred revenue  unused value

The used share is not revenue here (it was earned in the previous system's books); the session ledger keeps
it as history: an `import` entry that grants the line (its allocated value: the amount paid, split by list
price as a sale splits it) and an `import` entry "used before the move" (redeemed, their value), so
`apply_entry` stays the one way sessions change and reconcile adds up. Entries are dated the day of the
import: the position at the move, the liability right from that day.

Rows commit in batches of BATCH_ROWS, each row in a savepoint: a refused row rolls back only itself. A dry
run does all of it in one transaction and rolls it back, so it reports exactly what a real run would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import nullcontext

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.catalogue.models import PlanStatus
from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan
from punchcard.db import is_unique_violation
from punchcard.domain import posting, validation
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.money import value_of_next
from punchcard.domain.roles import Actor, Perm
from punchcard.ledger import services as journal
from punchcard.packages.models import EntryKind
from punchcard.packages.opening import open_package
from punchcard.packages.services import apply_entry
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from .. import reading
from ..columns import PACKAGE_BALANCE_COLUMNS, PACKAGE_COLUMNS
from ..models import ImportedRecord, ImportKind, ImportRun
from ..package_rows import Lookups, PackageRow, RowRefused, describe, parse
from ..report import CHANGED, CREATED, REFUSED, UNCHANGED, ImportReport, Outcome

BATCH_ROWS = 500
MAX_ROWS = 200_000
MAX_PROBLEMS_KEPT = 1000  # on the run's row; the report itself lists them all
USED_BEFORE = "used before the move to Punchcard"

Progress = Callable[[int, int], None]


def _digest(values: dict) -> str:
    return hashlib.sha256(json.dumps(sorted(values.items()), ensure_ascii=False).encode()).hexdigest()


class _Run:
    """One run's state: lookups read once, what earlier rows created, and the outcomes so far."""

    def __init__(self, *, tenant: Tenant, actor: Actor, run: ImportRun, now: dt.datetime, refs: set[str]):
        self.tenant, self.actor, self.run, self.now = tenant, actor, run, now
        self.lookups = Lookups(tenant)
        self.seen: dict[str, int] = {}
        self.records = {
            source_id: (digest, package_id)
            for source_id, digest, package_id in ImportedRecord.objects.filter(
                tenant=tenant, source_system=run.source_system, kind=ImportKind.PACKAGES
            ).values_list("source_id", "row_digest", "package_id")
        }
        self.patients: dict[str, Patient] = {}
        refs = sorted(refs)
        for i in range(0, len(refs), 500):
            for p in Patient.objects.filter(tenant=tenant, external_ref__in=refs[i : i + 500]):
                self.patients[p.external_ref] = p
        self.plans: dict[tuple, object] = {}
        self.patients_created = self.plans_created = 0

    def today_at(self, centre) -> dt.date:
        return local_date(self.now, centre)

    # ---------------------------------------------------------------- one row

    def row(self, line: int, values: dict) -> Outcome:
        source_id = values.get("source_id", "")
        try:
            source_id = validation.text(source_id, "source_id", max_length=100)
        except DomainError as exc:
            return Outcome(line, source_id, REFUSED, "source_id", exc.code, exc.message)
        if source_id in self.seen:
            return Outcome(
                line,
                source_id,
                REFUSED,
                "source_id",
                "import_duplicate_row",
                f"source id {source_id!r} is also on line {self.seen[source_id]}; only that row is imported",
            )
        self.seen[source_id] = line
        digest = _digest(values)
        if source_id in self.records:
            before, package_id = self.records[source_id]
            if before == digest:
                return Outcome(line, source_id, UNCHANGED, package_id=package_id)
            return Outcome(
                line,
                source_id,
                CHANGED,
                "",
                "import_row_changed",
                f"imported before as package {package_id} with other values; the change is not applied "
                "(change the package in Punchcard if it must change)",
                package_id,
            )
        try:
            terms = parse(values, self.lookups, self.today_at)
            made_patient, made_plan = {}, {}
            try:
                with transaction.atomic():
                    package_id = self._create(terms, line, digest, made_patient, made_plan)
            except BaseException:
                for ref in made_patient:  # rolled back with the row: later rows must not use them
                    self.patients.pop(ref, None)
                for key in made_plan:
                    self.plans.pop(key, None)
                raise
        except RowRefused as exc:
            return Outcome(line, source_id, REFUSED, exc.column, exc.code, exc.message)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            message = "imported by another run at the same moment"
            return Outcome(line, source_id, REFUSED, "source_id", "import_duplicate_row", message)
        except DomainError as exc:
            return Outcome(line, source_id, REFUSED, exc.field or "", exc.code, exc.message)
        self.patients_created += len(made_patient)
        self.plans_created += len(made_plan)
        self.records[source_id] = (digest, package_id)
        return Outcome(line, source_id, CREATED, package_id=package_id)

    def _patient(self, terms: PackageRow, made: dict) -> Patient:
        patient = self.patients.get(terms.patient_ref)
        if patient is None:
            if not terms.patient_name:
                raise RowRefused(
                    "patient_name",
                    "invalid",
                    f"patient_name is required: patient {terms.patient_ref!r} is not in Punchcard yet",
                )
            patient = tenancy.create_patient(
                tenant=self.tenant,
                actor=self.actor,
                external_ref=terms.patient_ref,
                name=terms.patient_name,
                now=self.now,
            )
            self.patients[terms.patient_ref] = made[terms.patient_ref] = patient
        return patient

    def _version(self, terms: PackageRow, made: dict):
        if terms.plan is not None:
            return terms.plan
        key = terms.lines
        if key not in self.plans:
            code = "imported-" + hashlib.sha256(repr(key).encode()).hexdigest()[:12]
            version = self.lookups.plan(code)
            if version is None:
                svc = self.lookups.service
                version = create_plan(
                    tenant=self.tenant,
                    actor=self.actor,
                    code=code,
                    status=PlanStatus.RETIRED,  # the terms of packages brought in; never sold
                    now=self.now,
                    terms=PlanTerms(
                        name=f"Imported: {describe(key, self.lookups)}"[:200],
                        price=0,
                        lines=[
                            LineSpec(service_ids=[svc(c).id for c in line.service_codes], sessions=line.sessions)
                            for line in key
                        ],
                    ),
                )
                made[key] = version
            self.plans[key] = version
        return self.plans[key]

    def _create(self, terms: PackageRow, line: int, digest: str, made_patient: dict, made_plan: dict) -> int:
        patient = self._patient(terms, made_patient)
        version = self._version(terms, made_plan)
        source = {"import": self.run.source_system, "source_id": terms.source_id}
        package, values = open_package(
            tenant=self.tenant,
            holder=patient,
            plan_version=version,
            sold_at=terms.centre,
            currency=self.tenant.currency,
            price_gross=terms.amount,  # tax, if any, was the previous system's to account for
            price_net=terms.amount,
            purchased_on=terms.purchased_on,
            start_date=terms.start_date,
            actor=self.actor,
            now=self.now,
            expires_on=terms.expires_on,
            grant_kind=EntryKind.IMPORT,
            entry_data=source,
        )
        unused = {}
        for package_line, used in zip(values, terms.used, strict=True):
            value = values[package_line]
            if used:
                spent = value_of_next(value, package_line.granted, used)
                apply_entry(
                    package_line,
                    kind=EntryKind.IMPORT,
                    actor=self.actor,
                    now=self.now,
                    redeemed=used,
                    value=-spent,
                    reason=USED_BEFORE,
                    data=source,
                )
                value -= spent
            unused[package_line] = value
        journal.record(
            tenant=self.tenant,
            kind="opening_balance",
            event=("package", package.id),
            at=self.now,
            date=self.today_at(terms.centre),
            centre=terms.centre,
            patient=patient,
            package=package,
            memo=f"{version.name} imported from {self.run.source_system} ({terms.source_id}): its unused value"[:300],
            postings=posting.opening_balance(value_by_line=unused),
        )
        # Another run importing the same row at the same moment meets this one at the unique key (see `row`).
        ImportedRecord.objects.create(
            tenant=self.tenant,
            source_system=self.run.source_system,
            kind=ImportKind.PACKAGES,
            source_id=terms.source_id,
            row_digest=digest,
            run=self.run,
            package=package,
            line=line,
        )
        return package.id


def import_packages(
    *,
    tenant: Tenant,
    actor: Actor,
    data: bytes,
    source_system: str,
    dry_run: bool = False,
    file_name: str = "",
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import a packages CSV (columns: imports.columns.PACKAGE_COLUMNS); the report of every row.

    A file that cannot be read at all (not UTF-8, a wrong header) is refused whole (`import_file_invalid`)
    and writes nothing; otherwise each row is created, unchanged, changed (reported) or refused on its own.
    """
    actor.require(Perm.IMPORT)
    now = now or clock.now()
    source_system = validation.slug(source_system, "source_system")
    file_name = validation.text(file_name, "file_name", required=False)
    ignored = frozenset(name for name, _ in PACKAGE_BALANCE_COLUMNS)  # an export's packages.csv imports as it is
    rows = list(reading.rows(reading.decode(data), PACKAGE_COLUMNS, ignored))
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"the file has {len(rows)} rows; split it into files of at most {MAX_ROWS}",
            code="import_file_invalid",
            field="file",
        )
    with transaction.atomic():
        run = ImportRun.objects.create(
            tenant=tenant,
            kind=ImportKind.PACKAGES,
            source_system=source_system,
            file_name=file_name,
            file_digest=hashlib.sha256(data).hexdigest(),
            dry_run=dry_run,
            created_by=actor.label,
            at=now,
        )
    state = _Run(tenant=tenant, actor=actor, run=run, now=now, refs={v.get("patient_ref", "") for _, v in rows})
    report = ImportReport(
        run_id=run.id,
        kind=ImportKind.PACKAGES,
        source_system=source_system,
        dry_run=dry_run,
        file_name=file_name,
        file_digest=run.file_digest,
    )
    with transaction.atomic() if dry_run else nullcontext():
        for start in range(0, len(rows), BATCH_ROWS):
            with transaction.atomic():
                for line, values in rows[start : start + BATCH_ROWS]:
                    report.outcomes.append(state.row(line, values))
            if progress is not None:
                progress(min(start + BATCH_ROWS, len(rows)), len(rows))
        if dry_run:
            transaction.set_rollback(True)  # a dry run shows the same report and writes none of it
    report.patients_created, report.plans_created = state.patients_created, state.plans_created
    _finish(run, report, actor=actor, tenant=tenant, now=now)
    return report


@transaction.atomic
def _finish(run: ImportRun, report: ImportReport, *, actor: Actor, tenant: Tenant, now: dt.datetime) -> None:
    counts = {k: report.count(k) for k in (CREATED, UNCHANGED, CHANGED, REFUSED)}
    ImportRun.objects.filter(pk=run.pk).update(
        rows=report.rows,
        patients_created=report.patients_created,
        plans_created=report.plans_created,
        problems=[o.__dict__ for o in report.problems[:MAX_PROBLEMS_KEPT]],
        finished_at=clock.now() if clock.now() > now else now,
        **counts,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="import.dry_run" if run.dry_run else "import.run",
        subject=run,
        now=now,
        data={"kind": run.kind, "source_system": run.source_system, "rows": report.rows, **counts},
    )
