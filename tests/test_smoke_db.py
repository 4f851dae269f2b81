import pytest

from storage.identities import default_community


def test_migrated_database_has_default_community(db):
    with db.transaction() as session:
        assert default_community(session).slug == "wlcc-palembang"


def test_a_batch_of_inbound_messages_is_recorded_once_each(db):
    from datetime import UTC, datetime

    from sqlmodel import func, select

    from storage.inbound import NewInbound, record_many
    from storage.models import InboundMessage

    at = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)

    def item(channel: str, platform_id: str) -> NewInbound:
        return NewInbound(channel, platform_id, "text", at, {"text": platform_id})

    with db.transaction() as session:
        first = record_many(session, [item("telegram", "1"), item("whatsapp", "SM1")])
    assert all(isinstance(i, int) for i in first) and len(set(first)) == 2

    batch = [
        item("telegram", "1"),  # a platform retry of a stored message
        item("telegram", "2"),
        item("whatsapp", "1"),  # the same id on the other channel is another message
        item("telegram", "2"),  # a retry arriving in the same batch
        item("telegram", "x" * 300),  # ids are stored cut to the column's length
    ]
    with db.transaction() as session:
        ids = record_many(session, batch)
    assert ids[0] is None and ids[3] is None
    assert all(isinstance(ids[i], int) for i in (1, 2, 4)) and len({ids[1], ids[2], ids[4]}) == 3
    assert not set(ids[1:3]) & set(first)
    with db.transaction() as session:
        assert record_many(session, []) == []
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 5
        stored = session.get(InboundMessage, ids[2])
        assert (stored.channel, stored.platform_id, stored.payload) == (
            "whatsapp",
            "1",
            {"text": "1"},
        )


def test_retry_briefly_tries_again_then_gives_the_last_failure() -> None:
    from storage.db import retry_briefly

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("deadlock detected")
        return "recorded"

    assert retry_briefly(flaky, "recording", pauses=(0, 0)) == "recorded"
    assert len(calls) == 3

    def broken() -> None:
        calls.append(1)
        raise RuntimeError(f"lock {len(calls)}")

    calls.clear()
    with pytest.raises(RuntimeError, match="lock 3"):
        retry_briefly(broken, "recording", pauses=(0, 0))
