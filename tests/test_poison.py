"""A message that cannot be answered harms nothing: it is tried a few times, then set aside with
its error (``wlcc inbox failed`` lists it, ``/healthz`` counts it), and neither its chat nor the
next start is held up by it; one message the database cannot store does not fail the webhooks
recorded with it."""

from __future__ import annotations

import asyncio
import itertools
import os

from sqlmodel import select

from handlers.dispatch import Dispatcher
from handlers.router import Router, RouterConfig
from storage.db import Database
from storage.inbound import (
    NewInbound,
    count_failed,
    failed_messages,
    note_failure,
    record_many,
    retry_failed,
)
from storage.models import InboundMessage
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Outbound, SendReport, inbound_to_dict

_ids = itertools.count()


def message(text: str, phone: str, *, name: str | None = None) -> Inbound:
    return Inbound(
        channel="whatsapp",
        address=phone,
        sender_id=phone,
        platform_id=f"poison-{os.getpid()}-{next(_ids)}",
        received_at=utcnow(),
        text=text,
        phone=phone,
        sender_name=name,
    )


def record(db: Database, *messages: Inbound) -> None:
    """As an earlier version recorded them, before the webhooks cleaned what they keep."""
    with db.transaction() as session:
        items = [
            NewInbound(m.channel, m.platform_id, m.kind, m.received_at, inbound_to_dict(m))
            for m in messages
        ]
        assert all(record_many(session, items))


# A name the database cannot hold (a lone surrogate is no UTF-8): every turn fails on it.
POISON = "Siti \ud800"


def run(db: Database, sent: list[tuple[str, str]]) -> None:
    async def send(
        inbound: Inbound, replies: list[Outbound], until: float | None = None
    ) -> SendReport:
        sent.extend((inbound.address, r.text) for r in replies)
        return SendReport(len(replies))

    async def main() -> None:
        dispatcher = Dispatcher(Router(db, RouterConfig(answer_attempts=3)))
        dispatcher.retry_delays = (0.01, 0.02)
        await dispatcher.start({"whatsapp": send})
        await asyncio.wait_for(dispatcher.idle(), 30)
        await dispatcher.stop()

    asyncio.run(main())


def test_a_message_that_always_fails_is_set_aside_and_harms_nothing(db: Database) -> None:
    bad = message("halo", "+6281230000001", name=POISON)
    after_it = message("MENU", "+6281230000001")  # the same chat, right after
    neighbour = message("MENU", "+6281230000002")
    record(db, bad, after_it, neighbour)
    sent: list[tuple[str, str]] = []

    run(db, sent)

    assert sorted(address for address, _ in sent) == ["+6281230000001", "+6281230000002"]
    with db.transaction() as session:
        [failed] = failed_messages(session)
        assert failed.platform_id == bad.platform_id
        assert failed.attempts == 3 and failed.failed_at is not None
        assert failed.error and "Error" in failed.error
        assert count_failed(session) == 1
    run(db, sent)  # the next start does not try it again
    assert len(sent) == 2

    with db.transaction() as session:  # an operator can put it back once the bug is fixed
        assert retry_failed(session, failed.id) == 1
        row = session.exec(select(InboundMessage).where(InboundMessage.id == failed.id)).one()
        assert row.failed_at is None and row.attempts == 0
        assert count_failed(session) == 0


def test_a_coordinator_sees_what_was_set_aside_and_can_put_it_back(
    db: Database, database_url: str, client, tmp_path
) -> None:
    from tests.test_cli import run

    bad = message("halo", "+6281230000003", name=POISON)
    record(db, bad)
    with db.transaction() as session:
        [row] = session.exec(select(InboundMessage)).all()
        assert row.id is not None
        for _ in range(3):
            note_failure(
                session, row.id, "UnicodeEncodeError: surrogates", now=utcnow(), attempts=3
            )

    assert client.get("/healthz").json()["inbox_failed"] == 1
    listed = run(tmp_path, "inbox", "failed", DATABASE_URL=database_url)
    assert listed.returncode == 0, listed.stderr
    assert "UnicodeEncodeError" in listed.stdout and "1 message(s) set aside" in listed.stdout
    assert "halo" not in listed.stdout  # what people wrote is not shown

    wrong = run(tmp_path, "inbox", "retry", "999", DATABASE_URL=database_url)
    assert wrong.returncode == 1 and "999" in wrong.stderr
    again = run(tmp_path, "inbox", "retry", str(row.id), DATABASE_URL=database_url)
    assert again.returncode == 0 and "1 message(s) put back" in again.stdout
    assert client.get("/healthz").json()["inbox_failed"] == 0
    assert (
        "No message is set aside"
        in run(tmp_path, "inbox", "failed", DATABASE_URL=database_url).stdout
    )
