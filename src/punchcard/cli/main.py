"""The `punchcard` console script: Django's management commands under one name."""

import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "punchcard.settings")
    try:
        settings.SECRET_KEY  # noqa: B018 - loads the settings, which refuse an unsafe configuration
    except ImproperlyConfigured as exc:
        sys.exit(f"error [configuration]: {exc}")
    execute_from_command_line(["punchcard", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    main()
