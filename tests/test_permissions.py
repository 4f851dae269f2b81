"""Every privileged command, found in the dialog registry, is refused to those without the role,
with a plain message and an audit row; the role that holds it gets through."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from bot.render import numbered_text
from conversations.engine import discover
from handlers.router import Router
from storage.identities import default_community
from storage.member_import import MemberRow, apply_import
from storage.members import record_consent
from storage.models import AuditLog, Member, Role
from storage.permissions import RULES, can
from wlcc.formatting import utcnow
from wlcc.i18n import gettext
from wlcc.messages import Inbound

PEOPLE = {
    "resident": None,
    Role.MEMBER: "+6281200000011",
    Role.COORDINATOR: "+6281200000012",
    Role.TREASURER: "+6281200000013",
    Role.ADMIN: "+6281200000014",
    Role.PROTECTION_OFFICER: "+6281200000015",
}
_ids = itertools.count(1)

PRIVILEGED = sorted(
    (keyword, dialog.action)
    for dialog in discover().values()
    if dialog.action is not None
    for keyword in dialog.keywords
)
# The command with a number where it takes one ("SETUJUI 1"), else alone ("UMUMKAN").
ARGUMENT = {
    keyword: " 1" if dialog.accepts("1") else ""
    for dialog in discover().values()
    for keyword in dialog.keywords
}


def test_there_are_privileged_commands():
    assert ("SETUJUI", "member.approve") in PRIVILEGED
    assert ("SETUJUI HAPUS", "member.delete") in PRIVILEGED
    assert all(action in RULES for _, action in PRIVILEGED)


@pytest.fixture
def router(db) -> Router:
    rows = [
        MemberRow(line=i, name=f"Orang {role}", phone=phone, kelurahan="23 Ilir", role=role)
        for i, (role, phone) in enumerate(PEOPLE.items())
        if phone is not None
    ]
    with db.transaction() as session:
        community = default_community(session)
        assert community.id is not None
        apply_import(session, community.id, rows)
        for member in session.exec(select(Member)).all():
            record_consent(session, member, True, utcnow())
    return Router(db)


def _say(router: Router, phone: str, text: str) -> list[str]:
    inbound = Inbound(
        channel="whatsapp",
        address=phone,
        sender_id=phone,
        platform_id=f"SM{next(_ids):032d}",
        received_at=utcnow(),
        text=text,
        phone=phone,
    )
    return [numbered_text(reply) for reply in router.handle(inbound) or []]


@pytest.mark.parametrize("role", list(PEOPLE))
def test_privileged_commands(router, db, role):
    phone = PEOPLE[role] or "+6281299990000"
    for keyword, action in PRIVILEGED:
        # The help path's refusal names protection officers, not coordinators.
        denied = gettext(
            "id", "safety.denied" if action == "safety.receive" else "permission.denied"
        )
        before = _refusals(db, action)
        replies = _say(router, phone, keyword + ARGUMENT[keyword])
        refusals = _refusals(db, action)[len(before) :]
        if can(role, action):
            assert denied not in replies, keyword
            assert refusals == [], keyword
        else:
            assert replies == [denied], keyword
            assert len(refusals) == 1, keyword
            assert refusals[0].channel == "whatsapp"
            assert refusals[0].target == _dialog_of(keyword)
            assert refusals[0].detail["role"] == role


def _refusals(db, action: str) -> list[AuditLog]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(AuditLog)
                .where(AuditLog.action == action, AuditLog.allowed == False)  # noqa: E712
                .order_by(AuditLog.id)  # type: ignore[arg-type]
            )
        )


def _dialog_of(keyword: str) -> str:
    return next(d.name for d in discover().values() if keyword in d.keywords)


def test_members_do_not_see_staff_entries_in_menu(router):
    member_menu = "\n".join(_say(router, PEOPLE[Role.MEMBER] or "", "MENU"))
    coordinator_menu = "\n".join(_say(router, PEOPLE[Role.COORDINATOR] or "", "MENU"))
    assert "Pendaftar baru" not in member_menu
    assert "Pendaftar baru" in coordinator_menu
