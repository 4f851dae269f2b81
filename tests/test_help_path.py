"""The confidential help path: TOLONG and the words of distress, the call-back request that
reaches protection officers alone, and its absence from every other surface.

The marker test plants unique words in a request (the safe time, the note, another number) sent
through the real app's WhatsApp webhook, with the app logging at DEBUG, and then finds them
nowhere but in the help table and the officer's own notice: not in a log line, an audit row,
another outbox row, any other table (every table of SQLModel.metadata), the inbound payloads or
the conversations. The end-to-end tests send a distress word by a Telegram update and by a
signed Twilio form and see the hotlines arrive there and the officer's notice arrive on hers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

import storage.help_requests  # noqa: F401 (the table is in the metadata)
from conversations.help_path import cries_for_help
from handlers.matching import normalize
from handlers.router import Router, RouterConfig
from scheduler import housekeeping
from storage.complaints import Intake, create_complaint, set_public_description
from storage.complaints_export import Filters, export
from storage.db import Database
from storage.help_requests import (
    NOTICE_KIND,
    HelpRequest,
    HelpStatus,
    normalize_ref,
    purge_help_requests,
)
from storage.models import AuditLog, Conversation, InboundMessage, Member, OutboxMessage, Role
from storage.permissions import RULES, can
from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram_updates import SITI, TelegramUpdates, TgUser
from tests.fakes.webhooks import TelegramWebhook, WhatsAppWebhook, running_app
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from tests.test_broadcast_e2e import fast_settings, wait  # noqa: F401 (a fixture)
from wlcc.formatting import utcnow
from wlcc.i18n import gettext
from wlcc.settings import Hotline, Settings

OFFICER_TG = TgUser(6690000009, "Yanti", None, None, "id")
ROLES = [Role.RESIDENT, *Role.MEMBER_ROLES]


def _offered(text: str) -> bool:
    return gettext("id", "distress.intro") in text and gettext("id", "safety.offer") in text


# --- what is a cry for help ---


@pytest.mark.parametrize(
    "text", ["tolong", "TOLONG", "Tolong!", "tlong", "tolong saya", "tolong aku dong", "tolong bu"]
)
def test_a_cry_for_help(text: str) -> None:
    assert cries_for_help(normalize(text).split())


@pytest.mark.parametrize(
    "text",
    ["tolong ambilkan air", "tolong dibantu daftar", "tolong saldo", "tolak", "bantuan", ""],
)
def test_tolong_before_other_words_is_please(text: str) -> None:
    assert not cries_for_help(normalize(text).split())


def test_references_are_read_forgivingly() -> None:
    assert normalize_ref("tl 3km7a") == normalize_ref("TL-3KM7A") == "TL-3KM7A"
    assert normalize_ref("3km7a") == "TL-3KM7A"
    assert normalize_ref("TL-3KM7O") is None  # O is not in the alphabet (0/O look alike)
    assert normalize_ref("dulu") is None


# --- who may read ---


def test_only_protection_officers_receive_help_requests() -> None:
    assert RULES["safety.receive"] == frozenset({Role.PROTECTION_OFFICER})
    for role in ROLES:
        assert can(role, "safety.receive") == (role == Role.PROTECTION_OFFICER), role


def _request(router: Router, number: str, safe_time: str) -> None:
    chat = Chat(router, "whatsapp", number, number)
    assert _offered(chat.texts("tolong")[0])
    chat.send("1")  # yes, call me
    chat.send("1")  # this number
    chat.send(safe_time)
    [sent] = chat.texts("1")  # no note
    assert sent.startswith(gettext("id", "safety.sent"))


@pytest.mark.parametrize("role", ROLES)
def test_nobody_but_an_officer_reads_or_marks_a_request(db: Database, role: str) -> None:
    secret = "sesudah-magrib-kuning"
    with db.transaction() as session:
        add_member(session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER, whatsapp=True)
        if role != Role.RESIDENT and role != Role.PROTECTION_OFFICER:
            add_member(session, "Orang", phone(2), role=role, whatsapp=True)
        elif role == Role.PROTECTION_OFFICER:
            add_member(session, "Rahma", phone(2), role=role, whatsapp=True)
    router = Router(db)
    _request(router, phone(5), secret)
    with db.transaction() as session:
        [request] = session.exec(select(HelpRequest)).all()
        ref = request.ref
    asker = Chat(router, "whatsapp", phone(2), phone(2))
    listed = "\n".join(asker.texts("PERMINTAAN TOLONG"))
    marked = "\n".join(asker.texts(f"SELESAI {ref}"))
    with db.transaction() as session:
        request = session.exec(select(HelpRequest)).one()
        audit = session.exec(select(AuditLog)).all()
    if role == Role.PROTECTION_OFFICER:
        assert secret in listed and ref in listed
        assert request.status == HelpStatus.HANDLED
        assert [a.action for a in audit] == ["safety.handled"]
        assert audit[0].target is None and audit[0].detail == {}
    else:
        denied = gettext("id", "safety.denied")
        assert listed == denied and marked == denied
        assert request.status == HelpStatus.OPEN
        assert [(a.action, a.allowed) for a in audit] == [("safety.receive", False)] * 2
    for row in audit:  # no reference, no safe time, no phone in any audit row
        text = json.dumps([row.action, row.target, row.detail])
        assert ref not in text and secret not in text and phone(5) not in text


def test_the_request_goes_to_protection_officers_alone(db: Database) -> None:
    with db.transaction() as session:
        for role in Role.MEMBER_ROLES:
            add_member(session, f"Orang {role}", None, role=role)
        add_member(session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER, whatsapp=True)
    _request(Router(db), phone(5), "pagi")
    with db.transaction() as session:
        notices = session.exec(select(OutboxMessage)).all()
        officers = {
            m.id for m in session.exec(select(Member)).all() if m.role == Role.PROTECTION_OFFICER
        }
    assert notices and all(n.kind == NOTICE_KIND for n in notices)
    assert {n.member_id for n in notices} == officers and len(officers) == 2
    assert all(n.template_vars == {"1": n.key.split(":")[1]} for n in notices)  # the ref only


@pytest.mark.parametrize("officer", ["none", "opted_out"])
def test_without_an_officer_nothing_is_kept_and_she_is_told(db: Database, officer: str) -> None:
    if officer == "opted_out":  # she said BERHENTI: the sender would skip her notice
        with db.transaction() as session:
            add_member(session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER, opted_out=True)
    chat = Chat(Router(db), "whatsapp", phone(5), phone(5))
    chat.send("tolong")
    chat.send("1")
    chat.send("1")
    chat.send("pagi")
    [reply] = chat.texts("1")
    assert reply.startswith(gettext("id", "safety.no_officer"))
    assert "• SAPA 129: 129" in reply
    with db.transaction() as session:
        assert session.exec(select(HelpRequest)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_cancelling_forgets_the_draft_and_the_conversation_keeps_only_its_reference(
    db: Database,
) -> None:
    chat = Chat(Router(db), "whatsapp", phone(5), phone(5))
    chat.send("tolong")
    chat.send("1")
    chat.send("2")  # another number
    chat.send("0813 7777 1234")
    with db.transaction() as session:
        [draft] = session.exec(select(HelpRequest)).all()
        conversation = session.get(Conversation, f"phone:{phone(5)}")
        assert conversation is not None
        assert draft.status == HelpStatus.DRAFT and draft.phone == "+6281377771234"
        assert "7777" not in json.dumps([conversation.data, conversation.choices])
    chat.send("0")
    with db.transaction() as session:
        assert session.exec(select(HelpRequest)).all() == []
        conversation = session.get(Conversation, f"phone:{phone(5)}")
        assert conversation is not None and conversation.dialog is None
        assert conversation.data == {}


def test_the_hotlines_of_the_area_and_the_offer(db: Database) -> None:
    config = RouterConfig(
        hotlines=(
            Hotline(name="WCC Palembang", phone="0711 123456"),
            Hotline(name="SAPA", phone="129"),
        )
    )
    chat = Chat(Router(db, config), "whatsapp", phone(5), phone(5))
    [reply] = chat.send("TOLONG")
    assert "• WCC Palembang: 0711 123456\n• SAPA: 129" in reply.text
    assert [c.payload for c in reply.choices] == ["tolong:ya", "tolong:tidak"]
    assert gettext("id", "safety.offer") in reply.text  # she may delete the chat


# --- retention ---


def test_handled_requests_are_forgotten_after_the_retention(
    db: Database, settings: Settings
) -> None:
    now = utcnow()
    with db.transaction() as session:
        officer = add_member(session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER)
        community = officer.community_id
        for ref, status, handled_days_ago, created_days_ago in [
            ("TL-3AAAA", HelpStatus.HANDLED, 31, 40),
            ("TL-4AAAA", HelpStatus.HANDLED, 29, 40),
            ("TL-6AAAA", HelpStatus.OPEN, None, 90),
            ("TL-7AAAA", HelpStatus.DRAFT, None, 2),
            ("TL-9AAAA", HelpStatus.DRAFT, None, 0),
        ]:
            session.add(
                HelpRequest(
                    community_id=community,
                    ref=ref,
                    status=status,
                    created_at=now - timedelta(days=created_days_ago),
                    handled_at=None
                    if handled_days_ago is None
                    else now - timedelta(days=handled_days_ago),
                )
            )
        session.flush()
    removed = housekeeping(db, settings)  # WLCC_HELP_RETENTION_DAYS: 30 by default
    assert removed["help_requests"] == 2
    with db.transaction() as session:
        left = sorted(r.ref for r in session.exec(select(HelpRequest)).all())
    assert left == ["TL-4AAAA", "TL-6AAAA", "TL-9AAAA"]
    with db.transaction() as session:
        assert purge_help_requests(session, 1, now) == 1  # TL-4AAAA, handled 29 days ago


def test_marking_handled_forgets_the_officers_notices(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER, whatsapp=True)
        add_member(session, "Rahma", phone(8), role=Role.PROTECTION_OFFICER, whatsapp=True)
    router = Router(db)
    _request(router, phone(5), "pagi")
    with db.transaction() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 2
        ref = session.exec(select(HelpRequest)).one().ref
    [done] = Chat(router, "whatsapp", phone(9), phone(9)).texts(f"selesai {ref.lower()}")
    assert done == gettext("id", "safety.handled.done", ref=ref)
    with db.transaction() as session:
        kinds = [row.kind for row in session.exec(select(OutboxMessage)).all()]
    assert NOTICE_KIND not in kinds


# --- nowhere else: the marker ---


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _texts_of_every_table(db: Database, officer_ids: set[int]) -> dict[str, list[str]]:
    """Every row of every table but the help table, as text; the outbox without the rows for
    the protection officers (their notice carries the request, as it must)."""
    found: dict[str, list[str]] = {}
    with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == HelpRequest.__tablename__:
                continue
            rows = conn.execute(sa_select(table)).mappings().all()
            texts = []
            for row in rows:
                if table.name == "outbox" and row["member_id"] in officer_ids:
                    continue
                texts.append(json.dumps(dict(row), default=str, ensure_ascii=False))
            found[table.name] = texts
    return found


def test_a_marker_in_a_help_request_appears_nowhere_else(
    db: Database,
    make_settings: Any,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        wlcc_log_level="DEBUG",
        wlcc_sender_enabled=True,
        wlcc_outbox_poll_seconds=0.05,
        wlcc_whatsapp_rate_per_second=0,
    )
    when, note, other = "kunang-jendela-biru", "payung-merah-kelinci", "0813 7777 1234"
    secrets = [when, note, "77771234", "7777 1234"]
    her, officer = phone(5), phone(9)
    with db.transaction() as session:
        yanti = add_member(session, "Yanti", officer, role=Role.PROTECTION_OFFICER, whatsapp=True)
        add_member(session, "Rina", phone(2), role=Role.COORDINATOR, whatsapp=True)
        add_member(session, "Dewi", phone(3), role=Role.ADMIN, whatsapp=True)
        assert yanti.id is not None
        officer_ids = {yanti.id}
    with running_app(settings) as client:
        whatsapp = WhatsAppWebhook(client, settings)
        for text in ("saya dipukul suami", "1", "2", other, when, note):
            assert whatsapp.say(text, phone=her).status_code == 200
        to_officer = f"whatsapp:{officer}"
        wait(lambda: any(when in b for b in fake_twilio.bodies(to_officer)), "the notice", db)
        [notice] = fake_twilio.bodies(to_officer)
        assert note in notice and "+6281377771234" in notice
        # Her chat got the answers, none repeating what she typed.
        hers = fake_twilio.bodies(f"whatsapp:{her}")
        wait(lambda: len(fake_twilio.bodies(f"whatsapp:{her}")) == 6, "her six answers", db)
        hers = fake_twilio.bodies(f"whatsapp:{her}")
        assert _offered(hers[0]) and hers[-1].startswith(gettext("id", "safety.sent"))
        for body in hers:
            assert not any(s in body for s in secrets), body
        # Nobody else got anything.
        assert fake_twilio.bodies(f"whatsapp:{phone(2)}") == []
        assert fake_twilio.bodies(f"whatsapp:{phone(3)}") == []
        # She also reports a broken connection, marked public: the complaint surfaces (the
        # exports, Open311) show it, and nothing of her help request.
        with db.transaction() as session:
            ticket = create_complaint(
                session,
                community_id=COMMUNITY,
                intake=Intake(
                    category="leak",
                    description="Pipa sambungan bocor di depan rumah",
                    latitude=-2.9761,
                    longitude=104.7754,
                    kelurahan="23 Ilir",
                ),
                identity_id=None,
                member_id=None,
                channel="whatsapp",
            )
            set_public_description(session, ticket, True, actor_member_id=None)
            surfaces = [
                export(session, Filters(COMMUNITY), settings, fmt=fmt, today=date.today())[0]
                for fmt in ("csv", "geojson")
            ]
        for path in (
            "services.json",
            "requests.json",
            "requests.xml",
            f"requests/{ticket.id}.json",
        ):
            answer = client.get(f"/open311/v2/{path}")
            assert answer.status_code == 200, (path, answer.text)
            surfaces.append(answer.text)
        assert "Pipa sambungan bocor" in surfaces[0] and "Pipa sambungan bocor" in surfaces[3]
        for text in surfaces:
            assert not any(s in text for s in secrets), text
    # The request itself holds them (so the marker was really planted).
    with db.transaction() as session:
        [request] = session.exec(select(HelpRequest)).all()
        assert (request.safe_time, request.note) == (when, note)
        assert request.phone == "+6281377771234"
        payloads = [m.payload for m in session.exec(select(InboundMessage)).all()]
        conversations = session.exec(select(Conversation)).all()
        audit = session.exec(select(AuditLog)).all()
    assert len(payloads) == 6 and payloads == [None] * 6  # emptied once processed
    for conversation in conversations:
        dump = json.dumps([conversation.data, conversation.choices], ensure_ascii=False)
        assert not any(s in dump for s in secrets), conversation.key
    for row in audit:
        dump = json.dumps([row.action, row.target, row.detail], ensure_ascii=False)
        assert not any(s in dump for s in secrets)
    tables = _texts_of_every_table(db, officer_ids)
    assert {"outbox", "inbound_message", "conversation", "audit_log", "identity"} <= set(tables)
    for name, texts in tables.items():
        for text in texts:
            assert not any(s in text for s in secrets), (name, text)
    logged = [debug_logs.text] + [r.getMessage() for r in debug_logs.records]
    assert any(r.levelno == logging.DEBUG for r in debug_logs.records), "DEBUG was not captured"
    for line in logged:
        assert not any(s in line for s in secrets)


# --- end to end, both channels ---


def test_a_distress_word_on_whatsapp_reaches_the_officer_on_telegram(
    db: Database,
    fast_settings: Settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    her = phone(5)
    with db.transaction() as session:
        add_member(
            session, "Yanti", phone(9), role=Role.PROTECTION_OFFICER, telegram=str(OFFICER_TG.id)
        )
    with running_app(fast_settings) as client:
        whatsapp = WhatsAppWebhook(client, fast_settings)
        assert whatsapp.say("ada kdrt di rumah", phone=her).status_code == 200
        to = f"whatsapp:{her}"
        wait(lambda: any(_offered(b) for b in fake_twilio.bodies(to)), "the hotlines", db)
        assert "• SAPA 129: 129" in fake_twilio.bodies(to)[0]
        for answer in ("1", "3", "1", "1"):  # yes; a message only; any time; no note
            assert whatsapp.say(answer, phone=her).status_code == 200
        wait(lambda: bool(fake_telegram.texts(OFFICER_TG.id)), "the officer's notice", db)
        [notice] = fake_telegram.texts(OFFICER_TG.id)
        assert her in notice and "SELESAI TL-" in notice
        [call] = [c for c in fake_telegram.calls("sendMessage") if c["chat_id"] == OFFICER_TG.id]
        assert "Sudah ditangani" in json.dumps(call["reply_markup"])  # the button marks it


def test_a_distress_word_on_telegram_reaches_the_officer_on_whatsapp(
    db: Database,
    fast_settings: Settings,  # noqa: F811
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
) -> None:
    officer = phone(9)
    with db.transaction() as session:
        add_member(session, "Siti Aminah", phone(1), telegram=str(SITI.id))
        add_member(session, "Yanti", officer, role=Role.PROTECTION_OFFICER, whatsapp=True)
    updates = TelegramUpdates(SITI)
    with running_app(fast_settings) as client:
        telegram = TelegramWebhook(client, fast_settings, updates)
        assert telegram.say("saya ditampar suami").status_code == 200
        wait(lambda: any(_offered(t) for t in fake_telegram.texts(SITI.id)), "the hotlines", db)
        for answer in ("1", "1", "malam saja", "1"):
            assert telegram.say(answer).status_code == 200
        to = f"whatsapp:{officer}"
        wait(lambda: bool(fake_twilio.bodies(to)), "the officer's notice", db)
        [notice] = fake_twilio.bodies(to)
        assert "malam saja" in notice and phone(1) in notice
        assert fake_telegram.texts(SITI.id)[-1].startswith(gettext("id", "safety.sent"))


def test_the_menu_entry_names_no_everyday_answer() -> None:
    """Typed under the main menu, "tidak" (or "hadir", "mungkin") must not pick TOLONG's entry:
    its label has none of the words that answer a question."""
    from conversations.engine import discover

    answers = {
        word
        for dialog in discover().values()
        if dialog.yields_to_labels
        for keyword in dialog.keywords
        for word in normalize(keyword).split()
    }
    assert "tidak" in answers
    for lang in ("id", "en"):
        label = set(normalize(gettext(lang, "menu.safety")).split())
        assert not label & answers, (lang, label & answers)
