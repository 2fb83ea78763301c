"""Server secrets kept in the data directory: made on first start, readable only by their owner.

The secret key (sessions, CSRF, signed values) and the API-key pepper are each one line in a file
under PUNCHCARD_DATA, created with mode 0600 the first time the server starts without the
corresponding environment variable. Several processes starting at once (gunicorn workers, test
workers) agree on one value: each writes its candidate to a private temporary file and hard-links it
into place, which succeeds for exactly one of them; the others read the winner's file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def stored_secret(path: Path, *, nbytes: int = 50) -> str:
    """The secret in `path`, made (random, url-safe, mode 0600) if the file does not exist yet."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(nbytes) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its secret
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: delete it to have a new secret made, or set the variable")
    return value
