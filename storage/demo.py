"""Demo data for trying the bot on the embedded database (``wlcc demo``)."""

from __future__ import annotations

from sqlmodel import Session

from storage.identities import default_community


def seed_demo(session: Session) -> dict[str, int]:
    """Add the demo rows that are missing; running it twice changes nothing."""
    community = default_community(session)
    assert community.id is not None
    return {"communities": 1}
