"""The reports there are (SPEC §11): what a report returns, and the registry that names them.

Each module of `reports.definitions` registers its reports with `@register(...)`; `ReportsConfig.ready`
imports every one of them, so the registry is complete before any request. Adding a report is adding a
module there: run_report, the API and the CLI find it by name.

A report function receives the checked `Params` and returns a `Report`: a table (columns, rows, totals)
with notes, the filters it applied and named figures besides the table (`extra`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from punchcard.domain.errors import InvalidInput
from punchcard.tenancy.models import Tenant


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | money | bp (basis points) | date | days


@dataclass
class Report:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None
    notes: list[str] = field(default_factory=list)
    filters: dict = field(default_factory=dict)
    currency: str = ""
    extra: dict = field(default_factory=dict)  # named figures besides the table (e.g. the roll-forward's)


@dataclass(frozen=True)
class Params:
    """A report's filters. run_report checks the shared ones (centre, plan, and the period when the report
    takes one); the rest arrive as given, for the report that uses them to check."""

    tenant: Tenant
    today: dt.date  # in the reporting zone
    date_from: dt.date | None  # a period's first day; for a report without a period, `from` if given
    date_to: dt.date | None  # a period's last day; None for a report without a period
    centre_id: int | None
    plan_id: int | None
    as_of: dt.date | str | None = None
    days: int | None = None
    by: str | list[str] | None = None
    period: str | None = None
    package_id: int | str | None = None
    limit: int | None = None

    @property
    def span(self) -> dict:
        """The filters every period report takes: the period, the centre and the plan."""
        return dict(date_from=self.date_from, date_to=self.date_to, centre_id=self.centre_id, plan_id=self.plan_id)

    def group_by(self, allowed: Collection[str], *, default: tuple[str, ...]) -> tuple[str, ...]:
        """`by` as a tuple of dimensions (a comma-separated text or a list, duplicates dropped)."""
        if not self.by:
            return default
        value = self.by
        items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise InvalidInput(f"by must be one or more of {', '.join(allowed)}", field="by")
        return tuple(dict.fromkeys(items))


ReportFunction = Callable[[Params], Report]


@dataclass(frozen=True)
class Definition:
    name: str
    description: str
    run: ReportFunction
    order: int  # where the report comes in the list of reports
    period: bool  # run_report checks a from–to period for it (default: this month up to today)


_definitions: dict[str, Definition] = {}


def register(
    name: str, *, description: str, order: int, period: bool = True
) -> Callable[[ReportFunction], ReportFunction]:
    """Register the decorated function as the report `name`."""

    def decorate(run: ReportFunction) -> ReportFunction:
        known = _definitions.get(name)
        if known is not None and (known.run.__module__, known.run.__qualname__) != (run.__module__, run.__qualname__):
            raise RuntimeError(f"report {name!r} is registered already ({known.run.__module__})")
        _definitions[name] = Definition(name, description, run, order, period)
        return run

    return decorate


def definitions() -> list[Definition]:
    """Every report, in the order they are listed."""
    return sorted(_definitions.values(), key=lambda d: (d.order, d.name))


def names() -> list[str]:
    return [d.name for d in definitions()]


def find(name: str) -> Definition | None:
    return _definitions.get(name)
