"""BANTUAN: short numbered pages, every command reachable by digits, none longer than 700."""

from __future__ import annotations

import pytest

from bot.render import numbered_text
from conversations.engine import discover
from handlers.router import Router
from storage.db import Database
from tests.outbox_support import Chat, add_member, phone
from wlcc.messages import Outbound

# What one WhatsApp message of help may be, so that it fits on a small screen.
LIMIT = 700
ROLES = ("member", "coordinator", "treasurer", "admin", "protection_officer")


def _pages(chat: Chat, word: str) -> list[Outbound]:
    """Every page of help, by choosing "Lainnya" with its number until there is none."""
    [page] = chat.send(word)
    pages = [page]
    while page.choices and page.choices[-1].payload.startswith("help:"):
        [page] = chat.send(str(len(page.choices)))
        pages.append(page)
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_short_and_every_command_is_a_number(
    db: Database, role: str, language: str
) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", phone(1), role=role, language=language, whatsapp=True)
        # A shared phone too, so that GANTI ORANG is listed.
        add_member(session, "Ani", phone(1), language=language)
    chat = Chat(Router(db), "whatsapp", phone(1), phone(1))
    chat.send("halo")  # who is speaking?
    chat.send("1")  # Rina
    pages = _pages(chat, "help" if language == "en" else "bantuan")
    offered: list[str] = []
    for page in pages:
        text = numbered_text(page)
        assert len(text) <= LIMIT, text
        assert 1 < len(page.choices) <= 8
        offered += [c.payload for c in page.choices if not c.payload.startswith("help:")]
    # Every command with a line in help is one of the numbered choices, once.
    assert len(offered) == len(set(offered))
    assert {"MENU", "BATAL", "BERHENTI", "MULAI", "HAPUS DATA", "PRIVASI", "GANTI ORANG"} <= set(
        offered
    )
    if role in ("coordinator", "admin"):
        assert {"UMUMKAN", "UMUMKAN STATUS", "UMUMKAN HENTIKAN", "SETUJUI"} <= set(offered)
    helped = {d.keywords[0] for d in discover().values() if d.help_key}
    assert set(offered) - {"MENU", "BATAL"} <= helped


def test_a_digit_on_a_help_page_starts_that_command(db: Database) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", phone(2), whatsapp=True)
    chat = Chat(Router(db), "whatsapp", phone(2), phone(2))
    pages = _pages(chat, "bantuan")
    where, number = next(
        (p, i)
        for p, page in enumerate(pages)
        for i, c in enumerate(page.choices, 1)
        if c.payload == "BERHENTI"
    )
    chat.send("bantuan")
    for page in pages[:where]:
        chat.send(str(len(page.choices)))  # "Lainnya"
    [stopped] = chat.texts(str(number))
    assert stopped.startswith("Baik, Anda tidak akan menerima pengumuman")
