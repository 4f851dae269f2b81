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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Table, Text, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from wlcc.formatting import to_local, utcnow


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

    ALL = (TELEGRAM, WHATSAPP, CLI, IMPORT, CONSOLE)


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


def last_entries(session: Session, member_id: int, limit: int = 10) -> Sequence[LedgerEntry]:
    """Her latest entries, newest first."""
    return session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.member_id == member_id)
        .order_by(col(LedgerEntry.id).desc())
        .limit(limit)
    ).all()


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
