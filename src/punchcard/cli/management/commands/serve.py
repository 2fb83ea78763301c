"""`punchcard serve [--port N]`: run the app under gunicorn, like `make run` does."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from punchcard.cli.base import PunchcardCommand, whole


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The gunicorn command line: the one next to this Python (the virtualenv's), else on PATH."""
    local = Path(sys.executable).with_name("gunicorn")
    executable = str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")
    return [
        executable,
        "punchcard.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]


class Command(PunchcardCommand):
    help = "Serve Punchcard with gunicorn (run `punchcard migrate` first)."
    uses_tenant = False
    uses_clock = False
    requires_system_checks = []

    def add_command_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="port (default: $PORT or 8000)")
        parser.add_argument(
            "--host", default=os.environ.get("HOST", "127.0.0.1"), help="address (default: $HOST or 127.0.0.1)"
        )
        parser.add_argument("--workers", default="2", help="worker processes (default: 2)")

    def run(self, *args, tenant, port, host, workers, **options):
        argv = gunicorn_argv(
            host=host, port=whole(port, "port", high=65535), workers=whole(workers, "workers", high=64)
        )
        self.stdout.write(
            f"Punchcard on http://{host}:{argv[3].rsplit(':', 1)[1]}/ (API docs /api/v1/docs, admin /admin/)"
        )
        self.stdout.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "punchcard.settings")
        os.execv(argv[0], argv)
