"""`python -m bench.child TASK PARAMS_JSON`: one benchmark task in a process of its own.

The environment chooses the database (DATABASE_URL, or the embedded SQLite under PUNCHCARD_DATA), as for
any Punchcard process. The task's result is printed as one JSON document on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    task, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "punchcard.settings")
    import django

    django.setup()
    from bench import scenarios

    result = getattr(scenarios, f"task_{task}")(**params)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
