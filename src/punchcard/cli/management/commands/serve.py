"""`punchcard serve [--port N] [--no-jobs]`: what `make run` runs: gunicorn serving the app, a worker for
the job queue and a once-a-minute tick, supervised together (Ctrl-C stops all three)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.cli.supervisor import supervise


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int = 1) -> list[str]:
    """The gunicorn command line: the one next to this Python (the virtualenv's), else on PATH. With
    threads > 1 the workers are gthread workers; else sync (the default, measured: see bench/README.md)."""
    local = Path(sys.executable).with_name("gunicorn")
    executable = str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")
    return [
        executable,
        "punchcard.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
        "--access-logfile",
        "-",
    ]


def punchcard_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "punchcard.cli.main", *args]


class Command(PunchcardCommand):
    help = "Serve Punchcard with gunicorn, plus a job worker and a once-a-minute tick (run `punchcard migrate` first)."
    uses_tenant = False
    uses_clock = False
    requires_system_checks = []

    def add_command_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="port (default: $PORT or 8000)")
        parser.add_argument(
            "--host", default=os.environ.get("HOST", "127.0.0.1"), help="address (default: $HOST or 127.0.0.1)"
        )
        parser.add_argument("--workers", default="2", help="web worker processes (default: 2, sync)")
        parser.add_argument("--threads", default="1", help="threads per web worker (more than 1: gthread workers)")
        parser.add_argument("--no-jobs", action="store_true", help="only the web server: no job worker, no tick")

    def run(self, *args, tenant, port, host, workers, threads="1", no_jobs=False, **options):
        argv = gunicorn_argv(
            host=host,
            port=whole(port, "port", high=65535),
            workers=whole(workers, "workers", high=64),
            threads=whole(threads, "threads", high=64),
        )
        self.stdout.write(
            f"Punchcard on http://{host}:{argv[3].rsplit(':', 1)[1]}/ (API docs /api/v1/docs, admin /admin/)"
        )
        self.stdout.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "punchcard.settings")
        if no_jobs:
            os.execv(argv[0], argv)
        children = [
            ("web", argv),
            ("worker", punchcard_argv("worker", "--verbosity", "0")),
            ("tick", punchcard_argv("tick", "--every", "60")),
        ]
        status = supervise(children, out=self.stdout._out)
        if status:
            sys.exit(status)
