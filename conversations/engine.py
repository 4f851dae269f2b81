"""The conversation engine: dialogs, their registry and the per-turn context.

A dialog is one class in one file of this package, registered with :func:`register`. It sees a
:class:`Turn` (what the person sent, with any picked choice already resolved) and answers through
the :class:`Context` (``ctx.say``, ``ctx.ask``, ``ctx.goto``, ``ctx.finish``). Its state
(``ctx.step`` and ``ctx.data``) is saved in the database between messages.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session

from storage.audit import record_audit
from storage.conversations import conversation_key
from storage.members import staff
from storage.models import Conversation, Identity, Member, MemberStatus, Role
from storage.outbox import enqueue
from storage.permissions import can
from wlcc.formatting import DEFAULT_ZONE
from wlcc.i18n import Translator, choices_hint
from wlcc.messages import Choice, Inbound, Location, Media, Outbound, SharedContact


@dataclass(frozen=True, slots=True)
class Turn:
    """What the person sent this time, as a dialog sees it."""

    text: str
    choice: str | None = None  # payload of the picked choice (button, number or label)
    contact: SharedContact | None = None
    location: Location | None = None
    media: tuple[Media, ...] = ()
    sender_id: str = ""
    # The platform's id of the message in its chat, where a reply can have it deleted.
    message_id: str | None = None

    @classmethod
    def of(cls, inbound: Inbound, choice: str | None) -> Turn:
        return cls(
            text=inbound.text.strip(),
            choice=choice,
            contact=inbound.contact,
            location=inbound.location,
            media=inbound.media,
            sender_id=inbound.sender_id,
            message_id=inbound.message_id,
        )


@dataclass(slots=True)
class Speaker:
    """Who is writing: the chat identity, the member (if known) and their conversation key."""

    identity: Identity
    language: str
    member: Member | None = None
    # Other members on the same phone (a shared family phone), the speaker included.
    household: tuple[Member, ...] = ()

    @property
    def key(self) -> str:
        """Where the conversation is stored: follows the identity once it proves a phone."""
        return conversation_key(self.identity)

    @property
    def channel(self) -> str:
        return self.identity.channel

    @property
    def role(self) -> str:
        if self.member is None or self.member.status != MemberStatus.ACTIVE:
            return Role.RESIDENT
        return self.member.role

    @property
    def community_id(self) -> int:
        return self.identity.community_id


# The key of ``Conversation.data`` that keeps :attr:`Context.session_state` between dialogs.
SESSION_STATE = "_session"


@dataclass
class Context:
    session: Session
    speaker: Speaker
    conversation: Conversation
    now: datetime
    zone: ZoneInfo = DEFAULT_ZONE
    replies: list[Outbound] = field(default_factory=list)
    # A turn to handle again once the current one is done (set by the household question).
    replay: Turn | None = None
    # The channels that can receive a file the bot made as a document (a statement's PDF):
    # Telegram always, WhatsApp when Twilio can fetch it from PUBLIC_BASE_URL.
    document_channels: frozenset[str] = frozenset({"telegram"})
    # The turn kept a photo or voice note to download now (a complaint's): the bot's floor
    # wakes its media fetcher after the turn (bot/sender.py).
    media_received: bool = False
    t: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.t = Translator(self.speaker.language)

    # --- answering ---
    def say(self, text: str, choices: Iterable[Choice] = (), **extra: Any) -> None:
        options = tuple(choices)
        if options and "hint" not in extra:
            extra["hint"] = choices_hint(self.t, len(options))
        self.replies.append(Outbound(text=text, choices=options, **extra))

    def ask(self, text: str, choices: Iterable[Choice] = (), **extra: Any) -> None:
        """Say and wait for the answer in the current dialog ("0. Batal" cancels it)."""
        if self.dialog is not None and "cancel" not in extra:
            extra["cancel"] = self.t("choice.cancel")
        self.say(text, choices, **extra)

    def can(self, action: str) -> bool:
        """Whether the speaker may do ``action`` (storage.permissions decides)."""
        return can(self.speaker.role, action)

    def require(self, action: str, target: str | None = None) -> bool:
        """Check a privileged action; a refusal is audited and explained to the person.

        What an allowed action then does is audited by the dialog, with its real target.
        """
        allowed = self.can(action)
        if not allowed:
            self.audit(action, allowed=False, target=target, role=self.speaker.role)
            self.say(self.t("permission.denied"))
        return allowed

    def audit(
        self, action: str, *, allowed: bool = True, target: str | None = None, **detail: Any
    ) -> None:
        member = self.speaker.member
        record_audit(
            self.session,
            action=action,
            allowed=allowed,
            community_id=self.speaker.community_id,
            actor_member_id=member.id if member else None,
            actor_identity_id=self.speaker.identity.id,
            channel=self.speaker.channel,
            target=target,
            detail=detail,
            now=self.now,
        )

    def set_language(self, language: str) -> None:
        self.speaker.language = language
        self.t = Translator(language)

    # --- dialog state ---
    @property
    def dialog(self) -> str | None:
        return self.conversation.dialog

    @property
    def step(self) -> str | None:
        return self.conversation.step

    @property
    def data(self) -> dict[str, Any]:
        return self.conversation.data

    def begin(self, dialog: str, step: str = "start") -> None:
        self.conversation.dialog = dialog
        self.conversation.step = step
        self.conversation.data = self._session_only()

    def goto(self, step: str) -> None:
        self.conversation.step = step

    def finish(self) -> None:
        self.conversation.dialog = None
        self.conversation.step = None
        self.conversation.data = self._session_only()

    # --- what lasts for the session, across dialogs ---
    @property
    def session_state(self) -> dict[str, Any]:
        """State that outlives a dialog but not the session: a member who gave her PIN once.
        The session's end (the router's expiry resets the conversation) and a change of person
        on a shared phone (:meth:`end_session_state`, GANTI ORANG) take it away."""
        state = self.conversation.data.get(SESSION_STATE)
        if not isinstance(state, dict):
            state = {}
            self.conversation.data[SESSION_STATE] = state
        return state

    def end_session_state(self) -> None:
        self.conversation.data.pop(SESSION_STATE, None)

    def _session_only(self) -> dict[str, Any]:
        state = self.conversation.data.get(SESSION_STATE)
        return {SESSION_STATE: state} if isinstance(state, dict) and state else {}


class Dialog:
    """Base of every dialog. Subclasses set the class attributes and override the hooks."""

    name: ClassVar[str]
    #: Words that start the dialog (canonical, upper case; typos are forgiven by the router).
    keywords: ClassVar[tuple[str, ...]] = ()
    #: Catalog keys of the main-menu label and the BANTUAN line; None hides it from both.
    menu_key: ClassVar[str | None] = None
    help_key: ClassVar[str | None] = None
    menu_order: ClassVar[int] = 100

    #: The permission (storage.permissions) needed to start it; None means anyone.
    action: ClassVar[str | None] = None
    #: Its keywords work in every state, even inside another dialog (BERHENTI, MULAI).
    global_word: ClassVar[bool] = False
    #: Listed in BANTUAN even when hidden from the main menu.
    help_always: ClassVar[bool] = False
    #: Keywords of another dialog that this one answers instead whenever :meth:`claims` says
    #: so: a bare TOLAK from a member asked to take a role is her answer to that ask
    #: (conversations/meetings_roles.py), not a coordinator rejecting a registration.
    borrows: ClassVar[tuple[str, ...]] = ()
    #: Its keywords are everyday answers ("tidak", "hadir"): typed while choices are shown,
    #: they still pick the choice whose label they name ("Tidak setuju") instead of starting it.
    yields_to_labels: ClassVar[bool] = False

    def accepts(self, args: str) -> bool:
        """Whether the words after a typed keyword are an argument of this dialog.

        By default none are: "mulai kemarin air mati" or "data rumah saya salah" is a sentence
        about something else, not MULAI or DATA. Dialogs that take an argument say which.
        """
        return not args.strip()

    def claims(self, ctx: Context, args: str) -> bool:
        """Whether one of its borrowed keywords, followed by ``args``, is meant for this dialog
        this time (rather than for the keyword's own dialog)."""
        return False

    def allowed(self, ctx: Context) -> bool:
        """Whether this speaker may use the dialog (and see it in MENU and BANTUAN)."""
        return self.action is None or ctx.can(self.action)

    def refuse(self, ctx: Context) -> None:
        """Said when ``allowed`` is false for this speaker."""
        ctx.say(ctx.t("permission.denied"))

    def start(self, ctx: Context, args: str) -> None:
        raise NotImplementedError

    def handle(self, ctx: Context, turn: Turn) -> bool:
        """Answer a turn inside the dialog; False lets the router try top-level keywords."""
        raise NotImplementedError

    def reprompt(self, ctx: Context) -> None:
        """Said when a turn was not understood inside the dialog."""
        ctx.say(ctx.t("dialog.not_understood"))

    def after_link(self, ctx: Context) -> None:
        """Called when the person proved their phone (Telegram) while this dialog waited."""

    def in_menu(self, ctx: Context) -> bool:
        """Whether the main menu lists it for this speaker (default: whoever may use it)."""
        return self.allowed(ctx)


def ask_staff(
    ctx: Context,
    *,
    key: str,
    kind: str,
    text_key: str,
    params: dict[str, object],
    choices: Iterable[tuple[str, str]],
) -> int:
    """Send every coordinator (and admin) a question they answer with one reply, each in their
    own language: ``choices`` are (payload, catalog key), the labels filled in with ``params``
    too ("Setujui Ani Lestari"). Returns how many were asked."""
    coordinators = staff(ctx.session, ctx.speaker.community_id, (Role.COORDINATOR, Role.ADMIN))
    for coordinator in coordinators:
        t = Translator(coordinator.language)
        enqueue(
            ctx.session,
            key=f"{key}:{coordinator.id}",
            kind=kind,
            community_id=ctx.speaker.community_id,
            member_id=coordinator.id,
            text=t(text_key, **params),
            choices=[(payload, t(label_key, **params)) for payload, label_key in choices],
        )
    return len(coordinators)


REGISTRY: dict[str, Dialog] = {}


D = TypeVar("D", bound=type[Dialog])


def register(cls: D) -> D:
    if cls.name in REGISTRY:
        raise RuntimeError(f"dialog {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


_discovered = False


def discover() -> dict[str, Dialog]:
    """Import every module of this package (once) so its dialogs register themselves."""
    global _discovered
    if not _discovered:
        package = importlib.import_module(__package__ or "conversations")
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_") and module.name != "engine":
                importlib.import_module(f"{package.__name__}.{module.name}")
        _discovered = True
    return REGISTRY


def menu_dialogs(ctx: Context, *, for_help: bool = False) -> list[Dialog]:
    """The dialogs this speaker may start, in menu order (for BANTUAN: those with help)."""
    dialogs = [
        d
        for d in discover().values()
        if (d.menu_key and d.in_menu(ctx))
        or (for_help and d.help_key and (d.help_always or d.in_menu(ctx)) and d.allowed(ctx))
    ]
    return sorted(dialogs, key=lambda d: (d.menu_order, d.name))


_indexes: dict[tuple[str, ...], tuple[dict[str, str], dict[str, str]]] = {}


def _keyword_indexes() -> tuple[dict[str, str], dict[str, str]]:
    dialogs = discover()
    cache_key = tuple(dialogs)  # dialogs registered later (tests) get a fresh index
    if cache_key not in _indexes:
        index: dict[str, str] = {}
        for dialog in dialogs.values():
            for word in dialog.keywords:
                if word.upper() in index:
                    raise RuntimeError(f"keyword {word!r} belongs to two dialogs")
                index[word.upper()] = dialog.name
        for dialog in dialogs.values():
            for word in dialog.borrows:
                if word.upper() not in index or index[word.upper()] == dialog.name:
                    raise RuntimeError(f"{dialog.name} borrows {word!r}, no other dialog's keyword")
        global_words = {k: name for k, name in index.items() if dialogs[name].global_word}
        _indexes[cache_key] = (index, global_words)
    return _indexes[cache_key]


def keyword_index() -> dict[str, str]:
    """Every starting keyword -> dialog name."""
    return _keyword_indexes()[0]


def borrower(ctx: Context, keyword: str, args: str) -> Dialog | None:
    """The dialog that answers ``keyword`` (and ``args``) this time instead of its owner."""
    for dialog in discover().values():
        if keyword.upper() in dialog.borrows and dialog.claims(ctx, args):
            return dialog
    return None


def global_keyword_index() -> dict[str, str]:
    """Keywords that work in every state -> dialog name."""
    return _keyword_indexes()[1]
