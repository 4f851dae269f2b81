"""The credit union's ledger (simpan pinjam): its tables and the one way to write them
(migration 0008).

Money is whole rupiah (``int``), never floats. ``ledger_entry`` is append-only: an entry is never
edited or deleted (a trigger refuses UPDATE and DELETE on SQLite and PostgreSQL alike); a mistake
is corrected by a reversal, a new entry of the opposite amount that points at what it reverses
(``reverses_id``, unique: an entry is reversed at most once).

Each entry moves one member's balance of one kind by ``amount`` (signed):

* ``pokok`` (simpanan pokok): paid once on joining; locked.
* ``wajib`` (simpanan wajib): paid monthly; locked while she is a member.
* ``sukarela`` (simpanan sukarela): voluntary; can be withdrawn.
* ``pinjaman``: the principal she still owes on her loans (a loan adds, a repayment's principal
  takes away; ``loan_id`` says which loan).
* ``bunga``: the loan interest she has paid (the credit union's income, never withdrawn).

Balances derive from the entries. ``ledger_balance`` caches them, one row per member and kind,
moved in the same transaction as each entry by :func:`append_entry` (an atomic upsert that
also serialises two writers on the same balance on PostgreSQL; SQLite has one writer at a
time). No balance may go below zero: :func:`append_entry` refuses such an entry, so a
withdrawal beyond the savings and a repayment beyond what is owed never get written.

``ledger_access`` keeps a member's optional PIN (hashed) and whether she wants the monthly
statement.

A later migration that alters ``ledger_entry`` on SQLite (batch mode copies the table) must
create its triggers again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Table,
    Text,
    and_,
    case,
    exists,
    false,
    func,
    null,
    or_,
    true,
    union_all,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from storage.audit import record_audit
from storage.members import first_name_of, name_key
from storage.models import Member, MemberStatus
from storage.outbox import enqueue
from wlcc.formatting import format_date, format_datetime, format_money, to_local, utcnow
from wlcc.i18n import Translator
from wlcc.money import AmountError, parse_amount
from wlcc.phones import to_e164


class LedgerKind:
    POKOK = "pokok"
    WAJIB = "wajib"
    SUKARELA = "sukarela"
    PINJAMAN = "pinjaman"
    BUNGA = "bunga"

    SAVINGS = (POKOK, WAJIB, SUKARELA)
    LOCKED = (POKOK, WAJIB)  # no withdrawal while she is a member
    ALL = (POKOK, WAJIB, SUKARELA, PINJAMAN, BUNGA)


class EntryAction:
    """What an entry was, for her statement and the reports."""

    DEPOSIT = "deposit"  # setoran
    WITHDRAWAL = "withdrawal"  # penarikan
    LOAN = "loan"  # a loan paid out (pinjaman +principal)
    REPAYMENT = "repayment"  # an installment's principal (pinjaman -) or interest (bunga +)
    REVERSAL = "reversal"  # koreksi: the opposite of ``reverses_id``

    ALL = (DEPOSIT, WITHDRAWAL, LOAN, REPAYMENT, REVERSAL)


class LedgerChannel:
    """Where an entry was recorded from."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CLI = "cli"
    IMPORT = "import"
    CONSOLE = "console"
    SIMULATOR = "simulator"  # the demo's terminal chat (and the browser simulator)

    ALL = (TELEGRAM, WHATSAPP, CLI, IMPORT, CONSOLE, SIMULATOR)


class LedgerEntry(SQLModel, table=True):
    """One movement of one member's balance of one kind; never changed once written."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_member_kind", "member_id", "kind", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=16)
    action: str = Field(max_length=16)
    # Signed whole rupiah: what this entry adds to the balance of ``kind``.
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The day the money moved (an import's paper ledger has older days than created_at).
    occurred_on: date
    loan_id: int | None = Field(default=None, index=True)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entry.id", unique=True)
    recorded_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    channel: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Makes recording idempotent: a replayed dialog turn or a re-imported paper row finds its
    # key taken and writes nothing (e.g. "import:<sha256 of the row>").
    key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class LedgerBalance(SQLModel, table=True):
    """The cached sum of a member's entries of one kind (``wlcc ledger check`` proves it)."""

    __tablename__ = "ledger_balance"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    balance: int = Field(sa_column=Column(BigInteger, nullable=False))
    entries: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerAccess(SQLModel, table=True):
    """A member's own guard on her money answers and her wishes about them: the optional PIN
    (a password hash, never the digits), the wrong tries in a row and the lock they caused, and
    whether she asked for the monthly statement."""

    __tablename__ = "ledger_access"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    pin_hash: str | None = Field(default=None, max_length=200)
    failed_tries: int = 0
    locked_until: datetime | None = None
    monthly_statement: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerRefused(Exception):
    """An entry that may not be written; ``reason`` is a stable code the dialogs word."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class Refusal:
    BELOW_ZERO = "below_zero"  # the balance would go below zero
    DUPLICATE = "duplicate"  # the key was used: this entry was recorded already
    ZERO = "zero"  # an entry of nothing
    UNKNOWN_KIND = "unknown_kind"
    # The recording operations' rules (deposit, withdraw, reverse):
    NEGATIVE = "negative"  # a deposit or withdrawal is given as a positive amount
    NOT_SAVINGS = "not_savings"  # pinjaman and bunga move through the loans, not here
    LOCKED = "locked"  # pokok and wajib are not withdrawn while she is a member
    POKOK_PAID = "pokok_paid"  # simpanan pokok is paid once
    UNKNOWN_MEMBER = "unknown_member"  # no such member in this community (or anonymised)
    UNKNOWN_ENTRY = "unknown_entry"  # no such entry in this community
    ALREADY_REVERSED = "already_reversed"
    IS_REVERSAL = "is_reversal"  # a reversal is not reversed: record the entry again
    LOAN_ENTRY = "loan_entry"  # a loan's entries are corrected through the loans
    EMPTY_REASON = "empty_reason"  # a reversal says why


@dataclass(frozen=True, slots=True)
class Written:
    """An entry as written and the balance of its kind after it."""

    entry: LedgerEntry
    balance: int


_BALANCE: Table = LedgerBalance.__table__  # type: ignore[attr-defined]


def _upsert_balance(
    session: Session, *, community_id: int, member_id: int, kind: str, amount: int, now: datetime
) -> int:
    """Add ``amount`` to the cached balance in one statement; the balance after it. On
    PostgreSQL the row stays locked until the transaction ends, so two entries on the same
    balance are written one after the other."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_BALANCE).values(
        member_id=member_id,
        kind=kind,
        community_id=community_id,
        balance=amount,
        entries=1,
        updated_at=now,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[_BALANCE.c.member_id, _BALANCE.c.kind],
        set_={
            "balance": _BALANCE.c.balance + amount,
            "entries": _BALANCE.c.entries + 1,
            "updated_at": now,
        },
    ).returning(_BALANCE.c.balance)
    return int(session.connection().execute(upsert).scalar_one())


def append_entry(
    session: Session,
    *,
    community_id: int,
    member_id: int,
    kind: str,
    action: str,
    amount: int,
    channel: str,
    recorded_by_member_id: int | None = None,
    note: str | None = None,
    occurred_on: date | None = None,
    loan_id: int | None = None,
    reverses_id: int | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> Written:
    """Write one entry and move its cached balance, or refuse (:class:`LedgerRefused`) and
    write nothing: an amount of zero, an unknown kind, a key used before, a balance that would
    go below zero. The caller's transaction holds both, so nothing is ever half-written; on a
    refusal the caller rolls back (the balance was moved in the same transaction)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("money is whole rupiah: pass an int")
    if kind not in LedgerKind.ALL:
        raise LedgerRefused(Refusal.UNKNOWN_KIND, kind=kind)
    if amount == 0:
        raise LedgerRefused(Refusal.ZERO)
    now = now or utcnow()
    # A savepoint: a refusal undoes the balance's move and leaves the caller's transaction
    # usable (a dialog still writes its answer in it).
    try:
        with session.begin_nested():
            if (
                key is not None
                and session.exec(select(LedgerEntry.id).where(LedgerEntry.key == key)).first()
            ):
                raise LedgerRefused(Refusal.DUPLICATE, key=key)
            balance = _upsert_balance(
                session,
                community_id=community_id,
                member_id=member_id,
                kind=kind,
                amount=amount,
                now=now,
            )
            if balance < 0:
                raise LedgerRefused(Refusal.BELOW_ZERO, kind=kind, balance=balance - amount)
            entry = LedgerEntry(
                community_id=community_id,
                member_id=member_id,
                kind=kind,
                action=action,
                amount=amount,
                occurred_on=occurred_on or to_local(now).date(),
                loan_id=loan_id,
                reverses_id=reverses_id,
                recorded_by_member_id=recorded_by_member_id,
                channel=channel,
                note=note,
                key=key,
                created_at=now,
            )
            session.add(entry)
            session.flush()
    except IntegrityError as error:
        # Another writer took the key (or reversed the same entry) a moment before.
        raise LedgerRefused(Refusal.DUPLICATE, key=key, reverses_id=reverses_id) from error
    return Written(entry, balance)


def balances(session: Session, member_id: int) -> dict[str, int]:
    """A member's cached balance of every kind (0 where she has no entry)."""
    found = dict(
        session.exec(
            select(LedgerBalance.kind, LedgerBalance.balance).where(
                LedgerBalance.member_id == member_id
            )
        ).all()
    )
    return {kind: int(found.get(kind, 0)) for kind in LedgerKind.ALL}


def savings_total(found: dict[str, int]) -> int:
    return sum(found[kind] for kind in LedgerKind.SAVINGS)


def last_entries(
    session: Session, member_id: int, limit: int = 10, offset: int = 0
) -> Sequence[LedgerEntry]:
    """Her latest entries, newest first (``offset``: skip that many, for a page of them)."""
    return session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.member_id == member_id)
        .order_by(col(LedgerEntry.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()


def count_entries(session: Session, member_id: int) -> int:
    """How many entries she has (of every kind)."""
    return int(
        session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id == member_id)
        ).one()
    )


def derived_balances(
    session: Session, member_ids: Iterable[int] | None = None
) -> dict[tuple[int, str], int]:
    """Balances summed from the entries themselves, by (member, kind): what the cache must
    equal."""
    query = select(LedgerEntry.member_id, LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(
        col(LedgerEntry.member_id), col(LedgerEntry.kind)
    )
    if member_ids is not None:
        query = query.where(col(LedgerEntry.member_id).in_(list(member_ids)))
    return {(int(m), str(k)): int(total) for m, k, total in session.exec(query).all()}


# --- recording: the business rules (the CLI now, the treasurer's dialogs later) ---

RECEIPT_KIND = "receipt"  # outbox kind of a member's receipt (and its WhatsApp template key)
# Money answers are discreet where someone else may read them: on a phone that several
# members share, or for a member who guards her figures with a PIN, the receipt says what
# was recorded and when, never the amount nor the balance (SALDO shows them to her).
_MEMBER_STATES = (MemberStatus.ACTIVE, MemberStatus.PENDING)  # "while she is a member"


@dataclass(frozen=True, slots=True)
class Receipt:
    """An entry as recorded, the balance of its kind after it, and the outbox row of the
    member's receipt (None when no receipt was queued: an anonymised member)."""

    entry: LedgerEntry
    balance: int
    outbox_id: int | None


def _member(session: Session, community_id: int, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.community_id != community_id or member.anonymised_at:
        raise LedgerRefused(Refusal.UNKNOWN_MEMBER, member_id=member_id)
    return member


def is_member(member: Member) -> bool:
    """Whether she is (still) a member: pokok and wajib are locked while she is."""
    return member.status in _MEMBER_STATES


def _audit_entry(
    session: Session,
    entry: LedgerEntry,
    *,
    now: datetime,
    actor: int | None,
) -> None:
    """That an entry was made, by whom, from where, its id and kind: never an amount."""
    record_audit(
        session,
        action=f"ledger.{entry.action}",
        allowed=True,
        community_id=entry.community_id,
        actor_member_id=actor,
        actor_identity_id=None,
        channel=entry.channel,
        target=f"ledger_entry:{entry.id}",
        detail={
            "entry_id": entry.id,
            "member_id": entry.member_id,
            "kind": entry.kind,
            "reverses_id": entry.reverses_id,
        },
        now=now,
    )


def _audit_refusal(
    session: Session,
    *,
    action: str,
    community_id: int,
    member_id: int | None,
    kind: str | None,
    channel: str,
    actor: int | None,
    reason: str,
    now: datetime,
    entry_id: int | None = None,
) -> None:
    """A refused recording: the reason code, never the amount or the balance it concerned."""
    record_audit(
        session,
        action=f"ledger.{action}",
        allowed=False,
        community_id=community_id,
        actor_member_id=actor,
        actor_identity_id=None,
        channel=channel,
        target=f"ledger_entry:{entry_id}" if entry_id else f"member:{member_id}",
        detail={"reason": reason, "member_id": member_id, "kind": kind, "entry_id": entry_id},
        now=now,
    )


def discreet(session: Session, member: Member) -> bool:
    """Whether her receipt must not show money: a shared phone, or a PIN on her figures."""
    access = session.get(LedgerAccess, member.id)
    if access is not None and access.pin_hash:
        return True
    if not member.phone:
        return False
    others = session.exec(
        select(func.count())
        .select_from(Member)
        .where(
            Member.community_id == member.community_id,
            Member.phone == member.phone,
            Member.id != member.id,
            col(Member.anonymised_at).is_(None),
        )
    ).one()
    return int(others) > 0


def receipt_words(
    t: Translator,
    entry: LedgerEntry,
    balance: int,
    *,
    name: str,
    discreet: bool,
    original: LedgerEntry | None = None,
) -> tuple[str, dict[str, str]]:
    """A receipt's text in her language and its WhatsApp template variables: 1 what was
    recorded, 2 the day and time, 3 the balance of the kind after it (in a discreet receipt
    1 names her instead of the amount and 3 points at SALDO)."""
    kind = t(f"ledger.kind.{entry.kind}")
    when = format_datetime(entry.created_at, t.lang)
    if entry.action == EntryAction.REVERSAL and original is not None:
        was = t(f"ledger.original.{original.action}", kind=kind)
        day = format_date(original.occurred_on, t.lang)
        if discreet:
            what = t("ledger.what.reversal_private", original=was, day=day, name=name)
        else:
            what = t(
                "ledger.what.reversal",
                original=was,
                day=day,
                amount=format_money(abs(entry.amount), t.lang),
                reason=entry.note or "-",
            )
    elif discreet:
        what = t(f"ledger.what.{entry.action}_private", kind=kind, name=name)
    else:
        what = t(
            f"ledger.what.{entry.action}", kind=kind, amount=format_money(abs(entry.amount), t.lang)
        )
    after = (
        t("ledger.balance_private")
        if discreet
        else t(f"ledger.balance.{entry.kind}", balance=format_money(balance, t.lang))
    )
    return t("ledger.receipt", what=what, when=when, balance=after), {
        "1": what,
        "2": when,
        "3": after,
    }


def _queue_receipt(
    session: Session,
    member: Member,
    entry: LedgerEntry,
    balance: int,
    original: LedgerEntry | None = None,
) -> int | None:
    if member.anonymised_at is not None:
        return None
    t = Translator(member.language)
    text, template = receipt_words(
        t,
        entry,
        balance,
        name=first_name_of(member.name),
        discreet=discreet(session, member),
        original=original,
    )
    return enqueue(
        session,
        key=f"ledger:receipt:entry:{entry.id}",
        kind=RECEIPT_KIND,
        community_id=entry.community_id,
        member_id=member.id,
        text=text,
        template_vars=template,
    )


def _record(
    session: Session,
    *,
    operation: str,
    community_id: int,
    member_id: int,
    kind: str,
    amount: int,
    channel: str,
    recorded_by_member_id: int | None,
    note: str | None,
    key: str | None,
    now: datetime | None,
) -> Receipt:
    """A deposit (``amount`` > 0 moves the balance up) or a withdrawal (down), by the rules."""
    now = now or utcnow()
    try:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("money is whole rupiah: pass an int")
        if kind not in LedgerKind.ALL:
            raise LedgerRefused(Refusal.UNKNOWN_KIND, kind=kind)
        if kind not in LedgerKind.SAVINGS:
            raise LedgerRefused(Refusal.NOT_SAVINGS, kind=kind)
        if amount == 0:
            raise LedgerRefused(Refusal.ZERO)
        if amount < 0:
            raise LedgerRefused(Refusal.NEGATIVE)
        member = _member(session, community_id, member_id)
        withdrawal = operation == EntryAction.WITHDRAWAL
        if withdrawal and kind in LedgerKind.LOCKED and is_member(member):
            raise LedgerRefused(Refusal.LOCKED, kind=kind)
        with session.begin_nested():
            written = append_entry(
                session,
                community_id=community_id,
                member_id=member_id,
                kind=kind,
                action=operation,
                amount=-amount if withdrawal else amount,
                channel=channel,
                recorded_by_member_id=recorded_by_member_id,
                note=_clean_note(note),
                key=key,
                now=now,
            )
            # The balance's row was locked by the entry's upsert (PostgreSQL): a second
            # pokok recorded at the same moment sees the first here, and is undone.
            if kind == LedgerKind.POKOK and not withdrawal and written.balance != amount:
                raise LedgerRefused(Refusal.POKOK_PAID, kind=kind)
    except LedgerRefused as refused:
        _audit_refusal(
            session,
            action=operation,
            community_id=community_id,
            member_id=member_id,
            kind=kind,
            channel=channel,
            actor=recorded_by_member_id,
            reason=refused.reason,
            now=now,
        )
        raise
    _audit_entry(session, written.entry, now=now, actor=recorded_by_member_id)
    outbox_id = _queue_receipt(session, member, written.entry, written.balance)
    return Receipt(written.entry, written.balance, outbox_id)


def _clean_note(note: str | None) -> str | None:
    text = " ".join((note or "").split())
    return text[:500] or None


def deposit(
    session: Session,
    *,
    community_id: int,
    member_id: int,
    kind: str,
    amount: int,
    channel: str,
    recorded_by_member_id: int | None = None,
    note: str | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> Receipt:
    """A setoran of ``amount`` (whole rupiah, > 0) into her savings of ``kind`` (pokok, wajib,
    sukarela), with its audit row and her receipt queued; or :class:`LedgerRefused` (audited,
    nothing of the ledger written): ``zero``, ``negative``, ``not_savings``, ``unknown_kind``,
    ``unknown_member``, ``pokok_paid`` (simpanan pokok is paid once: while her pokok balance
    is not zero), ``duplicate`` (``key`` used before). The caller's transaction stays usable."""
    return _record(
        session,
        operation=EntryAction.DEPOSIT,
        community_id=community_id,
        member_id=member_id,
        kind=kind,
        amount=amount,
        channel=channel,
        recorded_by_member_id=recorded_by_member_id,
        note=note,
        key=key,
        now=now,
    )


def withdraw(
    session: Session,
    *,
    community_id: int,
    member_id: int,
    kind: str,
    amount: int,
    channel: str,
    recorded_by_member_id: int | None = None,
    note: str | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> Receipt:
    """A penarikan of ``amount`` (> 0) from her savings of ``kind``; refused as
    :func:`deposit` is, and also ``locked`` (pokok and wajib while she is a member: status
    active or pending; when she has left, inactive, they are paid back) and ``below_zero``."""
    return _record(
        session,
        operation=EntryAction.WITHDRAWAL,
        community_id=community_id,
        member_id=member_id,
        kind=kind,
        amount=amount,
        channel=channel,
        recorded_by_member_id=recorded_by_member_id,
        note=note,
        key=key,
        now=now,
    )


def reverse(
    session: Session,
    *,
    community_id: int,
    entry_id: int,
    reason: str,
    channel: str,
    recorded_by_member_id: int | None = None,
    now: datetime | None = None,
) -> Receipt:
    """Correct an entry: a new entry of the opposite amount (action ``reversal``,
    ``reverses_id`` the entry, note the reason), audited, her receipt queued. Refused
    (:class:`LedgerRefused`, audited): ``unknown_entry``, ``is_reversal`` (record the entry
    anew instead), ``already_reversed``, ``loan_entry`` (pinjaman and bunga are corrected
    through the loans), ``below_zero`` (the money was withdrawn since), ``empty_reason``."""
    now = now or utcnow()
    note = _clean_note(reason)
    original = session.get(LedgerEntry, entry_id)
    try:
        if original is None or original.community_id != community_id:
            raise LedgerRefused(Refusal.UNKNOWN_ENTRY, entry_id=entry_id)
        if note is None:
            raise LedgerRefused(Refusal.EMPTY_REASON)
        if original.reverses_id is not None or original.action == EntryAction.REVERSAL:
            raise LedgerRefused(Refusal.IS_REVERSAL, entry_id=entry_id)
        if original.kind not in LedgerKind.SAVINGS:
            raise LedgerRefused(Refusal.LOAN_ENTRY, entry_id=entry_id)
        taken = session.exec(
            select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry_id)
        ).first()
        if taken is not None:
            raise LedgerRefused(Refusal.ALREADY_REVERSED, entry_id=entry_id)
        member = _member(session, community_id, original.member_id)
        try:
            written = append_entry(
                session,
                community_id=community_id,
                member_id=original.member_id,
                kind=original.kind,
                action=EntryAction.REVERSAL,
                amount=-original.amount,
                channel=channel,
                recorded_by_member_id=recorded_by_member_id,
                note=note,
                reverses_id=entry_id,
                now=now,
            )
        except LedgerRefused as refused:
            # The unique reverses_id: another reversal of it was written a moment before.
            if refused.reason == Refusal.DUPLICATE:
                raise LedgerRefused(Refusal.ALREADY_REVERSED, entry_id=entry_id) from None
            raise
    except LedgerRefused as refused:
        _audit_refusal(
            session,
            action=EntryAction.REVERSAL,
            community_id=community_id,
            member_id=original.member_id if original is not None else None,
            kind=original.kind if original is not None else None,
            channel=channel,
            actor=recorded_by_member_id,
            reason=refused.reason,
            now=now,
            entry_id=entry_id,
        )
        raise
    _audit_entry(session, written.entry, now=now, actor=recorded_by_member_id)
    outbox_id = _queue_receipt(session, member, written.entry, written.balance, original)
    return Receipt(written.entry, written.balance, outbox_id)


def entry(session: Session, community_id: int, entry_id: int) -> LedgerEntry | None:
    found = session.get(LedgerEntry, entry_id)
    return found if found is not None and found.community_id == community_id else None


def ledger_members_on_phone(session: Session, community_id: int, phone: str) -> list[Member]:
    """Everyone with money matters on this phone: active, pending and former (inactive)
    members, not anonymised, in a stable order."""
    return list(
        session.exec(
            select(Member)
            .where(
                Member.community_id == community_id,
                Member.phone == phone,
                col(Member.anonymised_at).is_(None),
            )
            .order_by(col(Member.id))
        )
    )


def choose_by_name(members: Sequence[Member], name: str) -> list[Member]:
    """Of a family phone's members, those ``name`` means: the whole name (case and spaces
    forgiven), else those whose name's words start with the typed words in order."""
    wanted = name_key(name)
    if not wanted:
        return []
    exact = [m for m in members if m.name_key == wanted]
    if exact:
        return exact
    words = wanted.split()

    def starts(member: Member) -> bool:
        parts = member.name_key.split()
        return len(parts) >= len(words) and all(
            p.startswith(w) for p, w in zip(parts, words, strict=False)
        )

    return [m for m in members if starts(m)]


# --- proving the cache: wlcc ledger check ---


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    """A cached balance that disagrees with its entries (None: no cache row / no entries)."""

    member_id: int
    kind: str
    cached: int | None
    derived: int | None
    cached_entries: int | None
    derived_entries: int | None


@dataclass(frozen=True, slots=True)
class NegativeBalance:
    member_id: int
    kind: str
    balance: int  # summed from the entries


@dataclass(frozen=True, slots=True)
class BadReversal:
    entry_id: int
    reverses_id: int | None
    why: str  # missing, other_member, other_kind, not_opposite, of_a_reversal, action


@dataclass(frozen=True, slots=True)
class CheckResult:
    entries: int
    balances: int
    mismatches: tuple[BalanceMismatch, ...]
    negatives: tuple[NegativeBalance, ...]
    bad_reversals: tuple[BadReversal, ...]

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.negatives or self.bad_reversals)


_ENTRY: Table = LedgerEntry.__table__  # type: ignore[attr-defined]


def check(session: Session) -> CheckResult:
    """Prove the cache against the ledger, in SQL (one GROUP BY of the entries joined with
    the cache, one pass over the reversals), for every community: each cached balance and its
    entry count equal those summed from the entries, no balance summed from the entries is
    below zero, and every reversal points at an entry of the same member and kind with the
    opposite amount that is not itself a reversal."""
    e, b = _ENTRY, _BALANCE
    derived = (
        core_select(
            e.c.member_id,
            e.c.kind,
            func.sum(e.c.amount).label("total"),
            func.count().label("n"),
        )
        .group_by(e.c.member_id, e.c.kind)
        .subquery("derived")
    )
    joined = (
        core_select(
            derived.c.member_id,
            derived.c.kind,
            b.c.balance,
            derived.c.total,
            b.c.entries,
            derived.c.n,
        )
        .select_from(
            derived.outerjoin(
                b, and_(b.c.member_id == derived.c.member_id, b.c.kind == derived.c.kind)
            )
        )
        .where(
            or_(
                b.c.member_id.is_(None),
                b.c.balance != derived.c.total,
                b.c.entries != derived.c.n,
                derived.c.total < 0,
            )
        )
    )
    inner = e.alias("inner")
    orphans = core_select(b.c.member_id, b.c.kind, b.c.balance, null(), b.c.entries, null()).where(
        ~exists().where(and_(inner.c.member_id == b.c.member_id, inner.c.kind == b.c.kind))
    )
    connection = session.connection()
    mismatches: list[BalanceMismatch] = []
    negatives: list[NegativeBalance] = []
    for member_id, kind, cached, total, cached_n, n in connection.execute(
        union_all(joined, orphans)
    ):
        total = None if total is None else int(total)
        if total is not None and total < 0:
            negatives.append(NegativeBalance(int(member_id), str(kind), total))
        if cached is None or total is None or cached != total or cached_n != n:
            mismatches.append(
                BalanceMismatch(
                    int(member_id),
                    str(kind),
                    None if cached is None else int(cached),
                    total,
                    None if cached_n is None else int(cached_n),
                    None if n is None else int(n),
                )
            )
    original = e.alias("original")
    reversals = (
        core_select(
            e.c.id,
            e.c.reverses_id,
            e.c.action,
            e.c.member_id,
            e.c.kind,
            e.c.amount,
            original.c.id,
            original.c.member_id,
            original.c.kind,
            original.c.amount,
            original.c.reverses_id,
        )
        .select_from(e.outerjoin(original, original.c.id == e.c.reverses_id))
        .where(or_(e.c.reverses_id.is_not(None), e.c.action == EntryAction.REVERSAL))
        .where(
            or_(
                e.c.reverses_id.is_(None),
                e.c.action != EntryAction.REVERSAL,
                original.c.id.is_(None),
                original.c.member_id != e.c.member_id,
                original.c.kind != e.c.kind,
                original.c.amount != -e.c.amount,
                original.c.reverses_id.is_not(None),
            )
        )
    )
    bad: list[BadReversal] = []
    for row in connection.execute(reversals):
        rid, reverses, action, member, kind, amount, oid, omember, okind, oamount, _ = row
        if reverses is None or action != EntryAction.REVERSAL:
            why = "action"
        elif oid is None:
            why = "missing"
        elif omember != member:
            why = "other_member"
        elif okind != kind:
            why = "other_kind"
        elif oamount != -amount:
            why = "not_opposite"
        else:
            why = "of_a_reversal"
        bad.append(BadReversal(int(rid), None if reverses is None else int(reverses), why))
    counted = connection.execute(core_select(func.count()).select_from(e)).scalar_one()
    cached_rows = connection.execute(core_select(func.count()).select_from(b)).scalar_one()
    return CheckResult(
        entries=int(counted),
        balances=int(cached_rows),
        mismatches=tuple(mismatches),
        negatives=tuple(negatives),
        bad_reversals=tuple(bad),
    )


# --- the report for the treasurer and the RAT: wlcc ledger report ---


@dataclass(frozen=True, slots=True)
class MemberBalances:
    member_id: int
    name: str
    phone: str | None
    status: str
    balances: dict[str, int]  # every kind, at the end of the period


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """Totals per kind over a period (``occurred_on`` from ``start`` to ``end``, both
    included; None: open-ended): the balance before it, what came in (positive entries) and
    went out (negative ones, as a negative sum) within it, the balance at its end; and each
    member's balances at its end."""

    start: date | None
    end: date | None
    opening: dict[str, int]
    incoming: dict[str, int]
    outgoing: dict[str, int]
    closing: dict[str, int]
    members: tuple[MemberBalances, ...]

    @property
    def loans_outstanding(self) -> int:
        """Principal still owed at the end of the period."""
        return self.closing[LedgerKind.PINJAMAN]

    @property
    def interest_received(self) -> int:
        """Loan interest paid within the period (net of its corrections): the surplus."""
        return self.incoming[LedgerKind.BUNGA] + self.outgoing[LedgerKind.BUNGA]

    @property
    def savings_closing(self) -> int:
        return savings_total(self.closing)


def report(
    session: Session, *, community_id: int, start: date | None = None, end: date | None = None
) -> LedgerReport:
    """The figures of one community for the period (see :class:`LedgerReport`)."""
    e = _ENTRY
    day = e.c.occurred_on
    before = day < start if start is not None else false()
    within = and_(
        day >= start if start is not None else true(), day <= end if end is not None else true()
    )
    until = day <= end if end is not None else true()

    def total(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, e.c.amount), else_=0)), 0)

    rows = session.connection().execute(
        core_select(
            e.c.kind,
            total(before),
            total(and_(within, e.c.amount > 0)),
            total(and_(within, e.c.amount < 0)),
            total(until),
        )
        .where(e.c.community_id == community_id)
        .group_by(e.c.kind)
    )
    zero = dict.fromkeys(LedgerKind.ALL, 0)
    opening, incoming, outgoing, closing = dict(zero), dict(zero), dict(zero), dict(zero)
    for kind, first, came, went, last in rows:
        if kind in zero:
            opening[kind], incoming[kind] = int(first), int(came)
            outgoing[kind], closing[kind] = int(went), int(last)
    per_member: dict[int, dict[str, int]] = {}
    sums = session.connection().execute(
        core_select(e.c.member_id, e.c.kind, func.sum(e.c.amount))
        .where(e.c.community_id == community_id, until)
        .group_by(e.c.member_id, e.c.kind)
    )
    for member_id, kind, amount in sums:
        per_member.setdefault(int(member_id), dict(zero))[str(kind)] = int(amount)
    members = session.exec(
        select(Member).where(Member.community_id == community_id).order_by(col(Member.id))
    )
    listed = tuple(
        MemberBalances(m.id, m.name, m.phone, m.status, per_member.get(m.id, dict(zero)))
        for m in members
        if m.id is not None and (m.id in per_member or m.status in _MEMBER_STATES)
    )
    return LedgerReport(start, end, opening, incoming, outgoing, closing, listed)


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula: a self-registered name
    such as ``=HYPERLINK(...)`` gets a leading apostrophe (OWASP's CSV injection advice)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The report's CSV columns: totals per kind, then each member's balances.
REPORT_COLUMNS = (
    "row",
    "member_id",
    "name",
    "phone",
    "status",
    "pokok",
    "wajib",
    "sukarela",
    "savings",
    "pinjaman",
    "bunga",
    "overdue",
)


def report_csv(found: LedgerReport, overdue: dict[int, int] | None = None) -> str:
    """The report as CSV (``wlcc ledger report`` and the console's download): rows opening,
    in, out, closing (totals per kind), then one row per member (her balances at the end of the
    period). ``overdue``: what each member owes on late installments today, in the last column
    of her row (its sum in the closing row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)

    def figures(values: dict[str, int]) -> list[int]:
        return [
            values["pokok"],
            values["wajib"],
            values["sukarela"],
            savings_total(values),
            values["pinjaman"],
            values["bunga"],
        ]

    late = overdue or {}
    for label, values in (
        ("opening", found.opening),
        ("in", found.incoming),
        ("out", found.outgoing),
        ("closing", found.closing),
    ):
        total = sum(late.values()) if label == "closing" else ""
        writer.writerow([label, "", "", "", "", *figures(values), total])
    for member in found.members:
        writer.writerow(
            [
                "member",
                member.member_id,
                spreadsheet_safe(member.name),
                member.phone or "",
                member.status,
                *figures(member.balances),
                late.get(member.member_id, 0),
            ]
        )
    return buffer.getvalue()


# --- importing a paper ledger: wlcc ledger import ---

IMPORT_COLUMNS = ("date", "phone", "kind", "amount", "note")
_AMOUNT_WORDS = {
    AmountError.EMPTY: "it is empty",
    AmountError.LETTERS: "it has letters that are not an amount",
    AmountError.SEPARATORS: "its separators cannot be read surely (e.g. 1.000,5)",
    AmountError.FRACTION: "it has a fraction of a rupiah",
    AmountError.ZERO: "it is zero",
    AmountError.NEGATIVE: "it is negative twice",
    AmountError.TOO_LARGE: "it is larger than Rp1.000.000.000",
}
_KIND_NAMES = {
    "pokok": LedgerKind.POKOK,
    "simpanan pokok": LedgerKind.POKOK,
    "wajib": LedgerKind.WAJIB,
    "simpanan wajib": LedgerKind.WAJIB,
    "sukarela": LedgerKind.SUKARELA,
    "simpanan sukarela": LedgerKind.SUKARELA,
}
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (empty, no header, a required column missing)."""


@dataclass(frozen=True, slots=True)
class ImportRowError:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: nothing at all when ``errors`` is not empty (all or nothing)."""

    imported: int = 0
    entry_ids: tuple[int, ...] = ()
    already_imported: tuple[int, ...] = ()  # the lines whose entry was imported before
    errors: tuple[ImportRowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    day: date
    member: Member
    kind: str
    amount: int  # signed: > 0 a deposit, < 0 a withdrawal
    note: str | None
    key: str


def import_key(
    day: date, member_id: int, kind: str, amount: int, note: str | None, nth: int
) -> str:
    """``import:<sha256>:<nth>``: the hash of the row as read (day, member, kind, signed
    amount, note with spaces tidied) and which identical row of the file it is (1, 2, ...):
    two identical rows in one file are two entries, and the same file imported again finds
    every key taken."""
    normal = "|".join((day.isoformat(), str(member_id), kind, str(amount), note or ""))
    return f"import:{hashlib.sha256(normal.encode()).hexdigest()}:{nth}"


def _signed_amount(raw: str) -> int:
    text = raw.strip()
    sign = 1
    if text.startswith(("-", "\u2212")):
        sign, text = -1, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    return sign * parse_amount(text)


def _import_row(
    session: Session, community_id: int, line: int, cells: dict[str, str], today: date
) -> tuple[date, Member, str, int, str | None] | ImportRowError:
    raw_day = cells.get("date", "").strip()
    try:
        if not _ISO_DAY.match(raw_day):
            raise ValueError
        day = date.fromisoformat(raw_day)
    except ValueError:
        shown = raw_day[:20] or "(empty)"
        return ImportRowError(line, f"date {shown!r} is not a day written YYYY-MM-DD")
    if day > today:
        return ImportRowError(line, f"date {raw_day} is in the future")
    raw_phone = cells.get("phone", "").strip()
    phone = to_e164(raw_phone)
    if phone is None:
        shown = raw_phone[:40] or "(empty)"
        return ImportRowError(line, f"phone {shown!r} is not a valid phone number")
    found = ledger_members_on_phone(session, community_id, phone)
    if not found:
        return ImportRowError(line, f"no member has the phone {raw_phone}")
    name = cells.get("name", "").strip()
    if len(found) > 1 or name:
        chosen = choose_by_name(found, name) if name else found
        names = ", ".join(m.name for m in found)
        if not chosen:
            return ImportRowError(
                line, f"nobody called {name!r} on the phone {raw_phone} ({names})"
            )
        if len(chosen) > 1:
            return ImportRowError(
                line,
                f"several members share the phone {raw_phone} ({names}): "
                "add a name column to say whose row it is",
            )
        found = chosen
    raw_kind = " ".join(cells.get("kind", "").casefold().split())
    kind = _KIND_NAMES.get(raw_kind)
    if kind is None:
        return ImportRowError(line, f"kind {raw_kind[:30]!r} is not one of pokok, wajib, sukarela")
    raw_amount = cells.get("amount", "")
    try:
        amount = _signed_amount(raw_amount)
    except AmountError as error:
        words = _AMOUNT_WORDS.get(error.reason, error.reason)
        return ImportRowError(
            line, f"amount {raw_amount.strip()[:30]!r} refused ({error.reason}: {words})"
        )
    return day, found[0], kind, amount, _clean_note(cells.get("note"))


def _read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not text.strip():
        raise ImportFileError("the file is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in raw]
                missing = [c for c in IMPORT_COLUMNS if c not in header]
                if missing:
                    raise ImportFileError(
                        f"line {reader.line_num}: the header lacks column(s) "
                        f"{', '.join(missing)}; expected {','.join(IMPORT_COLUMNS)} "
                        "(and name, for a family phone)"
                    )
                continue
            rows.append((reader.line_num, dict(zip(header, raw, strict=False))))
    except csv.Error as error:
        raise ImportFileError(f"line {reader.line_num}: not valid CSV ({error})") from None
    if header is None:
        raise ImportFileError("the file has no header line")
    return header, rows


def import_csv(
    session: Session,
    text: str,
    *,
    community_id: int,
    recorded_by_member_id: int | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import a paper ledger: ``date,phone,kind,amount,note`` (and ``name`` to choose a member
    of a family phone), comma or semicolon separated, a header line. ``date`` is the day the
    money moved (YYYY-MM-DD, not in the future); ``amount`` is signed: a deposit as it is
    written (Indonesian forms, "50.000", "Rp 50.000"), a withdrawal with a minus ("-20.000").
    The rules of :func:`deposit` and :func:`withdraw` hold, in the file's order, from her
    balances now: a row that would take a balance below zero, withdraw pokok or wajib of a
    member, or pay pokok twice is an error of its line.

    All or nothing: every bad row is reported by line and nothing is written unless all are
    good. A row imported before (its key, :func:`import_key`, is taken) is not written again
    and is listed in ``already_imported``: importing the same file twice writes nothing the
    second time. No receipt is sent (the paper ledger is history, the members had theirs on
    paper); one audit row says how many entries were imported, by whom."""
    now = now or utcnow()
    today = to_local(now).date()
    _, raw_rows = _read_rows(text)
    errors: list[ImportRowError] = []
    rows: list[_Row] = []
    seen: dict[tuple[date, int, str, int, str | None], int] = {}
    for line, cells in raw_rows:
        parsed = _import_row(session, community_id, line, cells, today)
        if isinstance(parsed, ImportRowError):
            errors.append(parsed)
            continue
        day, member, kind, amount, note = parsed
        assert member.id is not None
        identity = (day, member.id, kind, amount, note)
        seen[identity] = seen.get(identity, 0) + 1
        key = import_key(day, member.id, kind, amount, note, seen[identity])
        rows.append(_Row(line, day, member, kind, amount, note, key))
    taken = _taken_keys(session, [row.key for row in rows])
    already = tuple(row.line for row in rows if row.key in taken)
    fresh = [row for row in rows if row.key not in taken]
    errors += _sequence_errors(session, fresh)
    if errors:
        return ImportResult(already_imported=already, errors=tuple(sorted(errors, key=_line)))
    ids: list[int] = []
    line = 0
    try:
        with session.begin_nested():
            for row in fresh:
                line = row.line
                assert row.member.id is not None
                written = append_entry(
                    session,
                    community_id=community_id,
                    member_id=row.member.id,
                    kind=row.kind,
                    action=EntryAction.DEPOSIT if row.amount > 0 else EntryAction.WITHDRAWAL,
                    amount=row.amount,
                    channel=LedgerChannel.IMPORT,
                    recorded_by_member_id=recorded_by_member_id,
                    note=row.note,
                    occurred_on=row.day,
                    key=row.key,
                    now=now,
                )
                assert written.entry.id is not None
                ids.append(written.entry.id)
    except LedgerRefused as refused:
        # Another writer moved a balance (or imported the same rows) since the rows were
        # checked: nothing of this import was written.
        return ImportResult(
            already_imported=already,
            errors=(ImportRowError(line, f"refused while writing: {refused.reason}"),),
        )
    if ids:
        record_audit(
            session,
            action="ledger.import",
            allowed=True,
            community_id=community_id,
            actor_member_id=recorded_by_member_id,
            actor_identity_id=None,
            channel=LedgerChannel.IMPORT,
            target=f"ledger_entry:{ids[0]}-{ids[-1]}",
            detail={"entries": len(ids), "already_imported": len(already)},
            now=now,
        )
    return ImportResult(len(ids), tuple(ids), already, ())


def _line(error: ImportRowError) -> int:
    return error.line


def _taken_keys(session: Session, keys: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        taken.update(
            str(k)
            for k in session.exec(select(LedgerEntry.key).where(col(LedgerEntry.key).in_(chunk)))
            if k is not None
        )
    return taken


def _sequence_errors(session: Session, rows: Sequence[_Row]) -> list[ImportRowError]:
    """The rules, row after row from her balances now: below zero, locked, pokok twice."""
    running: dict[tuple[int, str], int] = {}
    errors: list[ImportRowError] = []
    for row in rows:
        member = row.member
        assert member.id is not None
        if (member.id, row.kind) not in running:
            running[(member.id, row.kind)] = balances(session, member.id)[row.kind]
        before = running[(member.id, row.kind)]
        if row.amount < 0 and row.kind in LedgerKind.LOCKED and is_member(member):
            errors.append(
                ImportRowError(
                    row.line,
                    f"{member.name}: simpanan {row.kind} is not withdrawn while she is a member",
                )
            )
            continue
        if row.kind == LedgerKind.POKOK and row.amount > 0 and before != 0:
            errors.append(
                ImportRowError(
                    row.line, f"{member.name}: simpanan pokok is paid once, and was paid"
                )
            )
            continue
        if before + row.amount < 0:
            errors.append(
                ImportRowError(
                    row.line,
                    f"{member.name}: this withdrawal would take simpanan {row.kind} below zero",
                )
            )
            continue
        running[(member.id, row.kind)] = before + row.amount
    return errors
