"""A member's WhatsApp number that Twilio refuses for good, though she never wrote to the bot:
the refusal is remembered, later broadcasts skip her and say so, until she writes again."""

from __future__ import annotations

from sqlmodel import select

from storage.broadcasts import Audience, broadcast_counts, create_broadcast
from storage.db import Database
from storage.models import Identity
from tests.fakes import FakeTwilio
from tests.fakes.twilio_forms import status_callback
from tests.fakes.webhooks import WhatsAppWebhook, running_app
from tests.outbox_support import COMMUNITY, FAST, add_member, drain, phone, rows
from wlcc.formatting import utcnow

TEMPLATE = "HX" + "0123456789abcdef" * 2
SITI, DEWI = phone(1), phone(2)


def broadcast(db: Database, text: str) -> int:
    with db.transaction() as session:
        created = create_broadcast(
            session, community_id=COMMUNITY, text=text, audience=Audience("all"), now=utcnow()
        )
        assert created.id is not None
        return created.id


def reasons(db: Database, broadcast_id: int) -> dict[tuple[str, str], int]:
    with db.transaction() as session:
        return broadcast_counts(session, broadcast_id).reasons


def test_a_refused_number_is_skipped_until_she_writes_again(
    db: Database, make_settings, fake_twilio: FakeTwilio
) -> None:
    # Both imported from the member list: neither has ever written, so broadcasts reach them
    # with the template (outside the 24-hour window).
    settings = make_settings(wlcc_whatsapp_templates={"broadcast": TEMPLATE})
    with db.transaction() as session:
        add_member(session, "Siti", SITI)
        add_member(session, "Dewi", DEWI)
    fake_twilio.refuse(SITI, code=21610)  # she sent STOP to the sender's number

    first = broadcast(db, "Rapat bulanan Sabtu")
    drain(db, settings, **FAST)
    assert len(fake_twilio.messages(f"whatsapp:{SITI}", ok=False)) == 1
    assert reasons(db, first) == {("failed", "unreachable"): 1}

    second = broadcast(db, "Arisan Minggu")
    third = broadcast(db, "Posyandu Senin")
    drain(db, settings, **FAST)
    # Not asked again: the one refused attempt of the first broadcast is all Twilio saw.
    assert len(fake_twilio.messages(f"whatsapp:{SITI}", ok=None)) == 1
    assert len(fake_twilio.messages(f"whatsapp:{DEWI}")) == 3
    assert reasons(db, second) == reasons(db, third) == {("skipped", "unreachable"): 1}

    # She writes again (Twilio takes her messages again once she does): the next one reaches
    # her, as free text within the 24 hours.
    fake_twilio.refuse(SITI, code=None)
    with running_app(make_settings(wlcc_sender_enabled=False)) as client:
        assert WhatsAppWebhook(client, settings).say("Halo", phone=SITI).status_code == 200
    fake_twilio.reset()
    fourth = broadcast(db, "Rapat RW Selasa")
    drain(db, settings, **FAST)
    assert fake_twilio.bodies(f"whatsapp:{SITI}") == ["Rapat RW Selasa"]
    assert reasons(db, fourth) == {}


def test_a_refusal_reported_later_by_twilio_is_remembered_too(
    db: Database, make_settings, fake_twilio: FakeTwilio
) -> None:
    settings = make_settings(wlcc_whatsapp_templates={"broadcast": TEMPLATE})
    with db.transaction() as session:
        add_member(session, "Siti", SITI)
    first = broadcast(db, "Rapat bulanan Sabtu")
    drain(db, settings, **FAST)
    [sent] = fake_twilio.messages(f"whatsapp:{SITI}")
    # Twilio accepted the message, then reports it undelivered: unsubscribed.
    callback = (sent.get("StatusCallback") or "").removeprefix("https://bot.example.org")
    form = status_callback("undelivered", sid=sent.sid or "", phone=SITI, error_code="21610")
    with running_app(make_settings(wlcc_sender_enabled=False)) as client:
        assert WhatsAppWebhook(client, settings).post(form, path=callback).status_code == 204
    assert reasons(db, first) == {("failed", "unreachable"): 1}
    with db.transaction() as session:
        [chat] = session.exec(select(Identity)).all()
        assert (chat.address, chat.unreachable, chat.last_inbound_at) == (SITI, True, None)

    second = broadcast(db, "Arisan Minggu")
    drain(db, settings, **FAST)
    assert len(fake_twilio.messages(f"whatsapp:{SITI}", ok=None)) == 1
    assert reasons(db, second) == {("skipped", "unreachable"): 1}
    assert [r.status for r in rows(db, broadcast_id=second)] == ["skipped"]


def test_a_refused_number_is_remembered_in_the_community_of_its_message(db: Database) -> None:
    """Another WLCC on the same deployment: the chat record made for a refused number belongs
    to the community whose message was refused, not to the first one."""
    from datetime import timedelta

    from sqlalchemy import update

    from storage.models import Community, OutboxMessage, OutboxStatus
    from storage.outbox import Outcome, enqueue, record

    number = "+6281277700001"
    now = utcnow()
    lease = now + timedelta(minutes=2)
    with db.transaction() as session:
        other = Community(slug="wlcc-lain", name="WLCC lain")
        session.add(other)
        session.flush()
        assert other.id is not None and other.id != COMMUNITY
        chat = Identity(community_id=other.id, channel="telegram", address="7300001")
        session.add(chat)
        session.flush()
        row_id = enqueue(
            session,
            key="k-other",
            kind="broadcast",
            community_id=other.id,
            text="Halo",
            identity_id=chat.id,
        )
        assert row_id is not None
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)  # type: ignore[arg-type]
            .values(status=OutboxStatus.SENDING, lease_until=lease)
        )
        outcome = Outcome(
            row_id,
            lease,
            OutboxStatus.FAILED,
            channel="whatsapp",
            address=number,
            unreachable=True,
        )
        record(session, [outcome], now=now)
    with db.transaction() as session:
        [made] = session.exec(select(Identity).where(Identity.address == number)).all()
        assert (made.community_id, made.channel, made.unreachable) == (other.id, "whatsapp", True)
