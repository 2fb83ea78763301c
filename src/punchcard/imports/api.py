"""POST /imports: an import file (multipart), the report as JSON or, with ?format=csv, every row as CSV.

A manager or admin (the `import` permission). The same service as `punchcard import`; a dry run first,
then the real run, is how the console's import page uses it. No Idempotency-Key: repeating the request is
safe by itself (rows are keyed by their source ids; a second run creates nothing and says so).
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.http import HttpResponse
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from punchcard.domain.errors import InvalidInput
from punchcard.kernel.auth import caller
from punchcard.kernel.problems import errors

from .schemas import ImportReportOut
from .services import import_packages

router = Router(tags=["imports"])


class ImportForm(Schema):
    kind: Literal["packages"] = "packages"
    source_system: str = Field(
        "previous",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="the system the file comes from (its source ids are unique within it)",
    )
    dry_run: bool = False


class ImportQuery(Schema):
    format: Literal["json", "csv"] = "json"


@router.post(
    "/imports",
    response={200: ImportReportOut, **errors(401, 403, 413, 415, 422)},
    summary="Import a file from another system",
    openapi_extra={
        "responses": {200: {"content": {"text/csv": {"schema": {"type": "string", "description": "with ?format=csv"}}}}}
    },
)
def post_import(request, form: Form[ImportForm], params: Query[ImportQuery], file: File[UploadedFile]):
    """Import a UTF-8 CSV (`file`; columns in the README's "Moving to Punchcard"), row by row: each row is
    created, unchanged (imported before), changed (reported, not applied) or refused with its line, column
    and rule. `dry_run=true` writes nothing and answers the same report. A file that is not the import's
    CSV at all is a 422 `import_file_invalid`; a row's refusal is in the report, not an error."""
    principal = caller(request)
    if file.size is None or file.size > settings.IMPORT_MAX_BYTES:
        raise InvalidInput("the file is too large", code="import_file_invalid", field="file")
    report = import_packages(
        tenant=principal.tenant,
        actor=principal.actor,
        data=file.read(),
        source_system=form.source_system,
        dry_run=form.dry_run,
        file_name=(file.name or "")[:200],
    )
    if params.format == "csv":
        response = HttpResponse(report.to_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{report.run_id}-report.csv"'
        return response
    return report.to_json()
