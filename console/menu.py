"""The console's menu: one entry per section, shown to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One entry of the console's menu: shown to the roles that may do ``action``."""

    href: str
    label: str  # catalog key
    action: str | None


# The menu, in order. A section whose action a role may not do is not shown to it.
SECTIONS: tuple[Section, ...] = (
    Section("/console/members", "console.nav.members", "member.list"),
    Section("/console/meetings", "console.nav.meetings", "meeting.attendees"),
    Section("/console/ledger", "console.nav.ledger", "ledger.view"),
    Section("/console/complaints", "console.nav.complaints", "complaint.triage"),
    Section("/console/broadcasts", "console.nav.broadcasts", "broadcast.send"),
    Section("/console/help", "console.nav.help", "safety.receive"),
    Section("/console/audit", "console.nav.audit", "audit.view"),
)


def menu_for(staff: object) -> list[Section]:
    can = getattr(staff, "can", None)
    if can is None:
        return []
    return [s for s in SECTIONS if s.action is None or can(s.action)]
