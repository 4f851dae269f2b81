"""A member's own side of the ledger: her PIN, her wish for the monthly statement, and her
statement (issue 11). The tables are storage/ledger.py's (``ledger_access``, migration 0008).

* **PIN** (optional): 4 to 6 digits, not one an onlooker guesses first (all the same digit, a
  run like 1234 or 4321). Only an argon2id hash is kept (argon2-cffi's ``PasswordHasher``);
  the digits are never stored, logged or put in a dialog's state. :data:`MAX_TRIES` wrong
  tries in a row lock her money answers for :data:`LOCK_MINUTES` minutes and tell the
  treasurers (outbox kind ``pin_locked``: her name and until when, no amount); a right PIN
  resets the count.
* **Statement**: the entries of one month (by the day the money moved, ``occurred_on``) and,
  per kind, the balance before the month and after it, summed from the entries themselves (not
  the cache), so that opening + the month's entries = closing, exactly.
* **Monthly statement**: a member who asked for it (``monthly_statement``) gets last month's
  statement on the first days of the next month, through the outbox (kind ``statement``, key
  ``statement:member:<id>:<YYYY-MM>``, once), after the quiet hours, not when she opted out.
  Where a PIN guards her figures, or her phone is shared, the notice has no figures: it says
  the statement is ready and STATEMEN shows it (after the PIN). Outside WhatsApp's 24-hour
  window the ``statement`` template is used with her first name and the month (no figures).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from babel.dates import format_date as babel_format_date
from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.ledger import EntryAction, LedgerAccess, LedgerEntry, LedgerKind
from storage.media import BOT_SOURCE
from storage.members import first_name, members_on_phone, staff
from storage.models import MediaFile, Member, MemberStatus, OutboxMessage, Role
from storage.outbox import Planned, enqueue, enqueue_many
from wlcc.dates import outside_quiet_hours, parse_quiet_hours
from wlcc.formatting import DEFAULT_ZONE, format_datetime, format_money
from wlcc.i18n import Translator
from wlcc.settings import Settings

log = logging.getLogger(__name__)

PIN_MIN, PIN_MAX = 4, 6
MAX_TRIES = 5  # wrong PINs in a row before the lock
LOCK_MINUTES = 30
LOCKED_KIND = "pin_locked"  # the outbox kind of the treasurers' notice
STATEMENT_KIND = "statement"  # the outbox kind (and WhatsApp template) of the monthly statement
# The monthly statement of a month is planned on the first days of the next one only: a
# scheduler that was down longer does not send a stale one (STATEMEN shows it any time).
STATEMENT_DAYS = 7
# A statement's PDF (her figures, served to Twilio under an unguessable /media/<token>) is kept
# this long after it was made, long enough for the outbox to deliver it, then forgotten.
STATEMENT_FILE_RETENTION = timedelta(days=2)
STATEMENT_FILE_PREFIX = "statemen-wlcc-"  # the PDF's file name: statemen-wlcc-2026-12.pdf

_HASHER = PasswordHasher()


# --- the PIN ---


class PinProblem:
    """Why a new PIN is refused (stable codes the dialogs word)."""

    NOT_DIGITS = "not_digits"
    LENGTH = "length"
    GUESSABLE = "guessable"  # 0000, 1234, 4321


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a PIN, or None when it can."""
    if not pin.isascii() or not pin.isdigit():
        return PinProblem.NOT_DIGITS
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        return PinProblem.LENGTH
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        return PinProblem.GUESSABLE
    return None


def looks_like_pin(text: str) -> bool:
    """A message that is digits only, of a PIN's length (what counts as a try)."""
    value = text.strip()
    return value.isascii() and value.isdigit() and PIN_MIN <= len(value) <= PIN_MAX


def hash_pin(pin: str) -> str:
    """An argon2id hash of a valid PIN (ValueError for one :func:`pin_problem` refuses)."""
    if pin_problem(pin) is not None:
        raise ValueError("not a valid PIN")
    return _HASHER.hash(pin)


def matches(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` is the one ``pin_hash`` was made of."""
    try:
        return bool(_HASHER.verify(pin_hash, pin))
    except (VerificationError, InvalidHashError):
        return False


def access_of(session: Session, member: Member) -> LedgerAccess:
    """Her ``ledger_access`` row (a fresh, unsaved one when she has none)."""
    assert member.id is not None
    found = session.get(LedgerAccess, member.id)
    if found is None:
        found = LedgerAccess(member_id=member.id, community_id=member.community_id)
    return found


def has_pin(session: Session, member: Member) -> bool:
    return access_of(session, member).pin_hash is not None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def locked_until(session: Session, member: Member, now: datetime) -> datetime | None:
    """Until when her money answers are locked (aware UTC), or None when they are not."""
    until = access_of(session, member).locked_until
    if until is None or _aware(until) <= _aware(now):
        return None
    return _aware(until)


def set_pin(session: Session, member: Member, pin_hash: str, now: datetime) -> None:
    """Keep a new PIN's hash (from :func:`hash_pin`); the wrong tries start from nothing."""
    access = access_of(session, member)
    access.pin_hash = pin_hash
    access.failed_tries = 0
    access.locked_until = None
    access.updated_at = now
    session.add(access)


@dataclass(frozen=True, slots=True)
class PinCheck:
    """What a PIN typed by her came to: ``ok``; else the tries left before the lock, or the
    lock's end (``locked_until``, set when this try locked it or it was locked already)."""

    ok: bool
    tries_left: int = 0
    locked_until: datetime | None = None
    just_locked: bool = False


def check_pin(
    session: Session, member: Member, pin: str, *, now: datetime, channel: str
) -> PinCheck:
    """Verify her PIN: a right one resets the wrong tries; the :data:`MAX_TRIES`-th wrong one
    in a row locks her money answers for :data:`LOCK_MINUTES` minutes and tells the
    treasurers. While locked nothing is verified."""
    access = access_of(session, member)
    until = locked_until(session, member, now)
    if until is not None:
        return PinCheck(ok=False, locked_until=until)
    if access.pin_hash is None:
        return PinCheck(ok=False, tries_left=MAX_TRIES)
    access.updated_at = now
    if matches(access.pin_hash, pin):
        access.failed_tries = 0
        access.locked_until = None
        if _HASHER.check_needs_rehash(access.pin_hash):
            access.pin_hash = _HASHER.hash(pin)
        session.add(access)
        return PinCheck(ok=True)
    access.failed_tries += 1
    if access.failed_tries < MAX_TRIES:
        session.add(access)
        return PinCheck(ok=False, tries_left=MAX_TRIES - access.failed_tries)
    until = _aware(now) + timedelta(minutes=LOCK_MINUTES)
    access.failed_tries = 0
    access.locked_until = until
    session.add(access)
    session.flush()
    told = _tell_treasurers(session, member, until, channel)
    log.info("ledger PIN locked after %d wrong tries; %d treasurers told", MAX_TRIES, told)
    return PinCheck(ok=False, locked_until=until, just_locked=True)


def _tell_treasurers(session: Session, member: Member, until: datetime, channel: str) -> int:
    """The treasurers (the admins when there is none) learn that her PIN locked: her name,
    the channel and the lock's end; never an amount."""
    people = staff(session, member.community_id, (Role.TREASURER,)) or staff(
        session, member.community_id, (Role.ADMIN,)
    )
    for person in people:
        if person.id == member.id:
            continue
        t = Translator(person.language)
        enqueue(
            session,
            key=f"{LOCKED_KIND}:member:{member.id}:{until.isoformat()}:to:{person.id}",
            kind=LOCKED_KIND,
            community_id=member.community_id,
            member_id=person.id,
            text=t(
                "ledger.member.locked_notice",
                name=member.name,
                channel=t(f"ledger.member.channel.{channel}")
                if channel in ("telegram", "whatsapp")
                else channel,
                until=format_datetime(until, t.lang),
            ),
        )
    return len(people)


# --- the monthly statement wish ---


def wants_statement(session: Session, member: Member) -> bool:
    return access_of(session, member).monthly_statement


def set_monthly_statement(session: Session, member: Member, wanted: bool, now: datetime) -> bool:
    """Record her wish; whether it changed."""
    access = access_of(session, member)
    stored = session.get(LedgerAccess, access.member_id) is not None
    if access.monthly_statement == wanted and stored:
        return False
    access.monthly_statement = wanted
    access.updated_at = now
    session.add(access)
    return True


# --- the statement ---


@dataclass(frozen=True, slots=True)
class Statement:
    """One member's month: the entries of ``first``..``last`` (local days, inclusive) and,
    per kind, the balance before ``first`` and after ``last``, as the entries sum."""

    member_id: int
    first: date
    last: date
    opening: dict[str, int]
    closing: dict[str, int]
    entries: tuple[LedgerEntry, ...] = field(default=())

    def shown_kinds(self) -> list[str]:
        """The savings kinds always; a loan's kinds when they are not nothing."""
        return [
            kind
            for kind in LedgerKind.ALL
            if kind in LedgerKind.SAVINGS
            or self.opening[kind]
            or self.closing[kind]
            or any(e.kind == kind for e in self.entries)
        ]


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of the month of ``day``."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def build_statement(session: Session, member_id: int, first: date, last: date) -> Statement:
    """Her statement of the days ``first``..``last``, from the entries alone."""
    before = dict.fromkeys(LedgerKind.ALL, 0)
    rows = session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(col(LedgerEntry.member_id) == member_id, col(LedgerEntry.occurred_on) < first)
        .group_by(col(LedgerEntry.kind))
    ).all()
    for kind, total in rows:
        before[str(kind)] = int(total or 0)
    entries = tuple(
        session.exec(
            select(LedgerEntry)
            .where(
                col(LedgerEntry.member_id) == member_id,
                col(LedgerEntry.occurred_on) >= first,
                col(LedgerEntry.occurred_on) <= last,
            )
            .order_by(col(LedgerEntry.occurred_on), col(LedgerEntry.id))
        ).all()
    )
    after = dict(before)
    for entry in entries:
        after[entry.kind] = after.get(entry.kind, 0) + entry.amount
    return Statement(member_id, first, last, before, after, entries)


# --- words shared by the dialogs and the monthly notice ---


def short_date(day: date, lang: str) -> str:
    """``7 Des 2026``."""
    locale = "en_ID" if lang == "en" else "id_ID"
    return str(babel_format_date(day, "d MMM y", locale=locale))


def month_name(day: date, lang: str) -> str:
    """``Desember 2026``."""
    locale = "en_ID" if lang == "en" else "id_ID"
    return str(babel_format_date(day, "MMMM y", locale=locale))


def kind_word(t: Translator, kind: str) -> str:
    return t(f"ledger.member.kind.{kind}")


def entry_word(t: Translator, entry: LedgerEntry) -> str:
    """What an entry was, in words: "Setoran simpanan wajib", "Koreksi simpanan wajib"."""
    kind = kind_word(t, entry.kind)
    kind = kind[:1].lower() + kind[1:]  # inside a phrase
    if entry.action == EntryAction.REVERSAL:
        return t("ledger.member.action.reversal", kind=kind)
    if entry.action == EntryAction.DEPOSIT:
        return t("ledger.member.action.deposit", kind=kind)
    if entry.action == EntryAction.WITHDRAWAL:
        return t("ledger.member.action.withdrawal", kind=kind)
    if entry.action == EntryAction.LOAN:
        return t("ledger.member.action.loan")
    if entry.action == EntryAction.REPAYMENT and entry.kind == LedgerKind.BUNGA:
        return t("ledger.member.action.interest")
    if entry.action == EntryAction.REPAYMENT:
        return t("ledger.member.action.repayment")
    return kind


def signed(amount: int, lang: str) -> str:
    """``+Rp50.000`` / ``-Rp50.000``."""
    return ("+" if amount > 0 else "-") + format_money(abs(amount), lang)


def entry_line(t: Translator, entry: LedgerEntry) -> str:
    return t(
        "ledger.member.entry_line",
        date=short_date(entry.occurred_on, t.lang),
        amount=signed(entry.amount, t.lang),
        what=entry_word(t, entry),
    )


def statement_text(statement: Statement, member: Member, t: Translator) -> str:
    """The statement as one message."""
    lines = [
        t(
            "ledger.member.statement_header",
            month=month_name(statement.first, t.lang),
            name=member.name,
        ),
        t(
            "ledger.member.statement_period",
            first=short_date(statement.first, t.lang),
            last=short_date(statement.last, t.lang),
        ),
        "",
    ]
    for kind in statement.shown_kinds():
        lines.append(
            t(
                "ledger.member.statement_kind",
                kind=kind_word(t, kind),
                opening=format_money(statement.opening[kind], t.lang),
                closing=format_money(statement.closing[kind], t.lang),
            )
        )
    lines.append("")
    if statement.entries:
        lines.append(t("ledger.member.statement_entries"))
        lines += [entry_line(t, e) for e in statement.entries]
    else:
        lines.append(t("ledger.member.statement_no_entries"))
    return "\n".join(lines)


# --- the monthly notice ---


def statement_key(member_id: int, first: date) -> str:
    return f"{STATEMENT_KIND}:member:{member_id}:{first:%Y-%m}"


def _private(session: Session, member: Member, pin_hash: str | None) -> bool:
    """Whether her figures must not travel in a notice: a PIN guards them, or others read
    her phone."""
    if pin_hash is not None:
        return True
    if member.phone is None:
        return False
    return len(members_on_phone(session, member.community_id, member.phone)) > 1


def plan_statements(session: Session, *, now: datetime, settings: Settings) -> int:
    """Last month's statement to every member who asked for it, on the first
    :data:`STATEMENT_DAYS` days of the month (each once); how many were planned."""
    zone: ZoneInfo = settings.timezone or DEFAULT_ZONE
    today = _aware(now).astimezone(zone).date()
    if today.day > STATEMENT_DAYS:
        return 0
    first, last = month_of(today.replace(day=1) - timedelta(days=1))
    quiet = parse_quiet_hours(settings.wlcc_quiet_hours)
    send_at = outside_quiet_hours(_aware(now), quiet, zone)
    wishing = session.exec(
        select(Member, LedgerAccess.pin_hash)
        .join(LedgerAccess, col(LedgerAccess.member_id) == col(Member.id))
        .where(
            col(LedgerAccess.monthly_statement).is_(True),
            col(Member.status) == MemberStatus.ACTIVE,
            col(Member.opted_out).is_(False),
            col(Member.anonymised_at).is_(None),
        )
        .order_by(col(Member.id))
    ).all()
    by_community: dict[int, list[Planned]] = {}
    for member, pin_hash in wishing:
        assert member.id is not None
        key = statement_key(member.id, first)
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.key == key)).first():
            continue
        by_community.setdefault(member.community_id, []).append(
            _statement_notice(session, member, pin_hash, first, last, key, send_at)
        )
    planned = sum(
        enqueue_many(session, notices, kind=STATEMENT_KIND, community_id=community)
        for community, notices in by_community.items()
    )
    if planned:
        log.info("monthly statements planned: %d", planned)
    return planned


def _statement_notice(
    session: Session,
    member: Member,
    pin_hash: str | None,
    first: date,
    last: date,
    key: str,
    send_at: datetime,
) -> Planned:
    assert member.id is not None
    t = Translator(member.language)
    month = month_name(first, t.lang)
    if _private(session, member, pin_hash):
        text = t("ledger.member.statement_ready", name=first_name(member), month=month)
    else:
        statement = build_statement(session, member.id, first, last)
        text = "\n".join(
            [statement_text(statement, member, t), "", t("ledger.member.statement_monthly_end")]
        )
    return Planned(
        key=key,
        text=text,
        member_id=member.id,
        template_vars={"1": first_name(member), "2": month},
        not_before=send_at,
    )


def unlocked_text(t: Translator, until: datetime, zone: ZoneInfo) -> str:
    """``Senin, 7 Desember 2026 pukul 08.30 WIB``: when she can try again."""
    return format_datetime(until, t.lang, zone)


def purge_statement_files(session: Session, now: datetime) -> int:
    """Forget the statement PDFs made more than :data:`STATEMENT_FILE_RETENTION` ago (their
    public links stop working); how many."""
    cutoff = _aware(now) - STATEMENT_FILE_RETENTION
    old = session.exec(
        select(MediaFile).where(
            MediaFile.source_channel == BOT_SOURCE,
            col(MediaFile.source_ref).contains(f"/{STATEMENT_FILE_PREFIX}"),
            col(MediaFile.created_at) < cutoff,
        )
    ).all()
    for media in old:
        session.delete(media)
    return len(old)
