"""The browser simulator at ``/simulator``: chat with the bot as a demo member, a coordinator,
the treasurer, or a resident who is not a member, without a phone (issue 13, item 4).

It is the terminal chat's channel ("simulator", bot/simulator.py) in a web page: the same
router, dialogs and database as the webhooks (the app's own router, ``app.state.dispatcher``).
What the bot sends on its own (a broadcast, a meeting notice, a console login code) arrives in
the chosen person's chat through the outbox sender's simulator outlet
(``storage.outbox.simulated_unread``), as in ``wlcc chat``.

It needs no login, so it is served only when ``WLCC_SIMULATOR`` is on (``make demo``); else
every page is a 404 and a warning is logged: it must never show a real database's people.

A browser has a cookie (``wlcc_simulator``); each person it chooses gets a chat with its own
unguessable id in the address (``/simulator/chat/<id>``), kept in this process's memory with
her conversation so far. Two tabs with two persons are two chats and never mix; a chat of
another browser is not found. The pages work without JavaScript (forms and buttons);
static/simulator.js only fetches new messages every few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select
from starlette.datastructures import FormData, UploadFile

from bot.media import PHOTO_KINDS, sniff
from bot.render import numbered_text
from bot.simulator import CHANNEL, Simulator, arrived_messages
from console.security import (
    LANG_COOKIE,
    ConsoleError,
    read_form,
    secure_cookies,
    translator,
)
from console.templating import render
from handlers.router import Router
from storage.db import Database
from storage.demo import DEMO_MEMBERS
from storage.identities import default_community
from storage.media import MAX_BYTES, simulator_upload
from storage.meetings_notices import plan_all
from storage.members import members_on_phone
from storage.models import Identity, Role
from wlcc.formatting import utcnow
from wlcc.i18n import LANGUAGES, Translator
from wlcc.messages import Choice, Location, Media, Outbound
from wlcc.phones import to_e164
from wlcc.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "wlcc_simulator"  # identifies the browser (its chats), path /simulator
PATH = "/simulator"
MAX_CHATS = 200  # chats kept in memory (the least recently used go first)
MAX_LINES = 400  # lines kept per chat (the oldest go first)
MAX_TEXT = 4096  # characters of one typed message (Telegram's limit)
MAX_PAYLOAD = 200
# A photo up to WhatsApp's 5 MB, and the rest of the form.
MAX_UPLOAD_FORM = MAX_BYTES + 64 * 1024
PALEMBANG = (-2.97, 104.76)  # the location form's defaults
RESIDENT_PREFIX = "+62812009"  # fresh numbers of "a resident", in the demo's unused range


# --- who one can be ---


@dataclass(frozen=True)
class Person:
    key: str  # the form's value
    name: str | None
    phone: str | None  # None: a fresh number is made when chosen
    role: str
    kelurahan: str | None = None
    family: bool = False  # her phone is shared with another demo member


def persons() -> list[Person]:
    """The demo members (storage/demo.py, never the database's), then a resident."""
    phones = [phone for _, phone, _, _ in DEMO_MEMBERS]
    chosen = [
        Person(f"m{i}", name, phone, role, kelurahan, family=phones.count(phone) > 1)
        for i, (name, phone, kelurahan, role) in enumerate(DEMO_MEMBERS, start=1)
    ]
    return [*chosen, Person("resident", None, None, Role.RESIDENT)]


def person_by_key(key: str) -> Person | None:
    return next((p for p in persons() if p.key == key), None)


def fresh_phone(db: Database) -> str:
    """A number nobody in the database writes from (a resident the bot does not know)."""
    for _ in range(100):
        number = to_e164(f"{RESIDENT_PREFIX}{secrets.randbelow(90_000) + 10_000}")
        assert number is not None
        with db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            taken = (
                members_on_phone(session, community.id, number)
                or session.exec(
                    select(Identity).where(Identity.channel == CHANNEL, Identity.address == number)
                ).first()
            )
        if not taken:
            return number
    raise RuntimeError("no free demo number")  # pragma: no cover (90 000 of them)


# --- the chats, in memory ---


@dataclass
class Line:
    """One message in a chat: hers ("person"), the bot's answer ("bot"), or what the bot sent
    on its own ("arrived")."""

    seq: int
    who: str
    text: str
    choices: tuple[Choice, ...] = ()
    cancel: str | None = None
    turn: int = 0  # lines of one turn (her message and its answers) share it


@dataclass
class Chat:
    id: str
    owner: str
    person: Person
    phone: str
    sim: Simulator
    lines: list[Line] = field(default_factory=list)
    turns: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def name(self) -> str | None:
        return self.person.name

    def add(self, who: str, text: str, message: Outbound | None = None) -> None:
        self.lines.append(
            Line(
                next(self._seq),
                who,
                text,
                message.choices if message is not None else (),
                message.cancel if message is not None else None,
                self.turns,
            )
        )
        del self.lines[:-MAX_LINES]

    def label_of(self, payload: str) -> str:
        """What a pressed button said (its payload when the chat no longer shows it)."""
        for line in reversed(self.lines):
            for choice in line.choices:
                if choice.payload == payload:
                    return choice.label
        return payload

    def since(self, after: int) -> list[Line]:
        return [line for line in self.lines if line.seq > after]

    @property
    def last_seq(self) -> int:
        return self.lines[-1].seq if self.lines else 0

    @property
    def latest_seq(self) -> int:
        """The first line of her last turn (where the page opens after she wrote), or 0."""
        return next((line.seq for line in self.lines if line.turn == self.turns), 0)


class ChatStore:
    """The chats of this process, the least recently used forgotten past ``MAX_CHATS``."""

    def __init__(self, limit: int = MAX_CHATS) -> None:
        self.limit = limit
        self._chats: OrderedDict[str, Chat] = OrderedDict()

    def open(self, owner: str, person: Person, phone: str, router: Router) -> Chat:
        chat = Chat(
            id=secrets.token_urlsafe(16),
            owner=owner,
            person=person,
            phone=phone,
            sim=Simulator(router, phone, person.name),
        )
        self._chats[chat.id] = chat
        while len(self._chats) > self.limit:
            self._chats.popitem(last=False)
        return chat

    def get(self, owner: str | None, chat_id: str) -> Chat | None:
        chat = self._chats.get(chat_id)
        if chat is None or owner is None or not secrets.compare_digest(chat.owner, owner):
            return None
        self._chats.move_to_end(chat_id)
        return chat

    def of(self, owner: str | None) -> list[Chat]:
        if owner is None:
            return []
        return [c for c in reversed(self._chats.values()) if c.owner == owner]


def store_of(request: Request) -> ChatStore:
    store: ChatStore | None = getattr(request.app.state, "simulator_chats", None)
    if store is None:
        store = request.app.state.simulator_chats = ChatStore()
    return store


# --- the gate ---


_last_warning = 0.0


def _simulator_on(request: Request) -> Settings:
    """The app's settings, when WLCC_SIMULATOR is on; else a 404 (and a warning in the log)."""
    global _last_warning
    settings: Settings | None = getattr(request.app.state, "settings", None)
    if settings is None or not settings.wlcc_simulator:
        now = time.monotonic()
        if now - _last_warning > 60:  # once a minute at most: a scan does not flood the log
            _last_warning = now
            log.warning(
                "the browser simulator was asked for (%s) but WLCC_SIMULATOR is off: refused",
                request.url.path[:100],
            )
        raise ConsoleError(404, "console.error.not_found")
    return settings


SimulatorOn = Annotated[Settings, Depends(_simulator_on)]


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _router(request: Request) -> Router:
    router: Router = request.app.state.dispatcher.router
    return router


def _t(request: Request) -> Translator:
    return translator(request)


def _owner(request: Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and 20 <= len(token) <= 64 else None


def _set_owner(request: Request, response: Response, owner: str) -> None:
    if request.cookies.get(COOKIE) != owner:
        response.set_cookie(
            COOKIE,
            owner,
            max_age=7 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path=PATH,
        )


def _chat(request: Request, chat_id: str) -> Chat | None:
    """This browser's chat with that id; None for another browser's, or one forgotten (the
    server restarted)."""
    return store_of(request).get(_owner(request), chat_id)


def _no_chat(request: Request) -> HTMLResponse:
    return render(request, "simulator/no_chat.html", _t(request), status_code=404)


# --- what arrives, and a turn ---


def _planning(settings: Settings) -> Settings:
    """As in ``wlcc chat``: with no platform configured the notices wake nobody, so the quiet
    hours do not hold them back."""
    if not (settings.telegram_enabled or settings.whatsapp_enabled):
        return settings.model_copy(update={"wlcc_quiet_hours": ""})
    return settings


def _plan(request: Request, settings: Settings) -> None:
    """Plan the notices due now (the scheduler's job, as ``wlcc chat`` does after each line);
    the outbox sender, woken next, delivers them (and fetches a complaint's photo)."""
    db = _db(request)
    with db.transaction() as session:
        plan_all(session, now=utcnow(), settings=_planning(settings))


def _wake(request: Request) -> None:
    sender = getattr(request.app.state, "sender", None)
    if sender is not None:
        sender.sender.wake()


async def _collect(request: Request, chat: Chat) -> None:
    """Add what was delivered to her chat and not shown yet; it counts as read from now on."""
    waiting = await to_thread.run_sync(arrived_messages, _db(request), chat.phone)
    for message in waiting:
        chat.add("arrived", numbered_text(message), message)


async def _turn(
    request: Request,
    settings: Settings,
    chat: Chat,
    shown: str,
    *,
    text: str = "",
    payload: str | None = None,
    location: Location | None = None,
    media: tuple[Media, ...] = (),
) -> None:
    inbound = chat.sim.inbound(text, payload=payload, location=location, media=media)
    await _collect(request, chat)  # what came before her message is read before it
    chat.turns += 1
    chat.add("person", shown)
    replies = await to_thread.run_sync(chat.sim.turn, inbound)
    for reply in replies:
        chat.add("bot", numbered_text(reply), reply)
    await to_thread.run_sync(_plan, request, settings)
    _wake(request)


# --- pages ---


router = APIRouter()


def _choose_page(
    request: Request,
    t: Translator,
    owner: str,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    response = render(
        request,
        "simulator/choose.html",
        t,
        status_code=status_code,
        persons=persons(),
        chats=store_of(request).of(owner),
        error=error,
    )
    _set_owner(request, response, owner)
    return response


def _chat_page(
    request: Request,
    t: Translator,
    chat: Chat,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: str | None = None,
    text: str = "",
    latitude: str = "",
    longitude: str = "",
) -> HTMLResponse:
    return render(
        request,
        "simulator/chat.html",
        t,
        status_code=status_code,
        chat=chat,
        lines=chat.lines,
        error=error,
        error_form=form,
        text=text,
        latitude=latitude or str(PALEMBANG[0]),
        longitude=longitude or str(PALEMBANG[1]),
        max_mb=MAX_BYTES // (1024 * 1024),
        sender_on=getattr(request.app.state, "sender", None) is not None,
    )


def _back(chat: Chat) -> RedirectResponse:
    return RedirectResponse(f"{PATH}/chat/{chat.id}#latest", status_code=303)


def _text_field(form: FormData, name: str, limit: int) -> str | None:
    """A text field, stripped ("" when missing); None when it is a file or too long."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        return None
    return value.strip()


@router.get(PATH, response_class=HTMLResponse)
async def choose(request: Request, settings: SimulatorOn) -> HTMLResponse:
    owner = _owner(request) or secrets.token_urlsafe(24)
    return _choose_page(request, _t(request), owner)


@router.get(f"{PATH}/", include_in_schema=False)
async def choose_slash(settings: SimulatorOn) -> RedirectResponse:
    return RedirectResponse(PATH, status_code=307)


@router.get(f"{PATH}/lang/{{lang}}", include_in_schema=False)
async def choose_language(
    request: Request, settings: SimulatorOn, lang: str, next: str | None = None
) -> Response:
    if lang not in LANGUAGES:
        raise ConsoleError(404, "console.error.not_found")
    ok = next and next.startswith(f"{PATH}/chat/") and "//" not in next and "\\" not in next
    response = RedirectResponse(next if ok and next else PATH, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path=PATH)
    return response


@router.post(f"{PATH}/start")
async def start(request: Request, settings: SimulatorOn) -> Response:
    t = _t(request)
    owner = _owner(request) or secrets.token_urlsafe(24)
    form = await read_form(request)
    key = _text_field(form, "person", 40)
    person = person_by_key(key) if key else None
    if person is None:
        return _choose_page(
            request, t, owner, status_code=422, error="console.simulator.unknown_person"
        )
    phone = person.phone
    if phone is None:
        phone = await to_thread.run_sync(fresh_phone, _db(request))
    chat = store_of(request).open(owner, person, phone, _router(request))
    await to_thread.run_sync(_plan, request, settings)
    _wake(request)
    response = RedirectResponse(f"{PATH}/chat/{chat.id}", status_code=303)
    _set_owner(request, response, owner)
    return response


@router.get(f"{PATH}/chat/{{chat_id}}", response_class=HTMLResponse)
async def chat_page(request: Request, settings: SimulatorOn, chat_id: str) -> HTMLResponse:
    chat = _chat(request, chat_id)
    if chat is None:
        return _no_chat(request)
    async with chat.lock:
        await _collect(request, chat)
    return _chat_page(request, _t(request), chat)


@router.get(f"{PATH}/chat/{{chat_id}}/log", response_class=HTMLResponse)
async def chat_log(
    request: Request, settings: SimulatorOn, chat_id: str, after: str = "0"
) -> HTMLResponse:
    """The messages after ``after`` (a line's number), for simulator.js to add to the page."""
    chat = _chat(request, chat_id)
    if chat is None:
        return _no_chat(request)
    if not after.isdigit() or len(after) > 9:
        raise ConsoleError(422, "console.error.invalid")
    async with chat.lock:
        await _collect(request, chat)
    return render(
        request,
        "simulator/lines.html",
        _t(request),
        chat=chat,
        lines=chat.since(int(after)),
    )


@router.post(f"{PATH}/chat/{{chat_id}}/send")
async def send(request: Request, settings: SimulatorOn, chat_id: str) -> Response:
    """A typed message, or a pressed button (``payload``)."""
    chat = _chat(request, chat_id)
    if chat is None:
        return _no_chat(request)
    t = _t(request)
    form = await read_form(request)
    payload = _text_field(form, "payload", MAX_PAYLOAD)
    text = _text_field(form, "text", MAX_TEXT)
    if payload is None:
        return _chat_page(request, t, chat, status_code=422, error="console.error.invalid")
    if text is None:
        return _chat_page(
            request, t, chat, status_code=422, error="console.simulator.too_long", form="text"
        )
    async with chat.lock:
        if payload:
            await _turn(request, settings, chat, chat.label_of(payload), payload=payload)
        elif text:
            await _turn(request, settings, chat, text, text=text)
        else:
            return _chat_page(
                request, t, chat, status_code=422, error="console.simulator.empty", form="text"
            )
    return _back(chat)


def _coordinate(raw: str | None, limit: float) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        return None
    return value if -limit <= value <= limit else None


@router.post(f"{PATH}/chat/{{chat_id}}/location")
async def share_location(request: Request, settings: SimulatorOn, chat_id: str) -> Response:
    chat = _chat(request, chat_id)
    if chat is None:
        return _no_chat(request)
    t = _t(request)
    form = await read_form(request)
    raw_lat = _text_field(form, "latitude", 40)
    raw_lon = _text_field(form, "longitude", 40)
    lat, lon = _coordinate(raw_lat, 90), _coordinate(raw_lon, 180)
    if lat is None or lon is None:
        return _chat_page(
            request,
            t,
            chat,
            status_code=422,
            error="console.simulator.bad_location",
            form="location",
            latitude=raw_lat or "",
            longitude=raw_lon or "",
        )
    shown = t("console.simulator.location_sent", latitude=f"{lat:.5f}", longitude=f"{lon:.5f}")
    async with chat.lock:
        await _turn(request, settings, chat, shown, location=Location(lat, lon))
    return _back(chat)


@router.post(f"{PATH}/chat/{{chat_id}}/photo")
async def send_photo(request: Request, settings: SimulatorOn, chat_id: str) -> Response:
    """A photo (JPEG, PNG or WebP by its content, 5 MB at most) with an optional caption,
    kept as the simulated channel's copy (storage.media.simulator_upload) and sent with a
    message that refers to it, as a platform's message refers to its file."""
    chat = _chat(request, chat_id)
    if chat is None:
        return _no_chat(request)
    t = _t(request)

    def refused(key: str) -> HTMLResponse:
        return _chat_page(request, t, chat, status_code=422, error=key, form="photo")

    try:
        form = await read_form(request, MAX_UPLOAD_FORM)
    except ConsoleError as exc:
        if exc.message == "console.error.too_big":
            return refused("console.simulator.photo_too_big")
        raise
    upload = form.get("photo")
    caption = _text_field(form, "caption", MAX_TEXT)
    if caption is None:
        return refused("console.simulator.too_long")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return refused("console.simulator.photo_missing")
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return refused("console.simulator.photo_too_big")
    kind = sniff(data)
    if kind not in PHOTO_KINDS:
        return refused("console.simulator.not_a_photo")
    assert kind is not None

    def keep() -> str:
        db = _db(request)
        with db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            media = simulator_upload(
                session, community_id=community.id, data=data, content_type=kind, now=utcnow()
            )
            return media.token

    token = await to_thread.run_sync(keep)
    size = f"{len(data) / 1024:.0f}"
    shown = t("console.simulator.photo_sent", size=size)
    if caption:
        shown = f"{shown}\n{caption}"
    async with chat.lock:
        await _turn(request, settings, chat, shown, text=caption, media=(Media(token, kind),))
    return _back(chat)
