"""The nightly housekeeping job forgets what is no longer needed, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from scheduler import build_scheduler, housekeeping
from storage.identities import default_community, touch_identity
from storage.inbound import claim_for_processing, note_failure, record_inbound
from storage.media import bot_file
from storage.models import (
    Broadcast,
    BroadcastStatus,
    Conversation,
    InboundMessage,
    MediaFile,
    OutboxMessage,
    OutboxStatus,
)
from storage.outbox import enqueue
from wlcc.formatting import utcnow

DAY = timedelta(days=1)


def test_housekeeping_forgets_old_records_and_keeps_what_is_still_needed(db, settings):
    now = utcnow()
    with db.transaction() as session:
        community_id = default_community(session).id
        identity = touch_identity(session, channel="telegram", address="5001", now=now)
        assert community_id is not None and identity.id is not None

        def inbound(name: str, age: timedelta, processed: bool, set_aside: bool = False) -> None:
            inbound_id = record_inbound(
                session, channel="telegram", platform_id=name, kind="text", received_at=now - age
            )
            assert inbound_id is not None and identity.id is not None
            if processed:
                claim_for_processing(session, inbound_id, identity.id)
            if set_aside:
                note_failure(session, inbound_id, "boom", now=now, attempts=1)

        inbound("old-answered", 91 * DAY, processed=True)
        inbound("old-unanswered", 91 * DAY, processed=False)  # still to be answered: kept
        inbound("recent", 10 * DAY, processed=True)
        inbound("old-set-aside", 91 * DAY, processed=False, set_aside=True)  # failed: forgotten
        inbound("recent-set-aside", 10 * DAY, processed=False, set_aside=True)

        session.add(Conversation(key="idle", data={}, choices=[], updated_at=now - 31 * DAY))
        session.add(Conversation(key="recent", data={}, choices=[], updated_at=now - DAY))

        sending = Broadcast(community_id=community_id, text="x", status=BroadcastStatus.SENDING)
        done = Broadcast(community_id=community_id, text="y", status=BroadcastStatus.DONE)
        session.add_all([sending, done])
        session.flush()

        def outbox(
            key: str,
            status: str,
            age: timedelta,
            broadcast: Broadcast | None = None,
            kind: str = "approval_request",
        ):
            enqueue(
                session,
                key=key,
                kind="broadcast" if broadcast else kind,
                community_id=community_id,
                identity_id=identity.id,
                text=key,
                broadcast_id=broadcast.id if broadcast else None,
            )
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key)  # type: ignore[arg-type]
                .values(status=status, updated_at=now - age)
            )

        outbox("old-sent", OutboxStatus.SENT, 181 * DAY)
        outbox("old-failed-of-a-finished-broadcast", OutboxStatus.FAILED, 181 * DAY, done)
        outbox("old-skipped", OutboxStatus.SKIPPED, 200 * DAY)
        outbox("old-pending", OutboxStatus.PENDING, 181 * DAY)  # not sent yet: kept
        outbox("old-of-a-broadcast-still-sending", OutboxStatus.SENT, 181 * DAY, sending)
        outbox("recent-delivered", OutboxStatus.DELIVERED, 179 * DAY)
        # Replies to a person's own messages are kept a day only once delivered.
        outbox("reply-of-two-days-ago", OutboxStatus.SENT, 2 * DAY, kind="reply")
        outbox("reply-of-this-morning", OutboxStatus.SENT, DAY / 4, kind="reply")
        outbox("reply-still-to-retry", OutboxStatus.PENDING, 2 * DAY, kind="reply")

    removed = housekeeping(db, settings)

    assert removed == {
        "inbound": 2,
        "conversations": 1,
        "outbox": 4,
        "statements": 0,
        "help_requests": 0,
        "console": 0,
    }
    with db.transaction() as session:
        assert sorted(session.exec(select(InboundMessage.platform_id))) == [
            "old-unanswered",
            "recent",
            "recent-set-aside",
        ]
        assert list(session.exec(select(Conversation.key))) == ["recent"]
        assert sorted(session.exec(select(OutboxMessage.key))) == [
            "old-of-a-broadcast-still-sending",
            "old-pending",
            "recent-delivered",
            "reply-of-this-morning",
            "reply-still-to-retry",
        ]
    assert housekeeping(db, settings) == {
        "inbound": 0,
        "conversations": 0,
        "outbox": 0,
        "statements": 0,
        "help_requests": 0,
        "console": 0,
    }


def test_housekeeping_forgets_statement_pdfs_after_two_days(db, settings):
    """A statement's PDF carries her figures under a public link: gone once delivered; a
    meeting's calendar file stays."""
    now = utcnow()
    with db.transaction() as session:
        community_id = default_community(session).id
        assert community_id is not None

        def made(name: str, data: bytes, age: timedelta) -> None:
            bot_file(
                session,
                community_id=community_id,
                name=name,
                data=data,
                content_type="application/pdf",
                now=now - age,
            )

        made("statemen-wlcc-2026-11.pdf", b"%PDF-old", 3 * DAY)
        made("statemen-wlcc-2026-12.pdf", b"%PDF-new", DAY)
        made("wlcc-pertemuan-2026-12-12.ics", b"BEGIN:VCALENDAR", 30 * DAY)
    assert housekeeping(db, settings)["statements"] == 1
    with db.transaction() as session:
        names = sorted(m.source_ref.rsplit("/", 1)[1] for m in session.exec(select(MediaFile)))
    assert names == ["statemen-wlcc-2026-12.pdf", "wlcc-pertemuan-2026-12-12.ics"]


def test_housekeeping_runs_every_night(db, settings):
    scheduler = build_scheduler(db, settings)
    job = scheduler.get_job("housekeeping")
    assert job is not None
    assert str(job.trigger) == "cron[hour='3', minute='17']"
