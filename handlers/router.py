"""The router: one inbound message in, the replies out, inside one database transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import inspect
from sqlmodel import Session

from bot.messages import Choice, Inbound, Outbound
from conversations.engine import Context, Speaker, Turn, discover, keyword_index, menu_dialogs
from handlers.matching import is_number, match_keyword, pick_label, pick_number
from storage.conversations import load_conversation, save_conversation
from storage.db import Database
from storage.identities import touch_identity
from storage.inbound import attach_identity, record_inbound
from storage.models import Identity
from wlcc.formatting import DEFAULT_ZONE
from wlcc.i18n import DEFAULT_LANGUAGE

log = logging.getLogger(__name__)

# Words that work in every state.
GLOBAL_WORDS = {
    "MENU": "menu",
    "MENU UTAMA": "menu",
    "BANTUAN": "help",
    "HELP": "help",
    "BATAL": "cancel",
    "CANCEL": "cancel",
}


@dataclass(frozen=True)
class RouterConfig:
    session_timeout: timedelta = timedelta(minutes=30)
    zone: ZoneInfo = DEFAULT_ZONE
    default_language: str = DEFAULT_LANGUAGE


def speaker_key(identity: Identity) -> str:
    """Conversations follow the person: by proven phone when known, else by chat address."""
    if identity.phone:
        return f"phone:{identity.phone}"
    return f"{identity.channel}:{identity.address}"


class Router:
    def __init__(self, db: Database, config: RouterConfig | None = None) -> None:
        self.db = db
        self.config = config or RouterConfig()
        discover()

    def handle(self, inbound: Inbound) -> list[Outbound] | None:
        """Process one message; None when the platform already delivered it (a retry)."""
        with self.db.transaction(lock_key=inbound.speaker_address) as session:
            inbound_id = record_inbound(
                session,
                channel=inbound.channel,
                platform_id=inbound.platform_id,
                kind=inbound.kind,
                received_at=inbound.received_at,
            )
            if inbound_id is None:
                log.info("duplicate %s message ignored", inbound.channel)
                return None
            identity = touch_identity(
                session,
                channel=inbound.channel,
                address=inbound.address,
                phone=inbound.phone,
                display_name=inbound.sender_name,
            )
            assert identity.id is not None
            attach_identity(session, inbound_id, identity.id)
            speaker = self.identify(session, identity)
            if speaker.key != inbound.speaker_address:
                self.db.lock(session, speaker.key)
            conversation = load_conversation(session, speaker.key)
            ctx = Context(
                session=session,
                speaker=speaker,
                conversation=conversation,
                now=inbound.received_at,
                zone=self.config.zone,
            )
            try:
                with session.begin_nested():
                    self.respond(ctx, inbound)
            except Exception:
                # The message stays recorded (no endless platform retries) and the person is
                # told; whatever the failed turn changed was rolled back with its savepoint.
                log.exception("turn failed on %s", inbound.channel)
                ctx.conversation = load_conversation(session, speaker.key)
                ctx.finish()
                ctx.conversation.choices = []
                ctx.replies = [Outbound(ctx.t("error.generic"))]
            save_conversation(session, ctx.conversation, now=inbound.received_at)
            return ctx.replies

    def identify(self, session: Session, identity: Identity) -> Speaker:
        return Speaker(
            identity=identity,
            key=speaker_key(identity),
            channel=identity.channel,
            language=identity.language or self.config.default_language,
        )

    # --- one turn ---
    def respond(self, ctx: Context, inbound: Inbound) -> None:
        conversation = ctx.conversation
        fresh = inspect(conversation).transient
        if not fresh and self._expired(conversation.updated_at, ctx.now):
            if conversation.dialog:
                ctx.say(ctx.t("session.expired"))
            ctx.finish()
            conversation.choices = []

        choice = self._resolve_choice(ctx, inbound)
        turn = Turn.of(inbound, choice)
        dialog_before = ctx.dialog
        replies_before = len(ctx.replies)
        self._dispatch(ctx, turn, first_contact=fresh)
        # A typed number picks from the last choices shown; a dialog that ends forgets its own.
        new_choices = [r.choices for r in ctx.replies[replies_before:] if r.choices]
        if new_choices:
            conversation.choices = [[c.payload, c.label] for c in new_choices[-1]]
        elif dialog_before is not None and ctx.dialog is None:
            conversation.choices = []

    def _expired(self, updated_at: datetime, now: datetime) -> bool:
        return now - updated_at > self.config.session_timeout

    def _resolve_choice(self, ctx: Context, inbound: Inbound) -> str | None:
        shown = {payload: label for payload, label in ctx.conversation.choices}
        if inbound.payload is not None:
            # Channels that cannot carry a long payload send the choice's position: "#2".
            if inbound.payload.startswith("#") and inbound.payload[1:].isdigit():
                index = int(inbound.payload[1:]) - 1
                choices = ctx.conversation.choices
                return choices[index][0] if 0 <= index < len(choices) else None
            return inbound.payload
        text = inbound.text.strip()
        if not text or not shown:
            return None
        picked = pick_number(text, len(shown))
        if picked is not None:
            return ctx.conversation.choices[picked][0]
        return pick_label(text, shown)

    def _dispatch(self, ctx: Context, turn: Turn, *, first_contact: bool) -> None:
        dialogs = discover()
        in_dialog = ctx.dialog is not None and ctx.dialog in dialogs

        # 1. Global words, typed or picked, win in every state.
        word = self._global_word(turn, strict=in_dialog)
        if word is not None:
            getattr(self, f"_global_{word}")(ctx)
            return

        # 2. A dialog waiting for an answer gets the turn first.
        if in_dialog:
            dialog = dialogs[ctx.dialog or ""]
            if dialog.handle(ctx, turn):
                return
            started = self._start_by_keyword(ctx, turn, strict=True)
            if not started:
                dialog.reprompt(ctx)
            return

        # 3. A keyword (typed or picked from a menu) starts a dialog or command.
        if self._start_by_keyword(ctx, turn, strict=False):
            return

        # 4. Nothing matched.
        if first_contact:
            ctx.say(ctx.t("welcome"))
            self._global_menu(ctx)
        elif turn.text and is_number(turn.text):
            ctx.say(ctx.t("choice.no_menu"))
        elif turn.location is not None or turn.media or turn.contact is not None:
            ctx.say(ctx.t("fallback.attachment"))
        else:
            ctx.say(ctx.t("fallback.not_understood"))

    def _global_word(self, turn: Turn, *, strict: bool) -> str | None:
        if turn.choice is not None:
            return GLOBAL_WORDS.get(turn.choice.upper())
        if not turn.text:
            return None
        found = match_keyword(turn.text, list(GLOBAL_WORDS), strict=True)
        if found is None and not strict:
            found = match_keyword(turn.text, list(GLOBAL_WORDS), strict=False)
            if found is not None and found.args:
                found = None  # "bantuan kekerasan" is a feature, not the help page
        return GLOBAL_WORDS[found.keyword] if found else None

    def _start_by_keyword(self, ctx: Context, turn: Turn, *, strict: bool) -> bool:
        dialogs = discover()
        index = keyword_index()
        name: str | None = None
        args = ""
        if turn.choice is not None:
            name = index.get(turn.choice.upper())
        elif turn.text:
            found = match_keyword(turn.text, list(index), strict=strict)
            if found is not None:
                name, args = index[found.keyword], found.args
        if name is None:
            return False
        dialog = dialogs[name]
        ctx.finish()
        if not dialog.allowed(ctx):
            ctx.say(ctx.t("permission.denied"))
            return True
        dialog.start(ctx, args)
        return True

    # --- global words ---
    def _global_menu(self, ctx: Context) -> None:
        ctx.finish()
        choices = [Choice(d.keywords[0], ctx.t(d.menu_key or "")) for d in menu_dialogs(ctx)]
        choices.append(Choice("BANTUAN", ctx.t("menu.help")))
        ctx.say(ctx.t("menu.header"), choices)

    def _global_help(self, ctx: Context) -> None:
        ctx.finish()
        lines = [ctx.t("help.header")]
        for dialog in menu_dialogs(ctx):
            if dialog.help_key:
                lines.append(ctx.t(dialog.help_key))
        lines.append(ctx.t("help.footer"))
        ctx.say("\n".join(lines))

    def _global_cancel(self, ctx: Context) -> None:
        was_active = ctx.dialog is not None
        ctx.finish()
        ctx.say(ctx.t("cancel.done" if was_active else "cancel.nothing"))
