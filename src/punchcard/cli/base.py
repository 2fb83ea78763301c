"""What every `punchcard` command shares: --tenant, --as-of, Rich output and one-line errors.

A refusal is never a traceback: a DomainError (or a bad argument) becomes one line on stderr,

    error [insufficient_sessions]: 1 session(s) asked, 0 available

and a non-zero exit: 2 for invalid input or something not found, 1 for a refused operation.
Under `call_command` the same line is written to the command's stderr and a `CliError` (a
CommandError carrying `code` and `returncode`) is raised, so tests can check both.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
import zoneinfo
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from punchcard import clock
from punchcard.domain.errors import DomainError, InvalidInput, NotFound
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.selectors import own_clock

DEMO_SLUG = "demo"
EXIT_REFUSED = 1  # a conflict or rule refused the operation
EXIT_INVALID = 2  # bad input, or no such object

NUMERIC_COLUMNS = frozenset({"Available", "Held", "Checked", "Problems", "Version", "Used"})
_EXIT_BY_KIND = {
    "invalid": EXIT_INVALID,
    "not_found": EXIT_INVALID,
    "forbidden": EXIT_REFUSED,
    "conflict": EXIT_REFUSED,
}


class CliError(CommandError):
    """A refusal already reported on stderr; `code` is the stable error code, `returncode` the exit status."""

    def __init__(self, message: str, *, code: str = "invalid", returncode: int = EXIT_INVALID):
        super().__init__(message, returncode=returncode)
        self.code = code
        self.message = message


def error_line(code: str, message: str) -> str:
    return f"error [{code}]: {' '.join(str(message).split())}"  # always exactly one line


def _parser_error(parser, message: str):
    """argparse's own error, as one line (exit 2), instead of usage text and a traceback-like dump."""
    message = f"{message} (see `punchcard {parser.prog.split()[-1]} --help`)"
    if getattr(parser, "called_from_command_line", False):
        sys.stderr.write(error_line("invalid", message) + "\n")
        sys.exit(EXIT_INVALID)
    raise CliError(message, code="invalid", returncode=EXIT_INVALID)


class PunchcardCommand(BaseCommand):
    """Subclasses implement `add_command_arguments(parser)` and `run(tenant=..., **options)`."""

    uses_tenant = True  # adds --tenant and resolves it before run()
    uses_clock = True  # adds --as-of and freezes the clock for the run

    # ---------------------------------------------------------------- arguments

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.error = types.MethodType(_parser_error, parser)
        return parser

    def add_arguments(self, parser):
        if self.uses_tenant:
            parser.add_argument(
                "--tenant", metavar="SLUG", help="tenant slug (default: the only tenant, e.g. the demo tenant 'demo')"
            )
        if self.uses_clock:
            parser.add_argument(
                "--as-of",
                metavar="DATETIME",
                help="run as of this ISO date or date-time (a date means noon; a time without "
                "an offset is in the time zone of the tenant's first centre)",
            )
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser):
        pass

    # ---------------------------------------------------------------- running

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except Exception as exc:  # a bug: still one line, unless --traceback asks for the details
            if "--traceback" in argv:
                raise
            sys.stderr.write(error_line("internal", f"{type(exc).__name__}: {exc} (run with --traceback)") + "\n")
            sys.exit(EXIT_REFUSED)

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            self.fail(exc.message, code=exc.code, returncode=_EXIT_BY_KIND.get(exc.kind, EXIT_REFUSED))
        except CliError as exc:
            if not getattr(exc, "_reported", False):
                self._report(exc)
            raise

    def handle(self, *args, **options):
        slug = options.pop("tenant", None)
        tenant = self.resolve_tenant(slug) if self.uses_tenant else None
        as_of = self.parse_as_of(options.get("as_of"), tenant) if self.uses_clock else None
        # A sandbox tenant's command runs on its test clock; an explicit --as-of still wins (punchcard.clock).
        with clock.tenant_time(own_clock(tenant) if tenant is not None else None):
            self.started_at = clock.now()  # the clock before --as-of moves it: "today" for commands that ask
            with clock.frozen_at(as_of) if as_of is not None else nullcontext():
                self.run(*args, tenant=tenant, **options)

    def run(self, *args, tenant: Tenant | None, **options):
        raise NotImplementedError

    def fail(self, message: str, *, code: str = "invalid", returncode: int = EXIT_INVALID):
        exc = CliError(message, code=code, returncode=returncode)
        self._report(exc)
        raise exc

    def _report(self, exc: CliError) -> None:
        self.stderr.write(error_line(exc.code, exc.message))
        exc._reported = True
        if getattr(self, "_called_from_command_line", False):
            # From the shell: exit now, before Django's own handler prints the error a second time.
            sys.exit(exc.returncode)

    # ---------------------------------------------------------------- output

    def console(self) -> Console:
        """A Rich console on this command's stdout (wide and colourless when not a terminal)."""
        raw = getattr(self.stdout, "_out", self.stdout)
        is_tty = hasattr(raw, "isatty") and raw.isatty()
        return Console(file=raw, width=None if is_tty else 200, highlight=False, soft_wrap=False, emoji=False)

    @staticmethod
    def table(title: str | None, *columns: str, **kwargs) -> Table:
        table = Table(title=title, title_justify="left", **kwargs)
        for column in columns:
            justify = "right" if column.endswith("#") or column in NUMERIC_COLUMNS else "left"
            table.add_column(column, justify=justify)
        return table

    # ---------------------------------------------------------------- lookups (tenant-scoped)

    @staticmethod
    def resolve_tenant(slug: str | None) -> Tenant:
        if slug:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise NotFound(f"no tenant {slug!r}", field="tenant")
            return tenant
        tenants = list(Tenant.objects.order_by("slug")[:11])
        if not tenants:
            raise NotFound("there is no tenant yet; run `punchcard demo` or pass --tenant SLUG", field="tenant")
        if len(tenants) > 1:
            names = ", ".join(t.slug for t in tenants[:10]) + (", …" if len(tenants) > 10 else "")
            raise InvalidInput(f"there are several tenants ({names}); pass --tenant SLUG", field="tenant")
        return tenants[0]

    @staticmethod
    def default_zone(tenant: Tenant | None) -> zoneinfo.ZoneInfo:
        centre = Centre.objects.filter(tenant=tenant).order_by("id").first() if tenant is not None else None
        return centre.zone if centre else zoneinfo.ZoneInfo("UTC")

    @classmethod
    def parse_as_of(
        cls, text: str | None, tenant: Tenant | None, zone: zoneinfo.ZoneInfo | None = None
    ) -> dt.datetime | None:
        if text is None:
            return None
        zone = zone or cls.default_zone(tenant)
        day = parse_date(text, "as_of", quiet=True)
        if day is not None:
            return dt.datetime.combine(day, dt.time(12), tzinfo=zone)
        try:
            instant = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidInput(
                f"--as-of {text!r} is not an ISO date or date-time (e.g. 2026-03-01 or 2026-03-01T10:30+05:30)",
                field="as_of",
            ) from None
        return instant if instant.tzinfo else instant.replace(tzinfo=zone)

    @staticmethod
    def centre(tenant: Tenant, code: str | None, *, default: Centre | None = None) -> Centre:
        if not code:
            if default is not None:
                return default
            centre = Centre.objects.filter(tenant=tenant).order_by("id").first()
            if centre is None:
                raise NotFound("the tenant has no centre", field="centre")
            return centre
        centre = Centre.objects.filter(tenant=tenant, code=code).first()
        if centre is None:
            codes = ", ".join(Centre.objects.filter(tenant=tenant).order_by("code").values_list("code", flat=True))
            raise NotFound(f"no centre {code!r} (centres: {codes or 'none'})", field="centre")
        return centre

    @staticmethod
    def patient(tenant: Tenant, ref: str, field: str = "patient") -> Patient:
        """A patient by external reference, or by id when the text is a number no reference matches."""
        patient = Patient.objects.filter(tenant=tenant, external_ref=ref).first()
        if patient is None and ref.isdigit():
            patient = Patient.objects.filter(tenant=tenant, pk=int(ref)).first() if int(ref) < 2**63 else None
        if patient is None:
            raise NotFound(f"no patient with reference or id {ref!r}", field=field)
        return patient

    @staticmethod
    def service(tenant: Tenant, code: str) -> Service:
        service = Service.objects.filter(tenant=tenant, code=code).first()
        if service is None:
            raise NotFound(f"no service with code {code!r}", field="service")
        return service

    @staticmethod
    def staff(tenant: Tenant, value: str, field: str = "staff") -> StaffMember:
        staff_id = whole(value, field, low=1)
        member = StaffMember.objects.filter(tenant=tenant, pk=staff_id).first()
        if member is None:
            raise NotFound(f"no staff member {staff_id}", field=field)
        return member


def whole(value, field: str, *, low: int = 1, high: int = 2**63 - 1) -> int:
    """A whole number argument, or InvalidInput naming it."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be from {low} to {high}", field=field)
    return number


def parse_date(text: str | None, field: str, *, quiet: bool = False) -> dt.date | None:
    if text is None:
        return None
    try:
        value = text.strip()
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        if quiet:
            return None
        raise InvalidInput(f"{field} {text!r} is not an ISO date (YYYY-MM-DD)", field=field) from None
