"""What an import did, row by row: the counts, and every refused or changed row with its line, column and rule.

The same report answers the CLI (a table, `--report FILE` as CSV), the API (JSON, or CSV with
`?format=csv`) and the console's import page.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field

from punchcard.domain import spreadsheet

CREATED, UNCHANGED, CHANGED, REFUSED = "created", "unchanged", "changed", "refused"
CSV_COLUMNS = ["line", "source_id", "outcome", "column", "code", "message", "package_id"]


@dataclass
class Outcome:
    line: int
    source_id: str
    outcome: str  # created | unchanged | changed | refused
    column: str = ""
    code: str = ""
    message: str = ""
    package_id: int | None = None


@dataclass
class ImportReport:
    run_id: int
    kind: str
    source_system: str
    dry_run: bool
    file_name: str
    file_digest: str
    patients_created: int = 0
    plans_created: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def rows(self) -> int:
        return len(self.outcomes)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome in (REFUSED, CHANGED)]

    def summary(self) -> str:
        """'Created 998 packages (3 patients, 1 plan); 0 unchanged, 0 changed, 2 refused.' (dry run: 'Would create')"""
        verb = "Would create" if self.dry_run else "Created"
        return (
            f"{verb} {self.count(CREATED)} {self.kind} ({self.patients_created} new patient(s), "
            f"{self.plans_created} new plan(s)) from {self.rows} row(s); {self.count(UNCHANGED)} unchanged "
            f"(imported before), {self.count(CHANGED)} changed since (reported, not applied), "
            f"{self.count(REFUSED)} refused."
        )

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "source_system": self.source_system,
            "dry_run": self.dry_run,
            "file_name": self.file_name,
            "file_digest": self.file_digest,
            "rows": self.rows,
            "created": self.count(CREATED),
            "unchanged": self.count(UNCHANGED),
            "changed": self.count(CHANGED),
            "refused": self.count(REFUSED),
            "patients_created": self.patients_created,
            "plans_created": self.plans_created,
            "summary": self.summary(),
            "problems": [asdict(o) for o in self.problems],
        }

    def to_csv(self) -> str:
        """Every row of the file: what became of it (the package made, or why not)."""
        out = io.StringIO()
        writer = spreadsheet.writer(out)
        writer.writerow(CSV_COLUMNS)
        for o in self.outcomes:
            writer.writerow([o.line, o.source_id, o.outcome, o.column, o.code, o.message, o.package_id or ""])
        return out.getvalue()
