"""Every dialog can be reached and finished with digits alone.

A member who cannot type words starts from a greeting, finds the dialog by number (the main
menu, or "Bantuan" and its pages), and answers each question with a number; only where the
question asks for words of her own (a name, an announcement) does she type them. The walk ends
when the conversation has no dialog waiting any more.
"""

from __future__ import annotations

from typing import Any

import pytest

from conversations.engine import discover
from handlers.router import Router
from storage.conversations import load_conversation
from storage.db import Database
from storage.ledger import LedgerKind, deposit
from storage.loans import open_loan
from tests.outbox_support import COMMUNITY, Chat, add_member, phone
from wlcc.messages import Outbound

ADMIN = phone(1)  # an admin on a phone she shares with Ani (so GANTI ORANG applies)
RESIDENT = phone(2)  # somebody not registered yet
OFFICER = phone(5)  # a protection officer: the help path's requests are hers alone
# Telegram only: the phone is proven with the "share my number" button, not a digit.
NOT_BY_DIGITS = {"link_phone"}
WORDS = "Siti Aminah"  # what she types where a question asks for her own words
AMOUNT = "50000"  # what she types where a question asks for an amount: digits


def _dialogs() -> list[str]:
    return sorted(
        name
        for name, d in discover().items()
        if (d.menu_key or d.help_key) and name not in NOT_BY_DIGITS
    )


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = Router._start

    def start(self: Router, ctx: Any, dialog: Any, args: str) -> None:
        seen.append(dialog.name)
        original(self, ctx, dialog, args)

    monkeypatch.setattr(Router, "_start", start)
    return seen


def _waiting(db: Database, number: str) -> str | None:
    """The dialog that waits for this phone's next answer, if any."""
    with db.transaction() as session:
        return load_conversation(session, f"phone:{number}").dialog


def _step(db: Database, number: str) -> str | None:
    with db.transaction() as session:
        return load_conversation(session, f"phone:{number}").step


def _digit(reply: Outbound, payload: str) -> str | None:
    for i, choice in enumerate(reply.choices, start=1):
        if choice.payload == payload:
            return str(i)
    return None


def _find(chat: Chat, keyword: str) -> str | None:
    """From the main menu, by digits: the menu itself, else the pages of Bantuan."""
    [*_, menu] = chat.send("halo")
    found = _digit(menu, keyword)
    if found is not None:
        return found
    help_digit = _digit(menu, "BANTUAN")
    assert help_digit is not None
    [page] = chat.send(help_digit)
    while True:
        found = _digit(page, keyword)
        if found is not None:
            return found
        more = next((c for c in page.choices if c.payload.startswith("help:")), None)
        if more is None:
            return None
        [page] = chat.send(_digit(page, more.payload) or "")


@pytest.mark.parametrize("name", _dialogs())
def test_every_dialog_by_digits(db: Database, started: list[str], name: str) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", ADMIN, role="admin", whatsapp=True, kelurahan="23 Ilir")
        add_member(session, "Ani", ADMIN, kelurahan="23 Ilir")
        add_member(session, "Dewi", phone(3), kelurahan="19 Ilir", whatsapp=True)
        # The member the treasurer's dialogs are for: savings to withdraw, a loan to repay.
        siti = add_member(session, "Siti Aminah", phone(4), kelurahan="19 Ilir")
        assert siti.id is not None
        deposit(
            session,
            community_id=COMMUNITY,
            member_id=siti.id,
            kind=LedgerKind.SUKARELA,
            amount=200_000,
            channel="cli",
        )
        open_loan(
            session,
            community_id=COMMUNITY,
            member_id=siti.id,
            principal=500_000,
            months=5,
            channel="cli",
        )
    router = Router(db)
    admin = Chat(router, "whatsapp", ADMIN, ADMIN)
    admin.send("halo")  # who is speaking?
    admin.send("1")  # Rina
    keyword = discover()[name].keywords[0]
    chat, number, digit = admin, ADMIN, _find(admin, keyword)
    if digit is None:  # e.g. DAFTAR, for somebody who is not a member yet
        chat, number = Chat(router, "whatsapp", RESIDENT, RESIDENT), RESIDENT
        chat.send("halo")
        digit = _find(chat, keyword)
    if digit is None:  # PERMINTAAN TOLONG: protection officers only, admins included
        with db.transaction() as session:
            add_member(session, "Yanti", OFFICER, role="protection_officer", whatsapp=True)
        chat, number = Chat(router, "whatsapp", OFFICER, OFFICER), OFFICER
        digit = _find(chat, keyword)
    assert digit is not None, f"{keyword} is reachable by no number"
    started.clear()
    replies = chat.send(digit)
    assert started[:1] == [name]
    for _ in range(10):
        if _waiting(db, number) is None:
            return  # the dialog has ended
        question = replies[-1]
        assert question.cancel or _digit(question, "BATAL"), "no number cancels this question"
        if question.choices:
            replies = chat.send("1")
            continue
        step = _step(db, number)
        replies = chat.send(WORDS)
        if _waiting(db, number) is not None and _step(db, number) == step:
            replies = chat.send(AMOUNT)  # not words, then: an amount, in digits
    pytest.fail(f"{name} did not end after 10 answers: {replies[-1].text}")


def test_zero_cancels_every_question(db: Database) -> None:
    chat = Chat(Router(db), "whatsapp", RESIDENT, RESIDENT)
    chat.send("halo")
    for answers in ((), (WORDS,), (WORDS, "1")):  # at the name, the kelurahan, the consent
        chat.send("daftar")
        for answer in answers:
            chat.send(answer)
        [cancelled] = chat.texts("0")
        assert cancelled.startswith("Sudah dibatalkan")
