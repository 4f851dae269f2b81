"""Delivery reports, the sender in the app, two senders at once, and a sender killed mid-way."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from storage.db import Database
from storage.models import Identity, OutboxMessage, OutboxStatus
from storage.outbox import Outcome, Reason, apply_delivery_status, record
from tests.conftest import TWILIO_AUTH_TOKEN
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.webhooks import WhatsAppWebhook, running_app
from tests.outbox_support import (
    FAST,
    FakeClock,
    add_member,
    add_notice,
    claim_due,
    drain,
    phone,
    plan_notices,
    row,
    rows,
    run_sender,
    worker_env,
)
from wlcc.formatting import utcnow


def whatsapp_rows(db: Database, count: int) -> list[str]:
    return plan_notices(db, count, on="whatsapp")


def status_form(sid: str, state: str, error: str | None = None) -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": state,
        "SmsStatus": state,
        "AccountSid": "AC" + "0123456789abcdef" * 2,
        "From": "whatsapp:+14155238886",
        "To": f"whatsapp:{phone(0)}",
        "ApiVersion": "2010-04-01",
    }
    if error:
        form["ErrorCode"] = error
    return form


def mark_sent(db: Database, key: str, sid: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.key) == key)
            .values(status="sent", platform_message_id=sid, channel="whatsapp", address=phone(0))
        )


# --- delivery reports ---

ORDERS = [
    (["sent", "delivered", "read"], "read"),
    (["read", "delivered", "sent"], "read"),
    (["delivered", "sent"], "delivered"),
    (["queued", "sent"], "sent"),
    (["sent", "failed"], "failed"),
    (["failed", "sent", "delivered"], "failed"),
    (["delivered", "undelivered"], "delivered"),
]


@pytest.mark.parametrize("states, final", ORDERS, ids=["-".join(s) for s, _ in ORDERS])
def test_status_callbacks_in_any_order_never_go_backwards(
    db: Database, make_settings, fake_twilio: FakeTwilio, states: list[str], final: str
) -> None:
    settings = make_settings(wlcc_sender_enabled=False)
    [key] = whatsapp_rows(db, 1)
    drain(db, settings, **FAST)
    sent = row(db, key)
    assert sent.platform_message_id is not None
    with running_app(settings) as client:
        hook = WhatsAppWebhook(client, settings)
        path = f"/webhooks/whatsapp/status?outbox={sent.id}"
        for state in states:
            response = hook.post(
                status_form(
                    sent.platform_message_id,
                    state,
                    "30008" if state in ("failed", "undelivered") else None,
                ),
                path=path,
            )
            assert response.status_code == 204
    assert row(db, key).status == final


def test_all_permutations_of_three_reports_end_at_read(db: Database) -> None:
    with db.transaction() as session:
        member = add_member(session, "A", phone(1), whatsapp=True)
        for n in range(6):
            add_notice(session, f"k{n}", "x", member_id=member.id)
    for n, order in enumerate(itertools.permutations(["sent", "delivered", "read"])):
        mark_sent(db, f"k{n}", f"SM{n:032d}")
        for state in order:
            with db.transaction() as session:
                apply_delivery_status(session, sid=f"SM{n:032d}", status=state)
        assert row(db, f"k{n}").status == "read", order


def test_a_report_by_message_id_alone_and_unknown_ids(db: Database) -> None:
    [_key] = whatsapp_rows(db, 1)
    with db.transaction() as session:
        assert not apply_delivery_status(session, sid="SMunknown", status="delivered")
        assert not apply_delivery_status(session, sid="SMunknown", status="bogus")


def test_a_report_before_the_sender_recorded_the_send(db: Database) -> None:
    """Twilio can report faster than the sender writes its outcome: the row id in the callback
    URL finds the row, and the sender's later 'sent' does not undo 'delivered'."""
    [key] = whatsapp_rows(db, 1)
    now = utcnow()
    [job] = claim_due(db, "whatsapp", now, lease=60, limit=5)
    with db.transaction() as session:
        assert apply_delivery_status(session, sid="SMx", status="delivered", row_id=job.id)
    with db.transaction() as session:
        record(
            session,
            [
                Outcome(
                    job.id,
                    job.lease,
                    OutboxStatus.SENT,
                    channel="whatsapp",
                    address=phone(0),
                    platform_message_id="SMx",
                )
            ],
            now=now,
        )
    done = row(db, key)
    assert (done.status, done.platform_message_id) == ("delivered", "SMx")


@pytest.mark.parametrize(
    "code, reason, unreachable",
    [
        ("63016", Reason.WINDOW, False),
        ("21610", Reason.UNREACHABLE, True),
        ("30008", Reason.REJECTED, False),
    ],
)
def test_a_failure_report_records_why(
    db: Database, code: str, reason: str, unreachable: bool
) -> None:
    [key] = whatsapp_rows(db, 1)
    mark_sent(db, key, "SMf")
    with db.transaction() as session:
        assert apply_delivery_status(session, sid="SMf", status="undelivered", error_code=code)
    failed = row(db, key)
    assert (failed.status, failed.reason) == ("failed", reason)
    assert code in (failed.last_error or "")
    with db.transaction() as session:
        assert session.exec(select(Identity)).one().unreachable is unreachable


def test_status_callback_without_a_valid_signature_changes_nothing(
    db: Database, make_settings, fake_twilio: FakeTwilio
) -> None:
    settings = make_settings(wlcc_sender_enabled=False)
    [key] = whatsapp_rows(db, 1)
    drain(db, settings, **FAST)
    sent = row(db, key)
    with running_app(settings) as client:
        hook = WhatsAppWebhook(client, settings)
        response = hook.post(
            status_form(sent.platform_message_id or "", "read"),
            path=f"/webhooks/whatsapp/status?outbox={sent.id}",
            signature="forged",
        )
        assert response.status_code == 403
    assert row(db, key).status == "sent"
    assert TWILIO_AUTH_TOKEN  # the signing key the fixture uses


# --- the sender in the app ---


def test_the_app_runs_the_sender_and_stops_it_cleanly(
    db: Database, make_settings, fake_telegram: FakeTelegram
) -> None:
    settings = make_settings(
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_telegram_chat_rate_per_second=0,
    )
    started = time.monotonic()
    with running_app(settings) as client:
        with db.transaction() as session:
            member = add_member(session, "Siti", phone(1), telegram="5001")
            add_notice(session, "k1", "dari latar belakang", member_id=member.id)
        [call] = fake_telegram.wait_for("sendMessage", timeout=5)
        assert call.text == "dari latar belakang"
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 5
        while row(db, "k1").status != "sent" and time.monotonic() < deadline:
            time.sleep(0.02)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3  # shutdown does not hang on the sender
    assert row(db, "k1").status == "sent"
    assert time.monotonic() - started < 15


def test_the_app_without_the_sender_leaves_the_outbox_alone(
    db: Database, make_settings, fake_telegram: FakeTelegram
) -> None:
    settings = make_settings(wlcc_sender_enabled=False)
    with db.transaction() as session:
        member = add_member(session, "Siti", phone(1), telegram="5001")
        add_notice(session, "k1", "x", member_id=member.id)
    with running_app(settings):
        time.sleep(0.3)
    assert fake_telegram.calls() == [] and row(db, "k1").status == "pending"


# --- several senders ---


def test_two_senders_never_send_a_row_twice(
    database_url: str, make_settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    """Two senders with their own engines drain one outbox at once (SKIP LOCKED on PostgreSQL,
    the write lock on SQLite): every message arrives exactly once."""
    settings = make_settings()
    setup = Database(database_url)
    count = 240
    plan_notices(setup, count, on="both", telegram_base=9000)
    one, two = Database(database_url), Database(database_url)

    async def both() -> tuple[int, int]:
        a, b = await asyncio.gather(
            run_sender(one, settings, name="a", batch_size=20, **FAST),
            run_sender(two, settings, name="b", batch_size=20, **FAST),
        )
        return a.stats.sent, b.stats.sent

    try:
        sent_a, sent_b = asyncio.run(both())
    finally:
        one.dispose()
        two.dispose()
    texts = Counter(fake_telegram.texts() + fake_twilio.bodies())
    assert texts == Counter(f"pesan {i}" for i in range(count))  # each exactly once
    assert sent_a + sent_b == count
    assert sent_a > 0 and sent_b > 0  # both did part of the work
    assert {r.status for r in rows(setup)} == {"sent"}
    setup.dispose()


# --- a crash mid-way ---


def test_a_sender_killed_mid_broadcast_loses_nothing(
    db: Database, settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, tmp_path
) -> None:
    """``wlcc worker`` is SIGKILLed half-way; a new sender sends the rest once the lease has
    ended. Duplicates are at most the messages that were in flight at the kill."""
    count = 120
    plan_notices(db, count, on="both", telegram_base=9000)
    fake_telegram.delay = fake_twilio.delay = 0.03  # requests stay in flight for a while
    lease = 5
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        env=worker_env(
            settings,
            WLCC_OUTBOX_LEASE_SECONDS=str(lease),
            WLCC_TELEGRAM_RATE_PER_SECOND="40",
            WLCC_WHATSAPP_RATE_PER_SECOND="40",
        ),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while len(fake_telegram.sent()) + len(fake_twilio.messages()) < count // 3:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the worker did not get going"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.2)  # requests the dead worker had sent are answered by now
    in_flight = len(rows(db, status="sending"))
    delivered_before = len(fake_telegram.sent()) + len(fake_twilio.messages())
    assert 0 < delivered_before < count
    assert in_flight > 0  # it died holding leased rows
    fake_telegram.delay = fake_twilio.delay = 0.0
    # A new sender, once the dead one's lease has ended (virtual time: no waiting).
    clock = FakeClock(start=utcnow() + timedelta(seconds=lease + 1))
    drain(db, settings, clock=clock, **FAST, poll=3600.0)
    texts = Counter(fake_telegram.texts() + fake_twilio.bodies())
    assert set(texts) == {f"pesan {i}" for i in range(count)}  # nothing lost
    duplicates = sum(n - 1 for n in texts.values())
    assert duplicates <= in_flight
    assert {r.status for r in rows(db)} == {"sent"}


def test_sender_heartbeats(db: Database) -> None:
    from storage.outbox import active_workers, forget_worker, heartbeat

    now = utcnow()
    with db.transaction() as session:
        heartbeat(session, "old", now - timedelta(days=2), started=True)
        heartbeat(session, "a", now, started=True)  # a new sender forgets the long-gone one
        heartbeat(session, "b", now - timedelta(minutes=5))
    with db.transaction() as session:
        assert active_workers(session, now, timedelta(seconds=30)) == ["a"]
        assert sorted(active_workers(session, now, timedelta(hours=1))) == ["a", "b"]
        forget_worker(session, "a")
    with db.transaction() as session:
        assert active_workers(session, now, timedelta(days=7)) == ["b"]
