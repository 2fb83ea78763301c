"""What the import routes answer: the run's counts and every refused or changed row."""

from __future__ import annotations

from ninja import Field, Schema


class OutcomeOut(Schema):
    line: int = Field(description="the row's line in the file (the header is line 1)")
    source_id: str
    outcome: str = Field(description="refused | changed (imported before with other values; not applied)")
    column: str = Field(description="the column whose rule refused the row (empty: the row as a whole)")
    code: str = Field(description="the stable code of the rule (see GET /problems)")
    message: str
    package_id: int | None = None


class ImportReportOut(Schema):
    run_id: int
    kind: str
    source_system: str
    dry_run: bool
    file_name: str
    file_digest: str = Field(description="SHA-256 of the file")
    rows: int
    created: int
    unchanged: int = Field(description="rows imported before, with the same values: nothing done")
    changed: int = Field(description="rows imported before with other values: reported, never applied")
    refused: int
    patients_created: int
    plans_created: int = Field(description="retired plans made for terms no plan had (`imported-…`)")
    summary: str
    problems: list[OutcomeOut]
