"""Where email goes: PUNCHCARD_EMAIL_URL=smtp://host:port (smtps:// for TLS, user:password@ allowed),
else one .eml file per message under the data directory's mail/ folder, so `make run` needs nothing."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

SMTP_TIMEOUT = 30


def folder() -> Path:
    return Path(settings.DATA_DIR) / "mail"


def deliver(message: EmailMessage, *, name: str) -> str:
    """Send one message; returns where it went. Raises OSError/smtplib errors on failure."""
    url = settings.EMAIL_URL
    if not url:
        target = folder()
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{name}.eml"
        path.write_bytes(bytes(message))
        return str(path)
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError("PUNCHCARD_EMAIL_URL must be smtp://host:port or smtps://host:port")
    client = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with client(parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), timeout=SMTP_TIMEOUT) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
    return f"{parts.hostname}:{parts.port}"
