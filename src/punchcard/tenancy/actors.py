"""Who is acting: every service takes an Actor and records it in the ledger and audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Role
from .permissions import Perm, require


@dataclass(frozen=True)
class Actor:
    label: str  # "staff:3 Asha Rao", "apikey:pk_3f9a (Scheduler)", "cli", "sweep"
    role: str
    source: str = ""  # centre or channel the change came from
    staff_id: int | None = None

    def require(self, perm: Perm) -> None:
        require(self.role, perm)


SYSTEM = Actor(label="system", role=Role.ADMIN, source="system")


def cli_actor() -> Actor:
    return Actor(label="cli", role=Role.ADMIN, source="cli")
