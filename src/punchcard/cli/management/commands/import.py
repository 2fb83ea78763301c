"""`punchcard import packages FILE.csv [--source SYSTEM] [--dry-run] [--report FILE]`.

Row by row through the same services as a sale; a second run of the same file creates nothing and says
so. A file of more than PROGRESS_FROM rows shows a progress bar (on a terminal).
"""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.imports.services import import_packages

PROGRESS_FROM = 2000
MAX_LISTED = 50


class Command(PunchcardCommand):
    help = (
        "Import packages from another system's CSV (see the README's 'Moving to Punchcard'): the report lists "
        "every refused row with its line, column and rule; --dry-run writes nothing and shows the same report."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("kind", choices=["packages"], help="what the file holds")
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument(
            "--source",
            default="previous",
            metavar="SYSTEM",
            help="the system the file comes from (its ids are unique within it; default 'previous')",
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--report", metavar="FILE", help="write every row's outcome to this CSV file")

    def run(self, *args, tenant, kind, file, source, dry_run=False, report=None, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror}", field="file") from None
        console = self.console()
        bar = None
        if data.count(b"\n") > PROGRESS_FROM and console.is_terminal:
            bar = Progress(
                TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
            )
        with bar if bar is not None else _Quiet():
            task = bar.add_task("rows", total=None) if bar is not None else None
            result = import_packages(
                tenant=tenant,
                actor=cli_actor(),
                data=data,
                source_system=source,
                dry_run=dry_run,
                file_name=path.name,
                progress=(lambda done, total: bar.update(task, completed=done, total=total)) if bar else None,
            )
        if report:
            Path(report).write_text(result.to_csv(), encoding="utf-8")
        problems = result.problems
        if problems:
            table = self.table(
                f"Rows not imported ({len(problems)})", "Line", "Source id", "Outcome", "Column", "Code", "Rule"
            )
            for o in problems[:MAX_LISTED]:
                table.add_row(str(o.line), o.source_id, o.outcome, o.column, o.code, o.message)
            console.print(table)
            if len(problems) > MAX_LISTED:
                console.print(f"… and {len(problems) - MAX_LISTED} more" + (f" (all in {report})" if report else ""))
        console.print(("Dry run: nothing was written. " if dry_run else "") + result.summary())
        console.print(f"Import run {result.run_id} (source {result.source_system}).")


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
