"""Meeting answers end to end, on both channels: a notice (an outbox row with the answer choices
of storage.meetings.rsvp_choices) is sent by the app's own sender to the fake Telegram and fake
Twilio servers; the member presses the button (a Telegram callback_query posted to the webhook)
or types its number on WhatsApp (a signed Twilio form post); her answer is recorded and the
reply arrives. KALENDER on Telegram arrives as an .ics document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlmodel import Session

from storage.db import Database
from storage.meetings import NOTICE_KIND, Meeting, create_meeting, rsvp_choices, rsvp_of
from storage.models import Member
from storage.outbox import enqueue
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import SITI, TelegramUpdates
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import COMMUNITY, add_member, phone, rows
from tests.test_broadcast_e2e import fast_settings, wait  # noqa: F401 (a fixture)
from wlcc.formatting import utcnow
from wlcc.i18n import Translator

# 09.00 WIB, some day well ahead (a fixed hour: the end is on the same local day).
START = datetime(utcnow().year + 1, 3, 6, 2, 0, tzinfo=UTC)


def _meeting(session: Session, **extra: object) -> Meeting:
    return create_meeting(
        session,
        community_id=COMMUNITY,
        title="Pertemuan bulanan",
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        place="Balai Kelurahan 24 Ilir",
        now=utcnow(),
        **extra,  # type: ignore[arg-type]
    )


def _notice(session: Session, meeting: Meeting, member: Member) -> None:
    """The announcement as the notice planner writes it: kind "meeting", the answer choices."""
    assert meeting.id is not None and member.id is not None
    t = Translator(member.language)
    enqueue(
        session,
        key=f"meeting:{meeting.id}:announce:0:member:{member.id}",
        kind=NOTICE_KIND,
        community_id=COMMUNITY,
        member_id=member.id,
        text=f"Undangan: Pertemuan bulanan, {meeting.id}. Apakah Ibu datang?",
        choices=rsvp_choices(t, meeting.id),
    )


def _answer(db: Database, meeting_id: int, member_id: int) -> tuple[str, str | None] | None:
    with db.transaction() as session:
        rsvp = rsvp_of(session, meeting_id, member_id)
        return None if rsvp is None else (rsvp.answer, rsvp.channel)


def test_a_telegram_button_on_the_notice_records_her_answer(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1), telegram=str(SITI.id))
        meeting = _meeting(session)
        _notice(session, meeting, siti)
        meeting_id, siti_id = meeting.id, siti.id
    assert meeting_id is not None and siti_id is not None
    updates = TelegramUpdates(SITI)
    with running_app(fast_settings) as client:
        wait(lambda: bool(fake_telegram.sent(SITI.id)), "the notice on Telegram", db)
        [notice] = fake_telegram.sent(SITI.id)
        wait(lambda: all(r.status == "sent" for r in rows(db)), "the notice recorded", db)
        labels = [b["text"] for b in notice.buttons]
        assert labels == ["Hadir", "Tidak bisa", "Mungkin"]
        data = [b["callback_data"] for b in notice.buttons]
        assert data == [f"HADIR #{meeting_id}", f"TIDAK #{meeting_id}", f"MUNGKIN #{meeting_id}"]
        telegram = TelegramWebhook(client, fast_settings, updates)
        assert telegram.post(updates.callback(data[2], message=notice.result)).status_code == 200
        wait(lambda: len(fake_telegram.sent(SITI.id)) >= 2, "the reply", db)
        assert _answer(db, meeting_id, siti_id) == ("maybe", "telegram")
        reply = fake_telegram.texts(SITI.id)[-1]
        assert reply.startswith("Tercatat: Ibu MUNGKIN HADIR di Pertemuan bulanan, ")
        # Pressing "Hadir" on the same notice changes it.
        telegram.post(updates.callback(data[0], message=notice.result))
        wait(lambda: len(fake_telegram.sent(SITI.id)) >= 3, "the second reply", db)
        assert _answer(db, meeting_id, siti_id) == ("yes", "telegram")
        assert "(Sebelumnya: MUNGKIN HADIR.)" in fake_telegram.texts(SITI.id)[-1]
        assert fake_telegram.calls("answerCallbackQuery")


def test_a_number_typed_on_whatsapp_answers_the_notice(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    number = phone(2)
    with db.transaction() as session:
        dewi = add_member(session, "Dewi Sartika", number, whatsapp=True)
        # A later meeting too: the number answers the one the notice was about, not the next.
        _meeting(session, kind="pertemuan")
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title="Menjahit",
            kind="pelatihan",
            seats=5,
            starts_at=START + timedelta(days=2),
            now=utcnow(),
        )
        _notice(session, meeting, dewi)
        meeting_id, dewi_id = meeting.id, dewi.id
    assert meeting_id is not None and dewi_id is not None
    with running_app(fast_settings) as client:
        to = f"whatsapp:{number}"
        wait(lambda: bool(fake_twilio.bodies(to)), "the notice on WhatsApp", db)
        [notice] = fake_twilio.bodies(to)
        # Once the send is recorded, a typed number answers the notice's choices.
        wait(lambda: all(r.status == "sent" for r in rows(db)), "the notice recorded", db)
        assert "1. Hadir\n2. Tidak bisa\n3. Mungkin" in notice
        whatsapp = WhatsAppWebhook(client, fast_settings)
        assert whatsapp.say("2", phone=number).status_code == 200
        wait(lambda: len(fake_twilio.bodies(to)) >= 2, "the reply", db)
        assert _answer(db, meeting_id, dewi_id) == ("no", "whatsapp")
        assert fake_twilio.bodies(to)[-1].startswith(
            'Tercatat: Ibu TIDAK HADIR di Pelatihan "Menjahit", '
        )


def test_kalender_on_telegram_sends_the_ics_document(
    db: Database,
    fast_settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    with db.transaction() as session:
        add_member(session, "Siti Aminah", phone(1), telegram=str(SITI.id))
        meeting = _meeting(session, description="Tema: air bersih")
        meeting_id = meeting.id
    updates = TelegramUpdates(SITI)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        assert telegram.say("kalender").status_code == 200
        wait(lambda: bool(fake_telegram.calls("sendDocument")), "the calendar file", db)
        [document] = fake_telegram.calls("sendDocument")
        assert document["chat_id"] == SITI.id
        upload = document.files["document"]
        assert (upload.filename or "").endswith(".ics")
        assert (document["caption"] or "").startswith("Pertemuan bulanan\n")
        event = Calendar.from_ical(upload.content).walk("VEVENT")[0]
        assert str(event["uid"]) == f"wlcc-meeting-{COMMUNITY}-{meeting_id}@wlcc-bot"
        assert event.decoded("dtstart") == START
        assert event.decoded("dtend") == START + timedelta(hours=3)
        assert upload.content.count(b"Z\r\n") >= 3  # DTSTAMP, DTSTART, DTEND in UTC
        assert str(event["location"]) == "Balai Kelurahan 24 Ilir"
        assert "Tema: air bersih" in str(event["description"])
        wait(lambda: any("Berkas kalender" in t for t in fake_telegram.texts(SITI.id)), "reply")
        # Asked again: the same stored file, sent by the file id Telegram gave it.
        telegram.say("KALENDER")
        wait(lambda: len(fake_telegram.calls("sendDocument")) >= 2, "the second file", db)
        second = fake_telegram.calls("sendDocument")[-1]
        assert not second.files
        assert second["document"] == document.result["document"]["file_id"]
