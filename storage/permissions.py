"""Who may do what: the one place that decides. Dialogs ask :func:`can`; the router audits."""

from __future__ import annotations

from storage.models import Role

_STAFF = frozenset({Role.COORDINATOR, Role.ADMIN})
_MONEY = frozenset({Role.TREASURER, Role.ADMIN})
# The help path's call-back requests: protection officers alone, never coordinators or admins.
SAFETY_RECEIVE = "safety.receive"

# action -> roles allowed. Actions not listed here are open to everyone.
RULES: dict[str, frozenset[str]] = {
    "member.approve": _STAFF,
    "member.delete": _STAFF,
    "member.list": _STAFF,
    "broadcast.send": _STAFF,
    "meeting.create": _STAFF,
    "meeting.attendees": _STAFF,
    "meeting.themes": _STAFF,
    "complaint.triage": _STAFF,
    "ledger.record": _MONEY,
    # Amounts of anyone's savings and loans (the console's ledger pages, totals and charts): a
    # coordinator sees none unless she is also the treasurer.
    "ledger.view": _MONEY,
    # The staff console: who may log in at all, and who reads the audit log.
    "console.login": frozenset(
        {Role.COORDINATOR, Role.TREASURER, Role.ADMIN, Role.PROTECTION_OFFICER}
    ),
    "audit.view": frozenset({Role.ADMIN}),
    SAFETY_RECEIVE: frozenset({Role.PROTECTION_OFFICER}),
}


def can(role: str, action: str) -> bool:
    allowed = RULES.get(action)
    return allowed is None or role in allowed
