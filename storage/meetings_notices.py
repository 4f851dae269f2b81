"""The notices about meetings, planned into the outbox by the scheduler's notice job and by
``wlcc notices plan``. (Being written: the announcement, the reminders, quiet hours.)"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from wlcc.settings import Settings


def plan_all(session: Session, *, now: datetime, settings: Settings) -> dict[str, int]:
    """Plan every notice due at ``now`` (each once, by its outbox key); how many of each kind."""
    raise NotImplementedError("the notice planning is not written yet")
