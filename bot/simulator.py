"""A channel for the terminal: chat with the bot without a phone (``wlcc chat``).

It goes through the same router, dialogs and database as the webhooks. The simulated person
writes from a phone number, like on WhatsApp, and sees choices as a numbered list. What the bot
sends on its own (a broadcast, an approval notice) reaches her through the outbox sender's
simulator outlet (``WLCC_SIMULATOR``): :func:`arrived` shows it once and marks it read.
"""

from __future__ import annotations

import itertools
import textwrap
import uuid

from bot.render import numbered_text
from bot.sender import outbound
from handlers.router import Router
from storage.db import Database
from storage.outbox import mark_read, simulated_unread
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Location, Media, Outbound

CHANNEL = "simulator"
PROMPT = "WLCC> "  # before each answer in the terminal


def wrap_reply(text: str, width: int, prefix: str = PROMPT) -> list[str]:
    """An answer as terminal lines of at most ``width`` characters, broken between words (a
    word longer than a line, a link say, stays whole on its own line): the first line after
    ``prefix``, the others indented under it, the answer's own line breaks kept."""
    indent = " " * len(prefix)
    width = max(width, len(prefix) + 20)  # a very narrow terminal still gets some words a line
    lines: list[str] = []
    for i, paragraph in enumerate(text.split("\n")):
        lead = prefix if i == 0 else indent
        wrapped = textwrap.wrap(
            paragraph,
            width=width,
            initial_indent=lead,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines += wrapped or [lead.rstrip()]
    return lines


class Simulator:
    def __init__(self, router: Router, phone: str, name: str | None = None) -> None:
        self.router = router
        self.phone = phone
        self.name = name
        self._session = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    def inbound(
        self,
        text: str,
        *,
        payload: str | None = None,
        location: Location | None = None,
        media: tuple[Media, ...] = (),
    ) -> Inbound:
        """A message from the person: typed text, a pressed button's ``payload``, a shared
        ``location`` or ``media`` (a photo the web simulator stored, storage.media)."""
        # "/lokasi -2.97 104.76" shares a location pin, as a phone would.
        if location is None and text.startswith(("/lokasi ", "/location ")):
            try:
                lat, lon = (float(x) for x in text.split()[1:3])
                location, text = Location(lat, lon), ""
            except ValueError:
                pass
        return Inbound(
            channel=CHANNEL,
            address=self.phone,
            sender_id=self.phone,
            platform_id=f"sim-{self._session}-{next(self._counter)}",
            received_at=utcnow(),
            text=text,
            payload=payload,
            location=location,
            media=media,
            sender_name=self.name,
            phone=self.phone,
        )

    def turn(self, inbound: Inbound) -> list[Outbound]:
        """One message from the person through the router; the bot's answers."""
        return self.router.handle(inbound) or []

    def send(self, text: str) -> list[str]:
        """One line from the person; the bot's answers as they would read them."""
        return [numbered_text(reply) for reply in self.turn(self.inbound(text))]


def arrived_messages(db: Database, phone: str) -> list[Outbound]:
    """The messages delivered to the simulated chat of ``phone`` and not shown yet (oldest
    first), with their choices; from now on they count as read."""
    with db.transaction() as session:
        waiting = simulated_unread(session, phone)
        mark_read(session, [message.id for message in waiting])
    return [outbound(m.text, m.choices, m.render, m.language) for m in waiting]


def arrived(db: Database, phone: str) -> list[str]:
    """The messages delivered to the simulated chat of ``phone`` and not shown yet, as she reads
    them (oldest first); from now on they count as read."""
    return [numbered_text(message) for message in arrived_messages(db, phone)]
