"""A member's side of the ledger (storage/ledger_access.py, conversations/ledger.py): the PIN,
its lock, the statement derived from the entries, the monthly statement's planning, and the
privacy of her figures through the real router."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from handlers.router import Router, RouterConfig
from storage.conversations import load_conversation
from storage.db import Database
from storage.ledger import (
    EntryAction,
    LedgerAccess,
    LedgerKind,
    append_entry,
    derived_balances,
)
from storage.ledger_access import (
    LOCKED_KIND,
    MAX_TRIES,
    STATEMENT_KIND,
    PinProblem,
    build_statement,
    check_pin,
    hash_pin,
    locked_until,
    matches,
    month_of,
    pin_problem,
    plan_statements,
    set_monthly_statement,
    set_pin,
    statement_key,
)
from storage.models import Member, OutboxMessage
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from wlcc.messages import Inbound, Outbound
from wlcc.settings import Settings

SETTINGS = Settings(_env_file=None)  # quiet hours 21:00-06:00, Asia/Jakarta
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB


def _entry(
    session: Session,
    member: Member,
    kind: str,
    amount: int,
    day: date,
    action: str = EntryAction.DEPOSIT,
    reverses: int | None = None,
) -> int:
    assert member.id is not None
    written = append_entry(
        session,
        community_id=COMMUNITY,
        member_id=member.id,
        kind=kind,
        action=action,
        amount=amount,
        channel="cli",
        occurred_on=day,
        reverses_id=reverses,
    )
    assert written.entry.id is not None
    return written.entry.id


# --- the PIN ---


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("2580", None),
        ("739164", None),
        ("1357", None),
        ("123", PinProblem.LENGTH),
        ("1234567", PinProblem.LENGTH),
        ("12a4", PinProblem.NOT_DIGITS),
        ("12 34", PinProblem.NOT_DIGITS),
        ("٢٥٨٠", PinProblem.NOT_DIGITS),  # Arabic-Indic digits are digits, not a PIN here
        ("", PinProblem.NOT_DIGITS),
        ("0000", PinProblem.GUESSABLE),
        ("1234", PinProblem.GUESSABLE),
        ("654321", PinProblem.GUESSABLE),
    ],
)
def test_pin_rules(pin: str, problem: str | None) -> None:
    assert pin_problem(pin) == problem


def test_the_hash_is_argon2id_and_never_the_digits() -> None:
    pin_hash = hash_pin("2580")
    assert pin_hash.startswith("$argon2id$")
    assert hash_pin("2580") != pin_hash  # salted: the same PIN never gives the same hash
    assert matches(pin_hash, "2580")
    assert not matches(pin_hash, "2581")
    assert not matches("not a hash", "2580")
    with pytest.raises(ValueError):
        hash_pin("1234")


def test_five_wrong_pins_lock_and_tell_the_treasurer_without_an_amount(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        yati = add_member(session, "Yati", phone(2), role="treasurer")
        _entry(session, siti, LedgerKind.WAJIB, 650_000, date(2026, 12, 1))
        set_pin(session, siti, hash_pin("2580"), NOW)
        results = [
            check_pin(session, siti, "1111", now=NOW + timedelta(seconds=i), channel="whatsapp")
            for i in range(MAX_TRIES)
        ]
        assert [r.tries_left for r in results[:-1]] == [4, 3, 2, 1]
        last = results[-1]
        assert last.just_locked and last.locked_until == NOW + timedelta(seconds=4, minutes=30)
        # While locked even the right PIN does not open.
        locked = check_pin(session, siti, "2580", now=NOW + timedelta(minutes=10), channel="x")
        assert not locked.ok and locked.locked_until == last.locked_until
        assert locked_until(session, siti, NOW + timedelta(minutes=35)) is None
        notices = session.exec(select(OutboxMessage).where(OutboxMessage.kind == LOCKED_KIND)).all()
        assert [n.member_id for n in notices] == [yati.id]
        assert "Siti Aminah" in notices[0].text
        assert "Rp" not in notices[0].text and "650" not in notices[0].text
        after = check_pin(session, siti, "2580", now=NOW + timedelta(minutes=35), channel="x")
        assert after.ok


def test_a_right_pin_resets_the_count(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        set_pin(session, siti, hash_pin("2580"), NOW)
        for _ in range(MAX_TRIES - 1):
            assert not check_pin(session, siti, "1111", now=NOW, channel="x").ok
        assert check_pin(session, siti, "2580", now=NOW, channel="x").ok
        for _ in range(MAX_TRIES - 1):
            result = check_pin(session, siti, "1111", now=NOW, channel="x")
        assert result.locked_until is None and result.tries_left == 1


# --- the statement ---


def test_the_statement_adds_up_exactly(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        assert siti.id is not None
        _entry(session, siti, LedgerKind.POKOK, 100_000, date(2026, 10, 5))
        _entry(session, siti, LedgerKind.WAJIB, 550_000, date(2026, 11, 2))
        _entry(session, siti, LedgerKind.SUKARELA, 300_000, date(2026, 11, 30))
        wrong = _entry(session, siti, LedgerKind.SUKARELA, 75_000, date(2026, 12, 1))
        _entry(
            session,
            siti,
            LedgerKind.SUKARELA,
            -75_000,
            date(2026, 12, 1),
            EntryAction.REVERSAL,
            wrong,
        )
        _entry(session, siti, LedgerKind.SUKARELA, -100_000, date(2026, 12, 4), "withdrawal")
        _entry(session, siti, LedgerKind.PINJAMAN, 1_000_000, date(2026, 12, 4), "loan")
        _entry(session, siti, LedgerKind.WAJIB, 50_000, date(2027, 1, 2))  # next month
        first, last = month_of(date(2026, 12, 7))
        assert (first, last) == (date(2026, 12, 1), date(2026, 12, 31))
        statement = build_statement(session, siti.id, first, last)
        assert statement.opening == {
            "pokok": 100_000,
            "wajib": 550_000,
            "sukarela": 300_000,
            "pinjaman": 0,
            "bunga": 0,
        }
        assert len(statement.entries) == 4
        for kind in LedgerKind.ALL:
            moved = sum(e.amount for e in statement.entries if e.kind == kind)
            assert statement.closing[kind] == statement.opening[kind] + moved
        assert statement.closing["sukarela"] == 200_000
        assert statement.shown_kinds() == ["pokok", "wajib", "sukarela", "pinjaman"]
        # The period up to the last entry ends where the ledger itself ends.
        whole = build_statement(session, siti.id, date(2027, 1, 1), date(2027, 1, 31))
        derived = derived_balances(session, [siti.id])
        assert {k: v for k, v in whole.closing.items() if v} == {
            kind: total for (_, kind), total in derived.items() if total
        }


# --- the monthly statement ---


def _wish(session: Session, member: Member) -> None:
    set_monthly_statement(session, member, True, NOW)


def test_monthly_statements_are_planned_once_after_the_quiet_hours(db: Database) -> None:
    night = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 1 January 2027, 00.30 WIB
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        ani = add_member(session, "Ani", phone(2))
        away = add_member(session, "Dewi", phone(3), opted_out=True)
        add_member(session, "Rina", phone(4))  # never asked for it
        for member in (siti, ani, away):
            _wish(session, member)
        _entry(session, siti, LedgerKind.WAJIB, 50_000, date(2026, 12, 1))
        set_pin(session, ani, hash_pin("2580"), NOW)
        # Before the month is over: nothing for December yet.
        assert plan_statements(session, now=night - timedelta(days=1), settings=SETTINGS) == 0
        assert plan_statements(session, now=night, settings=SETTINGS) == 2
        assert plan_statements(session, now=night + timedelta(hours=1), settings=SETTINGS) == 0
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == STATEMENT_KIND)).all()
        by_member = {row.member_id: row for row in rows}
        assert set(by_member) == {siti.id, ani.id}
        assert siti.id is not None and ani.id is not None
        assert by_member[siti.id].key == statement_key(siti.id, date(2026, 12, 1))
        assert by_member[siti.id].key.endswith(":2026-12")
        morning = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # 06.00 WIB
        for row in rows:
            assert row.next_attempt_at.replace(tzinfo=UTC) == morning
            assert row.template_vars["2"] == "Desember 2026"
        assert "Rp50.000" in by_member[siti.id].text
        # A PIN guards Ani's figures: her notice says only that it is ready.
        assert "Rp" not in by_member[ani.id].text and "STATEMEN" in by_member[ani.id].text


def test_no_stale_statement_after_the_first_days(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1))
        _wish(session, siti)
        late = datetime(2027, 1, 9, 3, 0, tzinfo=UTC)
        assert plan_statements(session, now=late, settings=SETTINGS) == 0
        set_monthly_statement(session, siti, False, NOW)
        early = datetime(2027, 1, 2, 3, 0, tzinfo=UTC)
        assert plan_statements(session, now=early, settings=SETTINGS) == 0


def test_a_shared_phone_gets_no_figures_in_the_notice(db: Database) -> None:
    with db.transaction() as session:
        fatimah = add_member(session, "Fatimah", phone(1))
        add_member(session, "Ani", phone(1))
        _wish(session, fatimah)
        _entry(session, fatimah, LedgerKind.WAJIB, 150_000, date(2026, 12, 1))
        at = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
        assert plan_statements(session, now=at, settings=SETTINGS) == 1
        [row] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == STATEMENT_KIND))
        assert "Rp" not in row.text


# --- privacy, through the router ---


def _texts(replies: list[Outbound]) -> str:
    return "\n".join(r.text for r in replies)


@pytest.fixture
def ledger(db: Database) -> dict[str, int]:
    """Siti alone on her phone, Fatimah and Ani sharing one, a treasurer who is a member."""
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", phone(1), telegram="7000001")
        fatimah = add_member(session, "Fatimah", phone(2))
        ani = add_member(session, "Ani", phone(2))
        yati = add_member(session, "Yati", phone(3), role="treasurer")
        _entry(session, siti, LedgerKind.WAJIB, 111_000, date(2026, 12, 1))
        _entry(session, fatimah, LedgerKind.WAJIB, 222_000, date(2026, 12, 1))
        _entry(session, ani, LedgerKind.SUKARELA, 333_000, date(2026, 12, 1))
        _entry(session, yati, LedgerKind.SUKARELA, 444_000, date(2026, 12, 1))
        ids = {"siti": siti.id, "fatimah": fatimah.id, "ani": ani.id, "yati": yati.id}
    return {k: v for k, v in ids.items() if v is not None}


ALL_FIGURES = ("111.000", "222.000", "333.000", "444.000")


def _only(text: str, mine: str) -> None:
    assert mine in text
    for figure in ALL_FIGURES:
        if figure != mine:
            assert figure not in text


def test_another_member_sees_only_her_own(db: Database, ledger: dict[str, int]) -> None:
    router = Router(db)
    siti = Chat(router, "whatsapp", phone(1), phone(1))
    for word in ("saldo", "mutasi", "statemen"):
        _only(_texts(siti.send(word)), "111.000")
    for word in ("saldo Fatimah", "saldo Yati", f"saldo {phone(3)}", "mutasi Ani"):
        text = _texts(siti.send(word))
        assert not any(figure in text for figure in ALL_FIGURES), word


def test_a_treasurer_sees_only_her_own_through_saldo(db: Database, ledger: dict[str, int]) -> None:
    yati = Chat(Router(db), "whatsapp", phone(3), phone(3))
    _only(_texts(yati.send("saldo")), "444.000")
    text = _texts(yati.send("saldo Siti Aminah"))
    assert "111.000" not in text


def test_an_unverified_telegram_user_sees_nothing(db: Database, ledger: dict[str, int]) -> None:
    # Siti's own Telegram chat, before she shared her contact: the bot cannot know it is her.
    unknown = Chat(Router(db), "telegram", "7000099")
    for word in ("saldo", "mutasi", "statemen", "pin", "statemen bulanan"):
        replies = unknown.send(word)
        assert not any(figure in _texts(replies) for figure in ALL_FIGURES)
        assert replies[-1].request_contact is not None  # asked to share her own contact


def test_an_unknown_resident_sees_nothing(db: Database, ledger: dict[str, int]) -> None:
    resident = Chat(Router(db), "whatsapp", phone(9), phone(9))
    for word in ("saldo", "mutasi", "statemen", "pin"):
        text = _texts(resident.send(word))
        assert not any(figure in text for figure in ALL_FIGURES)
        assert "DAFTAR" in text


def test_on_a_shared_phone_only_the_chosen_member(db: Database, ledger: dict[str, int]) -> None:
    router = Router(db)
    family = Chat(router, "whatsapp", phone(2), phone(2))
    asked = family.send("saldo")
    assert not any(figure in _texts(asked) for figure in ALL_FIGURES)  # who is writing?
    _only(_texts(family.send("2")), "333.000")  # Ani, and her balance only
    family.send("ganti orang")
    _only(_texts(family.send("1")) + _texts(family.send("saldo")), "222.000")


def test_the_pin_is_asked_once_per_session_and_ganti_orang_ends_it(
    db: Database, ledger: dict[str, int]
) -> None:
    with db.transaction() as session:
        fatimah = session.get(Member, ledger["fatimah"])
        assert fatimah is not None
        set_pin(session, fatimah, hash_pin("8642"), NOW)
    router = Router(db, RouterConfig(session_timeout=timedelta(minutes=30)))
    family = Chat(router, "whatsapp", phone(2), phone(2))
    family.send("saldo")
    assert "222.000" not in _texts(family.send("1"))  # Fatimah: her PIN first
    _only(_texts(family.send("8642")), "222.000")
    _only(_texts(family.send("mutasi")), "222.000")  # not asked again
    with db.transaction() as session:
        data = load_conversation(session, f"phone:{phone(2)}").data
        assert "8642" not in repr(data)
    family.send("ganti orang")
    family.send("2")  # Ani (no PIN)
    family.send("ganti orang")
    family.send("1")  # Fatimah again: what she proved went with the switch
    assert "222.000" not in _texts(family.send("saldo"))


def test_the_digits_of_a_pin_are_never_stored(db: Database, ledger: dict[str, int]) -> None:
    siti = Chat(Router(db), "whatsapp", phone(1), phone(1))
    for text in ("pin", "739164", "739164"):
        siti.send(text)
    with db.transaction() as session:
        access = session.get(LedgerAccess, ledger["siti"])
        assert access is not None and access.pin_hash is not None
        assert access.pin_hash.startswith("$argon2id$")
        assert matches(access.pin_hash, "739164")
        conversation = load_conversation(session, f"phone:{phone(1)}")
        assert "739164" not in repr(conversation.data)


def test_the_telegram_reply_asks_to_delete_the_pin_message(
    db: Database, ledger: dict[str, int]
) -> None:
    with db.transaction() as session:
        member = session.get(Member, ledger["siti"])
        assert member is not None
        set_pin(session, member, hash_pin("2580"), NOW)
        # Her Telegram chat has proven her phone (add_member linked it).
    router = Router(db)
    router.handle(_telegram("saldo", "1"))
    replies = router.handle(_telegram("2580", "2"))
    assert replies is not None
    assert [r.delete_message for r in replies if r.delete_message] == ["2"]
    _only(_texts(replies), "111.000")


def _telegram(text: str, message_id: str) -> Inbound:
    return Inbound(
        channel="telegram",
        address="7000001",
        sender_id="7000001",
        platform_id=f"9100{message_id}",
        received_at=datetime.now(UTC),
        text=text,
        message_id=message_id,
    )


def test_no_amount_and_no_pin_in_any_log_line(
    db: Database, ledger: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    siti = Chat(Router(db), "whatsapp", phone(1), phone(1))
    for text in ("saldo", "mutasi", "statemen", "pin", "739164", "739164", "statemen bulanan"):
        siti.send(text)
    siti.send("1")
    with db.transaction() as session:
        member = session.get(Member, ledger["siti"])
        assert member is not None
        for _ in range(MAX_TRIES):
            check_pin(session, member, "1111", now=NOW, channel="whatsapp")
        plan_statements(session, now=datetime(2027, 1, 1, 3, 0, tzinfo=UTC), settings=SETTINGS)
    lines = [record.getMessage() for record in caplog.records]
    assert any("PIN locked" in line for line in lines)  # the lock itself is logged
    for line in lines:
        assert "Rp" not in line and "111" not in line and "739164" not in line, line


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("statemen bulanan", "STATEMEN BULANAN"),
        ("statmen bulanan", "STATEMEN BULANAN"),
        ("statemen", "STATEMEN"),
        ("cek mutasi dong", "MUTASI"),
        ("mutsi", "MUTASI"),
        ("ganti pin", "GANTI PIN"),
        ("pin", "PIN"),
        ("pinjaman", "PINJAMAN"),  # the loans' word is not PIN
        ("simpanan", "SIMPANAN"),
        ("stop", "STOP"),
    ],
)
def test_the_money_keywords_are_told_apart(text: str, keyword: str) -> None:
    from handlers.matching import match_keyword
    from tests.test_matching import KEYWORDS

    found = match_keyword(text, KEYWORDS)
    assert found is not None and found.keyword == keyword


def test_digits_that_are_no_pin_are_no_wrong_try(db: Database, ledger: dict[str, int]) -> None:
    with db.transaction() as session:
        member = session.get(Member, ledger["siti"])
        assert member is not None
        set_pin(session, member, hash_pin("2580"), NOW)
    siti = Chat(Router(db), "whatsapp", phone(1), phone(1))
    siti.send("saldo")
    for typed in ("123", "1234567", "saldo 2"):
        assert "PIN hanya angka" in _texts(siti.send(typed))
    with db.transaction() as session:
        access = session.get(LedgerAccess, ledger["siti"])
        assert access is not None and access.failed_tries == 0
    _only(_texts(siti.send("2580")), "111.000")
