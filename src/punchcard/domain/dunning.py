"""SPEC §10.2: what happens after a renewal fails — the retry schedule and the final action.

The schedule is a list of day offsets from the failed renewal (default one retry after 3 days; a tenant
may set e.g. 3, 5, 7). After the last retry fails, the final action applies: cancel the membership, or
suspend it (benefits blocked until the open invoice is paid). A period that was paid is never blocked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .errors import InvalidInput

MAX_RETRIES = 10
MAX_OFFSET_DAYS = 60


class FinalAction(StrEnum):
    CANCEL = "cancel"
    SUSPEND = "suspend"


@dataclass(frozen=True)
class DunningSchedule:
    retry_days: tuple[int, ...] = (3,)
    final_action: FinalAction = FinalAction.CANCEL

    def __post_init__(self):
        offsets = tuple(self.retry_days)
        if len(offsets) > MAX_RETRIES:
            raise InvalidInput(f"at most {MAX_RETRIES} retries", field="retry_days")
        for offset in offsets:
            if isinstance(offset, bool) or not isinstance(offset, int) or not 1 <= offset <= MAX_OFFSET_DAYS:
                raise InvalidInput(
                    f"each retry is a whole number of days from 1 to {MAX_OFFSET_DAYS} after the failure",
                    field="retry_days",
                )
        if list(offsets) != sorted(set(offsets)):
            raise InvalidInput("retry days must increase (e.g. 3, 5, 7)", field="retry_days")
        try:
            final = FinalAction(self.final_action)
        except ValueError:
            raise InvalidInput("the final action is cancel or suspend", field="final_action") from None
        object.__setattr__(self, "retry_days", offsets)
        object.__setattr__(self, "final_action", final)

    def next_retry(self, failed_on: dt.date, attempts_failed: int) -> dt.date | None:
        """The day of the next retry after `attempts_failed` failed attempts (the renewal itself is the first);
        None when none is left and the final action is due."""
        if attempts_failed < 1:
            raise InvalidInput("a retry follows a failed attempt", field="attempts_failed")
        if attempts_failed > len(self.retry_days):
            return None
        return failed_on + dt.timedelta(days=self.retry_days[attempts_failed - 1])
