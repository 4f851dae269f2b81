"""Demo data for trying the bot on the embedded database (``wlcc demo``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session, select

from storage.identities import default_community
from storage.meetings import Meeting, MeetingKind, MeetingRule, create_meeting
from storage.meetings_rules import create_rule, ensure_occurrences
from storage.member_import import MemberRow, apply_import
from storage.members import find_by_phone_and_name
from storage.models import Identity, Role
from storage.outbox import SIMULATOR
from wlcc.formatting import DEFAULT_ZONE, utcnow

# (name, phone, kelurahan, role): numbers in a range no real subscriber has.
DEMO_MEMBERS = (
    ("Rina Wulandari", "+6281200000002", "23 Ilir", Role.COORDINATOR),
    ("Siti Aminah", "+6281200000003", "24 Ilir", Role.MEMBER),
    ("Fatimah", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Ani Lestari", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Dewi Sartika", "+6281200000005", "23 Ilir", Role.TREASURER),
)


def seed_demo(session: Session, *, meetings: bool = True) -> dict[str, int]:
    """Add the demo rows that are missing (with ``meetings``, a monthly meeting rule and a
    training, dated from today); running it twice changes nothing."""
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
    rules, trainings = _demo_meetings(session, community.id) if meetings else (0, 0)
    return {
        "monthly meeting rules created": rules,
        "trainings created": trainings,
        "members created": result.created,
        "members already there": result.unchanged,
        "simulated chats created": chats,
    }


def _demo_meetings(session: Session, community_id: int) -> tuple[int, int]:
    """The monthly meeting (second Saturday, 09.00-12.00; its coming months are made by the
    notice job) and a training with 3 seats five days from now, so that its announcement comes
    at once and JADWAL, HADIR and the waiting list have something to show."""
    now = utcnow()
    rules = trainings = 0
    if not session.exec(
        select(MeetingRule).where(MeetingRule.community_id == community_id)
    ).first():
        create_rule(
            session,
            community_id=community_id,
            title="Pertemuan bulanan",
            weekday=5,
            nth=2,
            start="09:00",
            end="12:00",
            place="Balai RW 05, 23 Ilir",
            now=now,
        )
        ensure_occurrences(session, now=now, months=3, zone=DEFAULT_ZONE)
        rules = 1
    training = session.exec(
        select(Meeting).where(
            Meeting.community_id == community_id, Meeting.kind == MeetingKind.TRAINING
        )
    ).first()
    if training is None:
        day = (now.astimezone(DEFAULT_ZONE) + timedelta(days=5)).date()
        starts = datetime.combine(day, time(13, 0), DEFAULT_ZONE)
        create_meeting(
            session,
            community_id=community_id,
            kind=MeetingKind.TRAINING,
            title="Membuat sabun cair dari minyak jelantah",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="Rumah Bu Rina, 23 Ilir",
            seats=3,
            now=now,
        )
        trainings = 1
    return rules, trainings
