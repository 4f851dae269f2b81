"""The staff console's logins and sessions: one-time codes, passwords, sessions, attempts.

Staff (coordinators, the treasurer, protection officers, admins: ``console.login`` in
storage/permissions.py) log in with their phone number and either a one-time code the bot sends
to their linked chat through the outbox, or a password an admin set (``wlcc console password``).
Only hashes are kept: the code and the password as argon2id (argon2-cffi), the session token as
SHA-256 (it is random and long, so a fast hash is enough and a lookup stays one index probe).

A session lives in the database, so that logging out ends it everywhere, a second app instance
knows it and a cookie from another instance (another database) is simply unknown. Each session
carries its own CSRF token. Attempts are counted per phone and per client address in
``console_attempt``; too many failures in :data:`ATTEMPT_WINDOW` lock that phone or address out
until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import Member, MemberStatus
from storage.outbox import aware
from storage.permissions import can
from wlcc.formatting import utcnow

CODE_KIND = "console_code"  # outbox kind of the one-time code (its WhatsApp template key)
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5  # wrong guesses before a code is spent
SESSION_LIFETIME = timedelta(hours=12)  # from the login, however active
SESSION_IDLE = timedelta(hours=2)  # without a request
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PHONE = 5
MAX_FAILURES_PER_CLIENT = 20
MIN_PASSWORD = 10
MAX_PASSWORD = 200

_HASHER = PasswordHasher()


class ConsoleCode(SQLModel, table=True):
    """A one-time login code (only its hash)."""

    __tablename__ = "console_code"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    code_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    tries: int = 0
    used_at: datetime | None = None


class ConsolePassword(SQLModel, table=True):
    """A staff member's console password (only its hash), set by an admin."""

    __tablename__ = "console_password"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    password_hash: str = Field(max_length=200)
    set_at: datetime = Field(default_factory=utcnow)


class ConsoleSession(SQLModel, table=True):
    """A logged-in browser: the SHA-256 of its cookie, its CSRF token, its expiry."""

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)  # her community with her
    csrf_token: str = Field(max_length=64)
    method: str = Field(max_length=16)  # "code" or "password"
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    ended_at: datetime | None = None


class ConsoleAttempt(SQLModel, table=True):
    """One login attempt, for the rate limit (kept for :data:`ATTEMPT_WINDOW`)."""

    __tablename__ = "console_attempt"

    id: int | None = Field(default=None, primary_key=True)
    phone: str | None = Field(default=None, max_length=20, index=True)
    client: str | None = Field(default=None, max_length=64, index=True)
    ok: bool = False
    created_at: datetime = Field(default_factory=utcnow, index=True)


@dataclass(frozen=True)
class ActiveSession:
    id: int
    member: Member
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_staff(member: Member) -> bool:
    return member.status == MemberStatus.ACTIVE and can(member.role, "console.login")


def staff_on_phone(session: Session, phone: str) -> list[Member]:
    """The active staff members with this phone (E.164), in any community."""
    rows = session.exec(
        select(Member).where(Member.phone == phone, Member.status == MemberStatus.ACTIVE)
    ).all()
    return [m for m in rows if is_staff(m)]


# --- rate limit ---------------------------------------------------------------------------


def locked_out(session: Session, *, phone: str | None, client: str | None, now: datetime) -> bool:
    """True when this phone or this client address failed too often lately."""
    since = now - ATTEMPT_WINDOW
    failures = select(func.count()).select_from(ConsoleAttempt)
    failures = failures.where(col(ConsoleAttempt.ok).is_(False), ConsoleAttempt.created_at >= since)
    if phone is not None:
        count = session.exec(failures.where(ConsoleAttempt.phone == phone)).one()
        if count >= MAX_FAILURES_PER_PHONE:
            return True
    if client is not None:
        count = session.exec(failures.where(ConsoleAttempt.client == client)).one()
        if count >= MAX_FAILURES_PER_CLIENT:
            return True
    return False


def record_attempt(
    session: Session, *, phone: str | None, client: str | None, ok: bool, now: datetime
) -> None:
    session.add(ConsoleAttempt(phone=phone, client=client, ok=ok, created_at=now))
    if ok and phone is not None:
        # A successful login clears that phone's failures (not the address's).
        session.exec(
            delete(ConsoleAttempt).where(
                col(ConsoleAttempt.phone) == phone, col(ConsoleAttempt.ok).is_(False)
            )
        )


# --- one-time codes -----------------------------------------------------------------------


def new_code(session: Session, member: Member, now: datetime) -> str:
    """A fresh code for ``member``; the codes she was sent before stop working."""
    assert member.id is not None
    for old in session.exec(
        select(ConsoleCode).where(
            ConsoleCode.member_id == member.id, col(ConsoleCode.used_at).is_(None)
        )
    ):
        old.used_at = now
        session.add(old)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    session.add(
        ConsoleCode(
            member_id=member.id,
            code_hash=_HASHER.hash(code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code


def use_code(session: Session, members: list[Member], code: str, now: datetime) -> Member | None:
    """The member whose live code this is (the code is spent), else None (a try is counted)."""
    code = "".join(code.split())
    ids = [m.id for m in members if m.id is not None]
    if not ids:
        return None
    live = session.exec(
        select(ConsoleCode)
        .where(col(ConsoleCode.member_id).in_(ids), col(ConsoleCode.used_at).is_(None))
        .order_by(col(ConsoleCode.id).desc())
    ).all()
    for row in live:
        if aware(row.expires_at) <= now or row.tries >= CODE_TRIES:
            continue
        if code.isdigit() and len(code) == CODE_DIGITS and _matches(row.code_hash, code):
            row.used_at = now
            session.add(row)
            return next(m for m in members if m.id == row.member_id)
    for row in live:
        row.tries += 1
        session.add(row)
    return None


# --- passwords ----------------------------------------------------------------------------


def password_problem(password: str) -> str | None:
    """Why a password is refused (a catalog key), or None."""
    if len(password) < MIN_PASSWORD:
        return "console.password.too_short"
    if len(password) > MAX_PASSWORD:
        return "console.password.too_long"
    if len(set(password)) < 4:
        return "console.password.too_simple"
    return None


def set_password(session: Session, member: Member, password: str, now: datetime) -> None:
    assert member.id is not None
    if (problem := password_problem(password)) is not None:
        raise ValueError(problem)
    row = session.get(ConsolePassword, member.id)
    if row is None:
        row = ConsolePassword(member_id=member.id, password_hash="")
    row.password_hash = _HASHER.hash(password)
    row.set_at = now
    session.add(row)


def check_password(session: Session, members: list[Member], password: str) -> Member | None:
    for member in members:
        row = session.get(ConsolePassword, member.id)
        if row is not None and _matches(row.password_hash, password):
            return member
    return None


def _matches(hashed: str, secret: str) -> bool:
    try:
        return _HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


# --- sessions -----------------------------------------------------------------------------


def open_session(session: Session, member: Member, method: str, now: datetime) -> str:
    """A new session for ``member``; returns the cookie's value (kept nowhere but the cookie)."""
    assert member.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=token_hash(token),
            member_id=member.id,
            csrf_token=secrets.token_urlsafe(32),
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


def find_session(session: Session, token: str, now: datetime) -> ActiveSession | None:
    """The live session of a cookie, its idle clock reset; None when unknown, ended or expired,
    or when its member is no longer active staff."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.ended_at is not None or row.id is None:
        return None
    if aware(row.expires_at) <= now or aware(row.last_seen_at) + SESSION_IDLE <= now:
        return None
    member = session.get(Member, row.member_id)
    if member is None or not is_staff(member):
        return None
    if now - aware(row.last_seen_at) > timedelta(minutes=1):  # one write a minute at most
        row.last_seen_at = now
        session.add(row)
    return ActiveSession(row.id, member, row.csrf_token, aware(row.expires_at))


def end_session(session: Session, session_id: int, now: datetime) -> None:
    row = session.get(ConsoleSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def purge_console(session: Session, now: datetime | None = None) -> int:
    """Forget ended or expired sessions, spent codes and old attempts; returns rows removed."""
    now = now or utcnow()
    removed = 0
    for stmt in (
        delete(ConsoleSession).where(
            or_(col(ConsoleSession.expires_at) <= now, col(ConsoleSession.ended_at).is_not(None))
        ),
        delete(ConsoleCode).where(
            or_(col(ConsoleCode.expires_at) <= now, col(ConsoleCode.used_at).is_not(None))
        ),
        delete(ConsoleAttempt).where(col(ConsoleAttempt.created_at) < now - ATTEMPT_WINDOW),
    ):
        result = session.exec(stmt)
        removed += int(result.rowcount or 0)
    return removed
