"""The router: one inbound message in, the replies out, inside one database transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect
from sqlmodel import Session

from conversations import consent, household, link_phone
from conversations.engine import (
    Context,
    Dialog,
    Speaker,
    Turn,
    borrower,
    discover,
    global_keyword_index,
    keyword_index,
    menu_dialogs,
)
from handlers.distress import mentions_distress
from handlers.matching import (
    is_number,
    match_keyword,
    normalize,
    pick_label,
    pick_number,
    typed_number,
)
from storage.conversations import (
    conversation_key,
    load_conversation,
    move_conversation,
    save_conversation,
    snapshot,
)
from storage.db import Database
from storage.identities import touch_identity
from storage.inbound import claim_for_processing, note_failure, record_inbound
from storage.members import first_name, members_on_phone
from storage.models import Conversation, Identity, Member
from storage.outbox import (
    PlannedReplies,
    ReplyFailure,
    ReplyItem,
    Settlement,
    plan_replies,
    settle_replies,
)
from wlcc.formatting import DEFAULT_ZONE, utcnow
from wlcc.i18n import DEFAULT_LANGUAGE, choices_range
from wlcc.messages import Choice, Inbound, Outbound, SendReport
from wlcc.settings import DEFAULT_HOTLINES, Hotline, Settings

log = logging.getLogger(__name__)

# Words the router itself answers, in every state.
GLOBAL_WORDS = {
    "MENU": "menu",
    "MENU UTAMA": "menu",
    "BANTUAN": "help",
    "HELP": "help",
    "BATAL": "cancel",
    "CANCEL": "cancel",
}
# Politeness outside any dialog: a greeting opens the menu, thanks get a kind answer.
COURTESY = {
    **dict.fromkeys(
        (
            "HALO",
            "HALLO",
            "HAI",
            "HELLO",
            "HI",
            "PAGI",
            "SELAMAT PAGI",
            "SELAMAT SIANG",
            "SELAMAT SORE",
            "SELAMAT MALAM",
            "ASSALAMUALAIKUM",
            "ASSALAMU ALAIKUM",
            "PERMISI",
        ),
        "greeting",
    ),
    **dict.fromkeys(
        ("TERIMA KASIH", "TERIMAKASIH", "MAKASIH", "MAKASI", "TRIMS", "THANKS", "THANK YOU"),
        "thanks",
    ),
}
# BANTUAN shows this many commands at a time, numbered, with "Lainnya" for the next ones.
HELP_PAGE = 6
HELP_PAGE_PAYLOAD = "help:"  # "help:2" is the second page
# An unchanged conversation is saved again (to keep it from expiring) at most this often.
RESAVE_AFTER = timedelta(minutes=1)

# Global words that concern the whole phone and need no "who is speaking?" first.
PHONE_WIDE = frozenset({"help", "cancel"})


@dataclass(frozen=True)
class RouterConfig:
    session_timeout: timedelta = timedelta(minutes=30)
    zone: ZoneInfo = DEFAULT_ZONE
    default_language: str = DEFAULT_LANGUAGE
    # How long the replies of a message are the answering process's to send; after a crash the
    # outbox sender sends them once it ends.
    reply_lease: timedelta = timedelta(seconds=60)
    answer_attempts: int = 3  # a message whose answer fails this often is set aside
    reply_retry: timedelta = timedelta(seconds=5)  # a reply the platform refused: next try
    hotlines: tuple[Hotline, ...] = DEFAULT_HOTLINES
    # Channels a file the bot made reaches as a document: Telegram by upload; WhatsApp only
    # when Twilio can fetch it from PUBLIC_BASE_URL (``/media/<token>``).
    document_channels: frozenset[str] = frozenset({"telegram"})

    @classmethod
    def from_settings(cls, settings: Settings) -> RouterConfig:
        return cls(
            session_timeout=timedelta(minutes=settings.wlcc_session_timeout_minutes),
            zone=settings.timezone,
            default_language=settings.wlcc_default_language,
            reply_lease=timedelta(seconds=settings.wlcc_reply_lease_seconds),
            answer_attempts=settings.wlcc_answer_attempts,
            reply_retry=timedelta(seconds=settings.wlcc_outbox_backoff_seconds),
            hotlines=settings.wlcc_help_hotlines,
            document_channels=frozenset(
                {"telegram", "whatsapp"} if settings.public_base_url else {"telegram"}
            ),
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """The replies to one message and their outbox rows (committed with the turn)."""

    replies: list[Outbound]
    planned: PlannedReplies
    # A complaint photo or voice note came with the turn: wake the media fetcher.
    fetch_media: bool = False


def reply_item(pieces: Sequence[Outbound]) -> ReplyItem:
    """How storage keeps a reply (or the unsent pieces of one, in order): their text, their
    choices and photos, and what the channel needs beyond them, as worded now."""
    last = pieces[-1]
    render: dict[str, Any] = {}
    if last.hint:
        render["hint"] = last.hint
    if last.request_contact:
        render["request_contact"] = last.request_contact
    if last.remove_keyboard:
        render["remove_keyboard"] = True
    if last.cancel:
        render["cancel"] = last.cancel
    deletes = [p.delete_message for p in pieces if p.delete_message]
    if deletes:
        render["delete_message"] = deletes[0]
    return ReplyItem(
        text=last.text if len(pieces) == 1 else "\n".join(p.text for p in pieces if p.text.strip()),
        choices=tuple((c.payload, c.label) for p in pieces for c in p.choices),
        media=tuple(m.ref for p in pieces for m in p.media),
        render=render,
    )


class Router:
    def __init__(self, db: Database, config: RouterConfig | None = None) -> None:
        self.db = db
        self.config = config or RouterConfig()
        discover()

    def handle(self, inbound: Inbound) -> list[Outbound] | None:
        """Record and process one message; None when the platform already delivered it."""
        with self.db.transaction() as session:
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
        return self.process(inbound_id, inbound)

    def process(self, inbound_id: int, inbound: Inbound) -> list[Outbound] | None:
        """Answer a recorded message, once: None when it was already processed. The replies
        are only returned (the simulator and tests show them); :meth:`answer` also keeps them."""
        answer = self._turn(inbound_id, inbound, keep=False)
        return None if answer is None else answer.replies

    def answer(self, inbound_id: int, inbound: Inbound) -> Answer | None:
        """Answer a recorded message, once, and write its replies to the outbox in the same
        transaction (leased to the caller to send at once, when nothing of this chat is still
        waiting): None when it was already processed."""
        return self._turn(inbound_id, inbound, keep=True)

    def settle_many(self, sends: Sequence[tuple[Inbound, Answer, SendReport]]) -> int:
        """Record how the direct sends of many messages' replies went, in one transaction;
        returns how many replies the outbox now retries."""
        settlements = []
        for inbound, answer, report in sends:
            failure = None
            if report.failure is not None:
                failure = ReplyFailure(
                    retry=report.retry,
                    detail=report.failure,
                    retry_after=report.retry_after,
                    unreachable=report.unreachable,
                    rest=reply_item(report.rest) if report.rest else None,
                )
            settlements.append(
                Settlement(answer.planned, report.sent, failure, inbound.channel, inbound.address)
            )
        with self.db.transaction() as session:
            return settle_replies(
                session, settlements, now=utcnow(), retry_after=self.config.reply_retry
            )

    def note_failure(self, inbound_id: int, error: str) -> int:
        """Count a failed answer; how many there were (at ``answer_attempts`` the message is
        set aside for good; 0: it was answered meanwhile)."""
        with self.db.transaction() as session:
            return note_failure(
                session, inbound_id, error, now=utcnow(), attempts=self.config.answer_attempts
            )

    def _turn(self, inbound_id: int, inbound: Inbound, *, keep: bool) -> Answer | None:
        with self.db.transaction(lock_key=inbound.speaker_address) as session:
            identity = touch_identity(
                session,
                channel=inbound.channel,
                address=inbound.address,
                phone=inbound.phone,
                display_name=inbound.sender_name,
                now=inbound.received_at,
            )
            assert identity.id is not None
            if not claim_for_processing(session, inbound_id, identity.id):
                session.rollback()
                return None
            key = conversation_key(identity)
            if key != inbound.speaker_address:
                self.db.lock(session, key)
            conversation = load_conversation(session, key)
            before = snapshot(conversation)
            first_contact = inspect(conversation).transient
            expired = not first_contact and self._expired(conversation, inbound.received_at)
            had_dialog = conversation.dialog is not None
            if expired:
                # The choices of a message outside any dialog (a notice's answers, a menu) stay
                # answerable by number: she may read a notice hours after it came. A dialog's
                # own choices go with the dialog.
                kept = conversation.choices if conversation.dialog is None else []
                _reset(conversation)
                conversation.choices = kept
            ctx = Context(
                session=session,
                speaker=self.identify(session, identity, conversation),
                conversation=conversation,
                now=inbound.received_at,
                zone=self.config.zone,
                document_channels=self.config.document_channels,
            )
            if expired and had_dialog:
                ctx.say(ctx.t("session.expired"))
            try:
                with session.begin_nested():
                    self.respond(ctx, inbound, first_contact=first_contact)
            except Exception:
                # The message stays recorded (no endless platform retries) and the person is
                # told; whatever the failed turn changed was rolled back with its savepoint.
                log.exception("turn failed on %s", inbound.channel)
                ctx.conversation = load_conversation(session, key)
                _reset(ctx.conversation)
                ctx.replies = [Outbound(ctx.t("error.generic"))]
            self._follow_phone_link(session, ctx)
            idle = inbound.received_at - ctx.conversation.updated_at
            if first_contact or snapshot(ctx.conversation) != before or idle >= RESAVE_AFTER:
                save_conversation(session, ctx.conversation, now=inbound.received_at)
            planned = PlannedReplies((), None)
            if keep and ctx.replies:
                planned = plan_replies(
                    session,
                    inbound_id=inbound_id,
                    platform_id=inbound.platform_id,
                    identity_id=identity.id,
                    community_id=identity.community_id,
                    replies=[reply_item([reply]) for reply in ctx.replies],
                    now=utcnow(),
                    lease=self.config.reply_lease,
                )
            return Answer(ctx.replies, planned, fetch_media=ctx.media_received)

    def identify(self, session: Session, identity: Identity, conversation: Conversation) -> Speaker:
        household_members: tuple[Member, ...] = ()
        member = None
        if identity.phone:
            household_members = tuple(
                members_on_phone(session, identity.community_id, identity.phone)
            )
            if len(household_members) == 1:
                member = household_members[0]
            elif conversation.member_id is not None:
                member = next(
                    (m for m in household_members if m.id == conversation.member_id), None
                )
        language = (
            (member.language if member else None)
            or identity.language
            or self.config.default_language
        )
        return Speaker(
            identity=identity,
            language=language,
            member=member,
            household=household_members,
        )

    def _expired(self, conversation: Conversation, now: datetime) -> bool:
        return now - conversation.updated_at > self.config.session_timeout

    def _follow_phone_link(self, session: Session, ctx: Context) -> None:
        """After a Telegram user proved their phone, their conversation moves to the phone key."""
        new_key = ctx.speaker.key
        if new_key != ctx.conversation.key:
            self.db.lock(session, new_key)
            ctx.conversation = move_conversation(session, ctx.conversation, new_key)

    # --- one turn ---
    def respond(self, ctx: Context, inbound: Inbound, *, first_contact: bool = False) -> None:
        conversation = ctx.conversation
        choice = self._resolve_choice(ctx, inbound)
        turn = Turn.of(inbound, choice)
        replies_before = len(ctx.replies)
        if self._number_not_shown(ctx, turn):
            return  # the list shown stays open
        self._dispatch(ctx, turn, first_contact=first_contact)
        # A typed number answers the message it follows: the last choices shown, if the bot's
        # last answer showed any; after an answer without choices a number picks nothing old.
        new = ctx.replies[replies_before:]
        new_choices = [r.choices for r in new if r.choices]
        if new_choices:
            conversation.choices = [[c.payload, c.label] for c in new_choices[-1]]
        elif new:
            conversation.choices = []

    def _number_not_shown(self, ctx: Context, turn: Turn) -> bool:
        """ "9" after a list of 4: say which numbers there are (the list stays open)."""
        count = len(ctx.conversation.choices)
        number = typed_number(turn.text) if turn.text and turn.choice is None else None
        if number is None or not count:
            return False
        ctx.say(ctx.t("choice.not_shown", number=number, range=choices_range(ctx.t, count)))
        return True

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
        if ctx.dialog is not None and text and typed_number(text) == "0":
            return "BATAL"  # every question in a dialog ends with "0. Batal"
        if not text or not shown:
            return None
        picked = pick_number(text, len(shown))
        if picked is not None:
            return ctx.conversation.choices[picked][0]
        if normalize(text) not in {normalize(label) for label in shown.values()}:
            # A keyword typed exactly is a command, not a near-miss of a label: "SETUJUI" must
            # not approve whoever the list showed as "Setujui Ani".
            keywords = keyword_index()
            found = match_keyword(text, [*GLOBAL_WORDS, *keywords], strict=True)
            if found is not None and found.exact:
                dialog = discover().get(keywords.get(found.keyword, ""))
                if dialog is None or not dialog.yields_to_labels:
                    return None
        return pick_label(text, shown)

    def _dispatch(self, ctx: Context, turn: Turn, *, first_contact: bool) -> None:
        dialogs = discover()
        in_dialog = ctx.dialog is not None and ctx.dialog in dialogs

        # 0. Words of violence or danger get the help lines first, in every state, from anyone
        # (a first message, a family phone before "who is speaking?"); a dialog waits.
        if turn.text and mentions_distress(turn.text):
            self._help_lines(ctx)
            return

        # A contact card on Telegram is the person proving (or not) their own number.
        if turn.contact is not None and link_phone.accepts_contacts(ctx):
            link_phone.accept_contact(ctx, turn)
            return

        # 1. The router's own words, typed or picked, win in every state.
        if turn.choice is not None and turn.choice.startswith(HELP_PAGE_PAYLOAD):
            page = turn.choice.removeprefix(HELP_PAGE_PAYLOAD)
            self._global_help(ctx, page=int(page) if page.isdigit() else 1)
            return
        word = self._global_word(turn, strict=in_dialog)
        if word in PHONE_WIDE:
            getattr(self, f"_global_{word}")(ctx)
            return

        # 2. Dialog keywords that work in every state (BERHENTI, MULAI).
        if self._start_by_keyword(ctx, turn, strict=in_dialog, index=global_keyword_index()):
            return

        # 3. On a shared family phone, nothing personal happens before "who is speaking?".
        if household.needs_choice(ctx):
            if ctx.dialog != household.HouseholdDialog.name:
                household.ask(ctx, turn)
                return
            in_dialog = True
        if word is not None:
            getattr(self, f"_global_{word}")(ctx)
            return

        # 4. A dialog waiting for an answer gets the turn first.
        if in_dialog:
            dialog = dialogs[ctx.dialog or ""]
            if dialog.handle(ctx, turn):
                replay, ctx.replay = ctx.replay, None
                if replay is not None:  # e.g. the message that came before "who is speaking?"
                    if self._starts_something(replay):
                        self._dispatch(ctx, replay, first_contact=False)
                    else:
                        self._global_menu(ctx)
                return
            if not self._start_by_keyword(ctx, turn, strict=True):
                dialog.reprompt(ctx)
            return

        # 5. A member's first message: greet by name and ask consent once.
        if consent.should_ask(ctx):
            dialogs[consent.NAME].start(ctx, "")
            return

        # Telegram's /start (the first thing a Telegram user sends) opens the menu.
        if turn.text.lower().startswith("/start"):
            if first_contact:
                ctx.say(ctx.t("welcome"))
            self._global_menu(ctx)
            return

        # 6. A keyword (typed or picked from a menu) starts a dialog or command.
        if self._start_by_keyword(ctx, turn, strict=False):
            return

        # 7. Nothing matched.
        courtesy = match_keyword(turn.text, list(COURTESY)) if turn.text else None
        if first_contact:
            ctx.say(ctx.t("welcome"))
            self._global_menu(ctx)
        elif courtesy is not None and not courtesy.args:
            if COURTESY[courtesy.keyword] == "thanks":
                ctx.say(ctx.t("courtesy.thanks"))
            else:  # a greeting: the menu is what she came for
                self._global_menu(ctx)
        elif turn.text and is_number(turn.text):
            # The choices shown before have gone (answered, or the session expired).
            ctx.say(ctx.t("choice.no_menu"))
            self._global_menu(ctx)
        elif turn.location is not None or turn.media or turn.contact is not None:
            ctx.say(ctx.t("fallback.attachment"))
        else:
            ctx.say(ctx.t("fallback.not_understood"))

    def _starts_something(self, turn: Turn) -> bool:
        if not turn.text:
            return False
        if self._global_word(turn, strict=False) is not None:
            return True
        return match_keyword(turn.text, list(keyword_index())) is not None

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

    def _start_by_keyword(
        self,
        ctx: Context,
        turn: Turn,
        *,
        strict: bool,
        index: dict[str, str] | None = None,
    ) -> bool:
        dialogs = discover()
        index = keyword_index() if index is None else index
        found = None
        if turn.choice is not None:
            # Menu payloads are keywords, possibly with an argument: "SETUJUI 12".
            found = match_keyword(turn.choice, list(index), strict=False)
            if found is not None and not found.exact:
                found = None
        elif turn.text:
            found = match_keyword(turn.text, list(index), strict=strict)
        if found is None:
            return False
        dialog = borrower(ctx, found.keyword, found.args) or dialogs[index[found.keyword]]
        if dialog.name == index[found.keyword] and not dialog.accepts(found.args):
            # "setuju sama tetangga" is not SETUJUI, nor "mulai kemarin air mati" MULAI.
            return False
        self._start(ctx, dialog, found.args)
        return True

    def _start(self, ctx: Context, dialog: Dialog, args: str) -> None:
        if not dialog.global_word:  # BERHENTI or MULAI in the middle of DAFTAR keeps DAFTAR
            ctx.finish()
        if dialog.action is not None and not ctx.require(dialog.action, target=dialog.name):
            return
        if not dialog.allowed(ctx):
            dialog.refuse(ctx)
            return
        dialog.start(ctx, args)

    def _help_lines(self, ctx: Context) -> None:
        lines = [ctx.t("distress.intro")]
        lines += [ctx.t("distress.line", name=h.name, phone=h.phone) for h in self.config.hotlines]
        lines.append(ctx.t("distress.crisis_centre"))
        ctx.say("\n".join(lines))

    # --- the router's own words ---
    def _global_menu(self, ctx: Context) -> None:
        ctx.finish()
        choices = [Choice(d.keywords[0], ctx.t(d.menu_key or "")) for d in menu_dialogs(ctx)]
        choices.append(Choice("BANTUAN", ctx.t("menu.help")))
        member = ctx.speaker.member
        header = ctx.t("menu.header")
        if member is not None:
            header = ctx.t("menu.header_named", name=first_name(member))
        ctx.say(header, choices)

    def _global_help(self, ctx: Context, page: int = 1) -> None:
        """The commands, a few at a time, each a numbered choice (its payload the keyword)."""
        ctx.finish()
        entries = [
            Choice(d.keywords[0], ctx.t(d.help_key))
            for d in menu_dialogs(ctx, for_help=True)
            if d.help_key
        ]
        entries += [Choice("MENU", ctx.t("help.menu")), Choice("BATAL", ctx.t("help.cancel"))]
        chunks = [entries[i : i + HELP_PAGE] for i in range(0, len(entries), HELP_PAGE)]
        if len(chunks) > 1 and len(chunks[-1]) == 1:  # no page for one lonely command
            lonely = chunks.pop()
            chunks[-1] += lonely
        pages = len(chunks)
        page = min(max(page, 1), pages)
        choices = list(chunks[page - 1])
        if page < pages:
            choices.append(Choice(f"{HELP_PAGE_PAYLOAD}{page + 1}", ctx.t("help.more")))
        header = (
            ctx.t("help.header") if page == 1 else ctx.t("help.header_more", page=page, pages=pages)
        )
        ctx.say(header, choices)

    def _global_cancel(self, ctx: Context) -> None:
        was_active = ctx.dialog is not None
        ctx.finish()
        ctx.say(ctx.t("cancel.done" if was_active else "cancel.nothing"))


def _reset(conversation: Conversation) -> None:
    conversation.dialog = None
    conversation.step = None
    conversation.data = {}
    conversation.choices = []
    conversation.member_id = None
