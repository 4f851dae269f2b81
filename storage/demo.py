"""Demo data for trying the bot on the embedded database (``wlcc demo``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.identities import default_community
from storage.ledger import EntryAction, LedgerChannel, LedgerKind, LedgerRefused, append_entry
from storage.loans import loans_of, open_loan
from storage.meetings import Meeting, MeetingKind, MeetingRule, create_meeting
from storage.meetings_rules import create_rule, ensure_occurrences
from storage.member_import import MemberRow, apply_import
from storage.members import find_by_phone_and_name
from storage.models import Identity, OutboxMessage, OutboxStatus, Role
from storage.outbox import SIMULATOR
from wlcc.formatting import DEFAULT_ZONE, utcnow

# (name, phone, kelurahan, role): numbers in a range no real subscriber has.
DEMO_MEMBERS = (
    ("Rina Wulandari", "+6281200000002", "23 Ilir", Role.COORDINATOR),
    ("Siti Aminah", "+6281200000003", "24 Ilir", Role.MEMBER),
    ("Fatimah", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Ani Lestari", "+6281200000004", "19 Ilir", Role.MEMBER),
    ("Dewi Sartika", "+6281200000005", "23 Ilir", Role.TREASURER),
    ("Maya Sari", "+6281200000006", "24 Ilir", Role.PROTECTION_OFFICER),
    ("Admin WLCC", "+6281200000007", "23 Ilir", Role.ADMIN),
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
    entries, loans = _demo_money(session, community.id) if meetings else (0, 0)
    return {
        "monthly meeting rules created": rules,
        "trainings created": trainings,
        "ledger entries created": entries,
        "loans created": loans,
        "members created": result.created,
        "members already there": result.unchanged,
        "simulated chats created": chats,
    }


# Siti's savings, as the treasurer's paper book had them: (months ago, kind, amount).
DEMO_SAVINGS = (
    (4, LedgerKind.POKOK, 100_000),
    (3, LedgerKind.WAJIB, 20_000),
    (2, LedgerKind.WAJIB, 20_000),
    (2, LedgerKind.SUKARELA, 150_000),
    (1, LedgerKind.WAJIB, 20_000),
)


def _demo_money(session: Session, community_id: int) -> tuple[int, int]:
    """Siti's savings history (SALDO, MUTASI and STATEMEN have something to show, and Dewi the
    treasurer something to add to with SETOR or take from with TARIK) and her loan of
    Rp500.000 over 5 months, opened 40 days ago: one installment is late, so PINJAMAN shows it
    and ANGSURAN has one to record. Each entry has a key, so running it twice adds nothing."""
    siti = find_by_phone_and_name(session, community_id, "+6281200000003", "Siti Aminah")
    if siti is None or siti.id is None:
        return 0, 0
    now = utcnow()
    entries = 0
    for i, (months_ago, kind, amount) in enumerate(DEMO_SAVINGS):
        try:
            append_entry(
                session,
                community_id=community_id,
                member_id=siti.id,
                kind=kind,
                action=EntryAction.DEPOSIT,
                amount=amount,
                channel=LedgerChannel.IMPORT,
                occurred_on=(now - timedelta(days=30 * months_ago)).astimezone(DEFAULT_ZONE).date(),
                key=f"demo:savings:{i}",
                now=now,
            )
            entries += 1
        except LedgerRefused:
            pass  # there already
    if loans_of(session, siti.id):
        return entries, 0
    opened = now - timedelta(days=40)
    open_loan(
        session,
        community_id=community_id,
        member_id=siti.id,
        principal=500_000,
        rate="1.5",
        months=5,
        start=opened.astimezone(DEFAULT_ZONE).date(),
        channel=LedgerChannel.IMPORT,
        key="demo:loan",
        now=opened,
    )
    # Its receipt belongs to that day: she read it then, it does not arrive now.
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.key).startswith("receipt:loan:"))
        .where(col(OutboxMessage.member_id) == siti.id)
        .values(status=OutboxStatus.READ)
    )
    return entries, 1


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
