"""Demo data for trying the bot on the embedded database (``wlcc demo``)."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.identities import default_community
from storage.member_import import MemberRow, apply_import
from storage.members import find_by_phone_and_name
from storage.models import Identity, Role
from storage.outbox import SIMULATOR
from wlcc.formatting import utcnow

# (name, phone, kelurahan, role): numbers in a range no real subscriber has.
DEMO_MEMBERS = (
    ("Rina Wulandari", "+6281200000002", "23 Ilir", Role.COORDINATOR),
    ("Siti Aminah", "+6281200000003", "24 Ilir", Role.MEMBER),
    ("Fatimah", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Ani Lestari", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Dewi Sartika", "+6281200000005", "23 Ilir", Role.TREASURER),
)


def seed_demo(session: Session) -> dict[str, int]:
    """Add the demo rows that are missing; running it twice changes nothing."""
    community = default_community(session)
    assert community.id is not None
    rows = [
        MemberRow(line=i, name=name, phone=phone, kelurahan=kel, role=role)
        for i, (name, phone, kel, role) in enumerate(DEMO_MEMBERS, start=1)
    ]
    result = apply_import(session, community.id, rows)
    # Demo members already agreed to the privacy notice, but for Siti, who is asked on her
    # first message so the newcomer sees that step too.
    for name, phone, _, _ in DEMO_MEMBERS:
        member = find_by_phone_and_name(session, community.id, phone, name)
        if member is not None and name != "Siti Aminah" and member.consent_at is None:
            member.consent_at = member.consent_asked_at = utcnow()
            session.add(member)
    # Each demo phone has a simulated chat, so that what the bot sends on its own (a broadcast,
    # a notice) reaches her terminal chat (with WLCC_SIMULATOR; storage.outbox.SIMULATOR).
    chats = 0
    for phone in dict.fromkeys(phone for _, phone, _, _ in DEMO_MEMBERS):
        found = session.exec(
            select(Identity).where(Identity.channel == SIMULATOR, Identity.address == phone)
        ).first()
        if found is None:
            now = utcnow()
            session.add(
                Identity(
                    community_id=community.id,
                    channel=SIMULATOR,
                    address=phone,
                    phone=phone,
                    first_seen_at=now,
                )
            )
            chats += 1
    return {
        "members created": result.created,
        "members already there": result.unchanged,
        "simulated chats created": chats,
    }
