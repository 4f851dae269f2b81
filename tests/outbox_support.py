"""Helpers for the outbox, sender and broadcast tests: people, a virtual clock, a sender run."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.sender import OutboxSender, build_sender
from bot.telegram import TelegramChannel
from bot.whatsapp import WhatsAppChannel
from storage.db import Database
from storage.models import Identity, Member, MemberStatus, OutboxMessage
from storage.outbox import Job, Routing, claim, enqueue
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Media, Outbound
from wlcc.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMMUNITY = 1  # the default community every migrated test database has

# Rates for tests that are not about rates: limits lifted, so nothing waits.
FAST: dict[str, Any] = {
    "telegram_rate": 0.0,
    "telegram_chat_rate": 0.0,
    "whatsapp_rate": 0.0,
    "simulator_rate": 0.0,
}


class FakeClock:
    """Virtual time for the sender: ``sleep`` returns at once and moves the clock on.

    Coarse on purpose: tasks sleeping at the same time move the clock to the latest of their
    wake-ups. Good for backoffs, pauses and leases (one flow at a time); rates are measured in
    real time at the fakes instead.
    """

    def __init__(self, start: datetime | None = None, *, real_pause: float = 0.0) -> None:
        self.start = start or utcnow()
        self.t = 0.0
        self.sleeps: list[float] = []
        # Real seconds each sleep also takes, so that answers of the (real) fake servers arrive
        # between virtual moments, as they would in real time.
        self.real_pause = real_pause

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        target = self.t + max(0.0, seconds)
        await asyncio.sleep(self.real_pause if seconds > 0 else 0)
        self.t = max(self.t, target)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def add_member(
    session: Session,
    name: str,
    phone: str | None,
    *,
    kelurahan: str | None = None,
    role: str = "member",
    language: str | None = None,
    opted_out: bool = False,
    status: str = MemberStatus.ACTIVE,
    telegram: str | None = None,
    whatsapp: bool = False,
    last_whatsapp: timedelta | None = timedelta(minutes=5),
    preference: str | None = None,
) -> Member:
    """A member, linked on Telegram (``telegram`` = chat id) and/or WhatsApp (``whatsapp``:
    an identity that last wrote ``last_whatsapp`` ago; None = never)."""
    member = Member(
        community_id=COMMUNITY,
        name=name,
        name_key=name.casefold(),
        phone=phone,
        kelurahan=kelurahan,
        role=role,
        language=language,
        opted_out=opted_out,
        status=status,
        channel_preference=preference,
        consent_at=utcnow(),
        consent_asked_at=utcnow(),
    )
    session.add(member)
    session.flush()
    if telegram is not None:
        session.add(
            Identity(
                community_id=COMMUNITY,
                channel="telegram",
                address=telegram,
                phone=phone,
                language=language,
                last_inbound_at=utcnow() - timedelta(days=3),
            )
        )
    if whatsapp and phone:
        session.add(
            Identity(
                community_id=COMMUNITY,
                channel="whatsapp",
                address=phone,
                phone=phone,
                language=language,
                last_inbound_at=None if last_whatsapp is None else utcnow() - last_whatsapp,
            )
        )
    session.flush()
    return member


def add_notice(
    session: Session,
    key: str,
    text: str = "x",
    *,
    member_id: int | None = None,
    identity_id: int | None = None,
) -> int | None:
    """A plain notice in the test community's outbox, to a member or one chat."""
    return enqueue(
        session,
        key=key,
        kind="notice",
        community_id=COMMUNITY,
        member_id=member_id,
        identity_id=identity_id,
        text=text,
    )


def plan_notices(db: Database, count: int, *, on: str, telegram_base: int = 9000) -> list[str]:
    """Members M0... each with one notice "pesan <i>" (key "k<i>"); returns the keys. ``on``:
    "telegram" (chat ``telegram_base + i``), "whatsapp", or "both" (odd ones on Telegram, even
    ones on WhatsApp)."""
    keys = []
    with db.transaction() as session:
        for i in range(count):
            telegram = on == "telegram" or (on == "both" and i % 2 == 1)
            member = add_member(
                session,
                f"M{i}",
                phone(i),
                telegram=str(telegram_base + i) if telegram else None,
                whatsapp=not telegram,
            )
            add_notice(session, f"k{i}", f"pesan {i}", member_id=member.id)
            keys.append(f"k{i}")
    return keys


def claim_due(
    db: Database, channel: str, now: datetime, lease: float, limit: int = 10
) -> list[Job]:
    """Claim the rows due on ``channel`` as a sender would (SKIP LOCKED on PostgreSQL)."""
    with db.transaction() as session:
        jobs, _ = claim(
            session,
            now=now,
            limit=limit,
            lease=timedelta(seconds=lease),
            routing=Routing(channels=frozenset({channel})),
            postgres=not db.is_sqlite,
        )
    return jobs


def phone(n: int) -> str:
    """A valid Indonesian mobile number, different for each ``n``."""
    return f"+62812{n:08d}"


def rows(db: Database, **where: Any) -> list[OutboxMessage]:
    with db.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query))


def row(db: Database, key: str) -> OutboxMessage:
    found = rows(db, key=key)
    assert found, f"no outbox row {key}"
    return found[0]


async def run_sender(
    db: Database,
    settings: Settings,
    *,
    clock: FakeClock | None = None,
    telegram: bool = True,
    whatsapp: bool = True,
    seed: int = 1,
    name: str | None = None,
    **overrides: Any,
) -> OutboxSender:
    """Start the channels (against the fakes), drain the outbox, close them."""
    tg = TelegramChannel(settings) if telegram and settings.telegram_enabled else None
    wa = WhatsAppChannel(settings) if whatsapp and settings.whatsapp_enabled else None
    for channel in (tg, wa):
        if channel is not None:
            await channel.start()
    sender = build_sender(
        db,
        settings,
        telegram=tg,
        whatsapp=wa,
        clock=clock,
        rng=random.Random(seed),
        name=name,
        **overrides,
    )
    try:
        await sender.drain()
    finally:
        for channel in (tg, wa):
            if channel is not None:
                await channel.close()
    return sender


def drain(db: Database, settings: Settings, **kwargs: Any) -> OutboxSender:
    return asyncio.run(run_sender(db, settings, **kwargs))


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most requests seen in any sliding window of ``window`` seconds."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def start_of(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Chat:
    """One person writing to the router, on one channel (like a phone)."""

    _ids = itertools.count(1)

    def __init__(self, router: Any, channel: str, address: str, phone: str | None = None) -> None:
        self.router = router
        self.channel = channel
        self.address = address
        self.phone = phone if channel != "telegram" else None

    def send(
        self, text: str = "", *, payload: str | None = None, media: tuple[Media, ...] = ()
    ) -> list[Outbound]:
        n = next(self._ids)
        inbound = Inbound(
            channel=self.channel,
            address=self.address,
            sender_id=self.address,
            platform_id=f"test-{n}" if self.channel != "telegram" else str(900000 + n),
            received_at=utcnow(),
            text=text,
            payload=payload,
            media=media,
            sender_name="Rina",
            phone=self.phone,
        )
        replies = self.router.handle(inbound)
        assert replies is not None
        return list(replies)

    def texts(self, *args: Any, **kwargs: Any) -> list[str]:
        return [reply.text for reply in self.send(*args, **kwargs)]


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment for a ``wlcc worker`` subprocess: the test's settings (nothing of the
    caller's own), plus ``extra`` (e.g. ``WLCC_INBOX_WORKER="true"``)."""
    assert settings.telegram_bot_token and settings.telegram_webhook_secret
    assert settings.twilio_auth_token and settings.twilio_account_sid
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(
            ("TELEGRAM_", "TWILIO_", "WLCC_", "DATABASE_URL", "PUBLIC_BASE_URL")
        )
    }
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token.get_secret_value(),
            "TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret.get_secret_value(),
            "TELEGRAM_API_BASE_URL": settings.telegram_api_base_url,
            "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": settings.twilio_auth_token.get_secret_value(),
            "TWILIO_WHATSAPP_FROM": settings.twilio_whatsapp_from or "",
            "TWILIO_API_BASE_URL": settings.twilio_api_base_url,
            "PUBLIC_BASE_URL": settings.public_base_url or "",
            "WLCC_OUTBOX_POLL_SECONDS": "0.1",
            "WLCC_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env
