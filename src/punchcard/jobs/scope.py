"""Which tenants one run of a job works for, for the jobs of the layers below tenancy (the kernel's
idempotency purge; the queue's housekeeping has no tenant data).

The one selector is `tenancy.selectors.tenants_for_job`; tenancy installs it here in its
`AppConfig.ready`, as a higher app registers with a lower one. A job above tenancy imports that selector
itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_selector: Callable[[int | None], Any] | None = None


def install(selector: Callable[[int | None], Any]) -> None:
    global _selector  # noqa: PLW0603 - installed once at start-up, like every registry
    _selector = selector


def tenant_ids(tenant_id: int | None = None):
    """The ids of the tenants a run works for (a queryset of ids: usable as `tenant_id__in=`)."""
    if _selector is None:
        raise RuntimeError("tenancy has not installed the job scope (is punchcard.tenancy in INSTALLED_APPS?)")
    return _selector(tenant_id).values("id")
