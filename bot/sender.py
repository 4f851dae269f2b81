"""The outbox sender: drains ``storage.outbox`` to Telegram and WhatsApp at the platforms' pace
(and, for the demo with ``WLCC_SIMULATOR``, to the simulated chats of ``wlcc chat``).

One loop claims due rows in batches (``storage.outbox.claim``: leased, recipient decided), a pool
of workers sends them through the channels, and a flusher records the outcomes in batches.

* Rate limits: evenly spaced sends per channel (Telegram 30/s for the whole bot and 1/s per chat,
  WhatsApp 80/s per sender number by default; ``WLCC_*_RATE_PER_SECOND``, 0 lifts a limit), kept
  3% under the setting and never more than the limit in any one second as the platform receives
  them: a send counts until its answer came back, not just when its turn came (see
  :class:`Pacer`). They are per sender process: with several senders, divide them between the
  processes.
* Telegram's 429 pauses the whole Telegram channel for ``retry_after``; the row waits as long.
  5xx, timeouts and network errors retry with exponential backoff and jitter up to
  ``WLCC_OUTBOX_MAX_ATTEMPTS``. Permanent refusals fail at once; "blocked"/"unsubscribed" and
  friends also mark the chat unreachable (a member's number that never wrote included), so
  later messages skip it until she writes again.
* A crash loses nothing: claimed rows stay ``sending`` until their lease ends, then they are
  claimed again. A message whose send was in flight at the crash may arrive twice; no other.
* An answer that cannot be read after the platform accepted the request (HTTP 2xx) counts as
  sent, with a note: retrying could send it twice.

Broadcast photos go through ``bot.media`` (fetched once, then served to Twilio and uploaded once
to Telegram). Telegram sends use the sender's own ``Bot`` (its own connection pool, so a broadcast
never holds up the replies) on aiohttp (:class:`bot.telegram_request.AiohttpRequest`). The clock
(``monotonic``, ``now``, ``sleep``) and the jitter's random source are injectable, so tests run
backoffs and pauses in virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from anyio import to_thread
from telegram import Bot, InputFile, Message

from bot.failures import Delivery, SendFailure, classify_telegram, classify_twilio
from bot.media import MediaInfo, MediaStore, MediaUnavailable
from bot.render import TELEGRAM_TEXT_LIMIT, split_text
from bot.telegram import TelegramChannel, delete_message
from bot.telegram_request import AiohttpRequest
from bot.whatsapp import WhatsAppChannel
from storage.broadcasts import progress_tick
from storage.db import Database, retry_briefly
from storage.media import pending_intake_media
from storage.models import OutboxStatus
from storage.outbox import (
    ANSWER_KINDS,
    MEDIA_PREFIX,
    SIMULATOR,
    TELEGRAM,
    WHATSAPP,
    Job,
    Outcome,
    Reason,
    Routing,
    claim,
    forget_worker,
    heartbeat,
    next_due,
    record,
    template_variables,
)
from wlcc.formatting import utcnow
from wlcc.i18n import Translator, choices_hint
from wlcc.messages import Choice, Outbound
from wlcc.settings import Settings

INTAKE_EVERY = 10.0  # seconds between looks for complaint media to download, unless woken

log = logging.getLogger(__name__)

TELEGRAM_CAPTION_LIMIT = 1024
HEARTBEAT_EVERY = 10.0  # seconds
PROGRESS_CHECK_EVERY = 2.0  # seconds between looks at running broadcasts
FLUSH_EVERY = 0.05  # seconds: outcomes are written in batches at least this often
# Send 3% under each configured rate: requests evenly spaced at exactly the limit reach the
# platform with network jitter, and some one-second windows would then hold one too many.
RATE_MARGIN = 0.97


# --- time ---


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return utcnow()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Pacer:
    """At most ``rate`` sends per second: evenly spaced, never more than ``rate`` in any one
    second as the platform receives them, and it can be paused (a 429).

    A send counts in that one-second window from its turn until a second after :meth:`done`
    (its answer came back): the platform received it somewhere in between, however long the
    request took to go out (a fresh sender's first requests open their connections while the
    next ones are already due). So with answers that take ``L`` seconds the window allows
    about ``rate / (1 + L)`` sends a second; the even spacing is the limit when answers are
    quick. Every :meth:`wait` must be followed by :meth:`done` with the same ``slots``.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.window = max(1, int(rate)) if rate > 0 else 0
        self.clock = clock
        self._next = 0.0
        self._answered: deque[float] = deque()  # when the latest sends were answered
        self._in_flight = 0  # sends let go and not answered yet
        self._finished = asyncio.Event()  # set by done(): a send in flight came back
        self.paused_until = 0.0

    async def wait(self, slots: int = 1) -> None:
        # Take the next evenly spaced slot (first come, first served) ...
        now = self.clock.monotonic()
        start = max(now, self._next, self.paused_until)
        self._next = start + slots * self.interval
        while True:
            if start > now:
                await self.clock.sleep(start - now)
                now = self.clock.monotonic()
            if now < self.paused_until:  # ... a 429 came meanwhile: a new slot after it ...
                start = max(self._next, self.paused_until)
                self._next = start + slots * self.interval
                continue
            if self.window:  # ... and never more than ``rate`` in the last second.
                # (a microsecond of slack: (t + 1.0) - 1.0 may come out a hair under t)
                while self._answered and self._answered[0] <= now - 1.0 + 1e-6:
                    self._answered.popleft()
                taken = len(self._answered) + self._in_flight
                excess = taken + slots - self.window
                if excess > 0 and taken:  # (one message bigger than the window: alone)
                    if excess <= len(self._answered):
                        start = self._answered[excess - 1] + 1.0
                    else:  # the window is full of sends in flight: wait for an answer
                        self._finished.clear()
                        await self._finished.wait()
                        now = start = self.clock.monotonic()
                    continue
                self._in_flight += slots
            return

    def done(self, slots: int = 1) -> None:
        """The send let go by :meth:`wait` was answered (or failed, or was not made)."""
        if not self.window:
            return
        self._in_flight -= slots
        self._answered.extend([self.clock.monotonic()] * slots)
        self._finished.set()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)


class ChatPacer:
    """The per-chat limit: one send at a time to each chat, the next one ``1 / rate`` seconds
    after the answer to the previous one came back (and after its turn, for a message of
    several parts), so that two sends to one chat never reach the platform closer together."""

    def __init__(self, rate: float, clock: Clock) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self._next: dict[str, float] = {}
        self._busy: dict[str, asyncio.Event] = {}  # chats with a send in flight

    async def wait(self, chat: str, slots: int = 1) -> None:
        """Wait for the chat's turn; :meth:`done` must follow once the send is answered."""
        if self.interval <= 0:
            return
        while chat in self._busy:
            await self._busy[chat].wait()
        now = self.clock.monotonic()
        if len(self._next) > 10_000:  # forget chats whose turn is long past
            self._next = {k: v for k, v in self._next.items() if v > now}
        start = max(now, self._next.get(chat, 0.0))
        self._next[chat] = start + slots * self.interval
        self._busy[chat] = turn = asyncio.Event()
        if start > now:
            try:
                await self.clock.sleep(start - now)
            except BaseException:  # cancelled while waiting: the turn is given up
                del self._busy[chat]
                turn.set()
                raise

    def done(self, chat: str) -> None:
        turn = self._busy.pop(chat, None)
        if turn is None:
            return
        after = self.clock.monotonic() + self.interval
        self._next[chat] = max(self._next.get(chat, 0.0), after)
        turn.set()


# --- configuration ---


@dataclass(frozen=True)
class SenderConfig:
    telegram_rate: float = 30.0
    telegram_chat_rate: float = 1.0
    whatsapp_rate: float = 80.0
    simulator_rate: float = 30.0
    max_attempts: int = 6
    backoff: float = 5.0
    backoff_max: float = 900.0
    lease: float = 120.0
    batch_size: int = 500
    concurrency: int = 64
    poll: float = 1.0
    progress_every: float = 60.0
    templates: dict[str, str] = field(default_factory=dict)
    public_base_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SenderConfig:
        values: dict[str, Any] = {
            "telegram_rate": settings.wlcc_telegram_rate_per_second,
            "telegram_chat_rate": settings.wlcc_telegram_chat_rate_per_second,
            "whatsapp_rate": settings.wlcc_whatsapp_rate_per_second,
            "simulator_rate": settings.wlcc_simulator_rate_per_second,
            "max_attempts": settings.wlcc_outbox_max_attempts,
            "backoff": settings.wlcc_outbox_backoff_seconds,
            "backoff_max": settings.wlcc_outbox_backoff_max_seconds,
            "lease": settings.wlcc_outbox_lease_seconds,
            "batch_size": settings.wlcc_outbox_batch_size,
            "concurrency": settings.wlcc_outbox_concurrency,
            "poll": settings.wlcc_outbox_poll_seconds,
            "progress_every": settings.wlcc_broadcast_progress_seconds,
            "templates": dict(settings.wlcc_whatsapp_templates),
            "public_base_url": settings.public_base_url,
        }
        values.update(overrides)
        return cls(**values)


# --- the channels as the sender uses them ---


def _media_id(job: Job) -> int | None:
    for ref in job.media:
        if ref.startswith(MEDIA_PREFIX) and ref[len(MEDIA_PREFIX) :].isdigit():
            return int(ref[len(MEDIA_PREFIX) :])
    return None


def _outbound(job: Job) -> Outbound:
    return outbound(job.text, job.choices, job.render, job.target.language)


def outbound(
    text: str,
    choices_: tuple[tuple[str, str], ...],
    render: Mapping[str, Any],
    language: str | None,
) -> Outbound:
    """A row as a message. A reply keeps what it was made with (the hint worded in the
    language of that moment, a share-my-number button); a notice's hint is in the recipient's
    language."""
    choices = tuple(Choice(payload, label) for payload, label in choices_)
    hint = render.get("hint")
    if hint is None and choices:
        hint = choices_hint(Translator(language), len(choices))
    return Outbound(
        text=text,
        choices=choices,
        hint=hint,
        request_contact=render.get("request_contact"),
        remove_keyboard=bool(render.get("remove_keyboard")),
        cancel=render.get("cancel"),
        delete_message=render.get("delete_message"),
    )


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramOutlet:
    name = TELEGRAM

    def __init__(
        self, channel: TelegramChannel, media: MediaStore | None, concurrency: int = 64
    ) -> None:
        self.channel = channel
        self.media = media
        # The sender's own Bot, same token and API as the channel's, on the lighter transport.
        base = channel.bot
        self.request = AiohttpRequest(pool_size=concurrency, read_timeout=channel.timeout)
        self.bot = Bot(
            base.token,
            base_url=lambda _token: base.base_url,
            base_file_url=lambda _token: base.base_file_url,
            request=self.request,
            get_updates_request=self.request,
        )

    async def start(self) -> None:
        await self.request.initialize()

    async def close(self) -> None:
        await self.request.shutdown()

    def calls(self, job: Job) -> int:
        """How many Bot API messages this job takes (for the rate limits)."""
        text = job.text.strip()
        if _media_id(job) is not None:
            if _utf16(text) <= TELEGRAM_CAPTION_LIMIT:
                return 1
            return 1 + len(split_text(text, TELEGRAM_TEXT_LIMIT))
        return max(1, len(split_text(text, TELEGRAM_TEXT_LIMIT)))

    async def send(self, job: Job) -> Delivery:
        try:
            return await self._send(job)
        except MediaUnavailable as exc:
            raise SendFailure(str(exc), retry=not exc.permanent, reason=Reason.MEDIA) from None
        except Exception as exc:
            verdict = classify_telegram(exc)
            if isinstance(verdict, SendFailure):
                raise verdict from None
            log.warning("telegram answered something unreadable for outbox %s", job.id)
            return verdict

    async def _send(self, job: Job) -> Delivery:
        chat_id = int(job.target.address)
        outbound = _outbound(job)
        markup = self.channel._markup(outbound)
        bot = self.bot
        if outbound.delete_message:  # a reply sent from here: her PIN's message goes first
            await delete_message(bot, chat_id, outbound.delete_message)
        text = job.text.strip()
        ids: list[int] = []
        media_id = _media_id(job)
        if media_id is not None:
            caption = text if text and _utf16(text) <= TELEGRAM_CAPTION_LIMIT else None
            message = await self._send_photo(
                media_id, chat_id, caption, markup if caption is not None else None
            )
            ids.append(message.message_id)
            if caption is not None or not text:
                return Delivery(str(message.message_id))
        chunks = split_text(text, TELEGRAM_TEXT_LIMIT) or [" "]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await bot.send_message(chat_id, chunk, reply_markup=markup if last else None)
            ids.append(sent.message_id)
        return Delivery(str(ids[0]))

    async def _send_photo(
        self, media_id: int, chat_id: int, caption: str | None, markup: Any
    ) -> Message:
        """A photo, or a file the bot made (a meeting's calendar) as a document: uploaded once,
        then sent again by the file id Telegram answered."""
        if self.media is None:
            raise MediaUnavailable("no media store", permanent=True)
        info = await self.media.info(media_id)
        if info.telegram_file_id:
            return await self._send_file(chat_id, info, info.telegram_file_id, caption, markup)
        # First Telegram recipient of a photo from WhatsApp: upload it once, keep the file id.
        async with self.media.upload_lock(media_id):
            info = await self.media.info(media_id)
            if info.telegram_file_id:
                return await self._send_file(chat_id, info, info.telegram_file_id, caption, markup)
            data, _ = await self.media.read(media_id)
            name = info.file_name or "foto.jpg"
            message = await self._send_file(
                chat_id, info, InputFile(data, filename=name), caption, markup
            )
            if message.photo:
                await self.media.remember_telegram_file_id(media_id, message.photo[-1].file_id)
            elif message.document is not None:
                await self.media.remember_telegram_file_id(media_id, message.document.file_id)
            return message

    async def _send_file(
        self, chat_id: int, info: MediaInfo, file: str | InputFile, caption: str | None, markup: Any
    ) -> Message:
        if info.is_document:
            return await self.bot.send_document(chat_id, file, caption=caption, reply_markup=markup)
        return await self.bot.send_photo(chat_id, file, caption=caption, reply_markup=markup)


class WhatsAppOutlet:
    name = WHATSAPP

    def __init__(
        self, channel: WhatsAppChannel, media: MediaStore | None, public_base_url: str | None
    ) -> None:
        self.channel = channel
        self.media = media
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None

    async def start(self) -> None:
        """The channel's Twilio client is used as it is."""

    async def close(self) -> None:
        pass

    def calls(self, job: Job) -> int:
        if job.target.template_sid:
            return 1
        return len(self.channel.parts(_outbound(job)))

    async def send(self, job: Job) -> Delivery:
        try:
            return await self._send(job)
        except MediaUnavailable as exc:
            raise SendFailure(str(exc), retry=not exc.permanent, reason=Reason.MEDIA) from None
        except SendFailure:
            raise
        except Exception as exc:
            verdict = classify_twilio(exc)
            if isinstance(verdict, SendFailure):
                raise verdict from None
            log.warning("twilio answered something unreadable for outbox %s", job.id)
            return verdict

    async def _media_url(self, job: Job) -> list[str]:
        media_id = _media_id(job)
        if media_id is None:
            return []
        if self.media is None or self.public_base_url is None:
            raise SendFailure(
                "a photo needs PUBLIC_BASE_URL so that Twilio can fetch it",
                retry=False,
                reason=Reason.MEDIA,
            )
        info: MediaInfo = await self.media.ensure_fetched(media_id)
        return [f"{self.public_base_url}/media/{info.token}"]

    async def _send(self, job: Job) -> Delivery:
        client = self.channel.client
        assert client is not None, "WhatsAppChannel.start() was not awaited"
        base: dict[str, Any] = {
            "from_": self.channel.sender,
            "to": f"whatsapp:{job.target.address}",
        }
        if self.public_base_url:
            # The row id in the callback URL (signed by Twilio like the rest) lets a report
            # find its row even before the message id is recorded.
            base["status_callback"] = (
                f"{self.public_base_url}/webhooks/whatsapp/status?outbox={job.id}"
            )
        media_urls = await self._media_url(job)
        if job.target.template_sid:
            # A template with the photo gets its name; a text-only one sends the text alone.
            name = (
                media_urls[0].rsplit("/", 1)[1]
                if media_urls and job.target.template_media
                else None
            )
            kwargs = dict(
                base,
                content_sid=job.target.template_sid,
                content_variables=template_variables(job.text, job.template_vars, name),
            )
            result = await client.messages.create_async(**kwargs)
            return self._delivery(result)
        chunks = [part.text for part in self.channel.parts(_outbound(job))]
        first: Delivery | None = None
        for i, chunk in enumerate(chunks):
            kwargs = dict(base, body=chunk)
            if i == 0 and media_urls:
                kwargs["media_url"] = media_urls
            result = await client.messages.create_async(**kwargs)
            first = first or self._delivery(result)
        assert first is not None
        return first

    @staticmethod
    def _delivery(result: Any) -> Delivery:
        sid = getattr(result, "sid", None)
        if not isinstance(sid, str) or not sid:
            return Delivery(None, garbled=True)
        return Delivery(sid)


class SimulatorOutlet:
    """The demo's simulated chats (``wlcc chat``): no network, the row itself is the delivery.

    A send is accepted at once (``sim-<row id>``); the terminal chat then shows the sent rows of
    the person it is for and marks them read (``storage.outbox.simulated_unread``). Paced,
    retried and recorded like the other channels. Only ``WLCC_SIMULATOR`` gives a sender this
    outlet, so that no real member's message is ever "delivered" to a terminal.
    """

    name = SIMULATOR

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def calls(self, job: Job) -> int:
        return 1

    async def send(self, job: Job) -> Delivery:
        return Delivery(f"sim-{job.id}")


Outlet = TelegramOutlet | WhatsAppOutlet | SimulatorOutlet


# --- the sender ---


@dataclass
class SenderStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    released: int = 0


class OutboxSender:
    """Drains the outbox. ``await run()`` until :meth:`stop`; ``await drain()`` until empty."""

    def __init__(
        self,
        db: Database,
        config: SenderConfig,
        *,
        telegram: TelegramChannel | None = None,
        whatsapp: WhatsAppChannel | None = None,
        media: MediaStore | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        name: str | None = None,
        simulator: bool = False,
    ) -> None:
        self.db = db
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.outlets: dict[str, Outlet] = {}
        self.media = media
        # Complaint photos and voice notes to download (storage.media.pending_intake_media):
        # looked for when woken (a turn just received one) and every INTAKE_EVERY seconds;
        # one that failed for a passing reason waits (real time) before the next try.
        self._intake_now = True
        self._last_intake = -1e9
        self._intake_backoff: dict[int, tuple[float, float]] = {}
        if telegram is not None:
            self.outlets[TELEGRAM] = TelegramOutlet(telegram, media, config.concurrency)
        if whatsapp is not None:
            self.outlets[WHATSAPP] = WhatsAppOutlet(whatsapp, media, config.public_base_url)
        if simulator:
            self.outlets[SIMULATOR] = SimulatorOutlet()
        self.rates = {
            TELEGRAM: config.telegram_rate,
            WHATSAPP: config.whatsapp_rate,
            SIMULATOR: config.simulator_rate,
        }
        self.pacers = {
            channel: Pacer(rate * RATE_MARGIN, self.clock) for channel, rate in self.rates.items()
        }
        self.chat_pacer = ChatPacer(config.telegram_chat_rate * RATE_MARGIN, self.clock)
        # Jobs holding a turn of the pacers: (channel, Telegram chat, requests let go).
        self._turns: dict[int, tuple[str, str | None, int]] = {}
        self.routing = Routing(channels=frozenset(self.outlets), templates=dict(config.templates))
        self.stats = SenderStats()
        # One queue and one pool of workers per channel: a slow channel never holds up the other.
        # Higher priority first (a progress report does not wait behind a broadcast), then in
        # the order claimed.
        self._queues: dict[str, asyncio.PriorityQueue[tuple[int, int, Job]]] = {
            c: asyncio.PriorityQueue() for c in self.outlets
        }
        self._order = itertools.count()
        self._busy: dict[str, int] = dict.fromkeys(self.outlets, 0)
        self._results: list[Outcome] = []
        self._stopping = False
        self._stop_requested = False
        self._wake = asyncio.Event()
        self._last_progress = -1e9
        self._last_heartbeat = -1e9
        self._progress_check = min(PROGRESS_CHECK_EVERY, config.progress_every / 2)

    # --- control ---
    def wake(self) -> None:
        """Look for due rows now (a producer in this process just planned some), and for
        complaint media to download (a turn may just have received a photo)."""
        self._intake_now = True
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; sends in flight finish, claimed rows not yet sent are given back."""
        self._stop_requested = True
        self._stopping = True
        self._wake.set()

    def _backlog(self, channel: str) -> float:
        """Seconds of sending already queued for ``channel`` at its rate."""
        waiting = self._queues[channel].qsize() + self._busy[channel]
        rate = self.rates[channel]
        if rate <= 0:
            return waiting / 1000.0  # about what one sender manages without a limit
        return waiting / rate

    def _want_more(self) -> bool:
        """Claim when a channel runs dry, unless one already holds a third of a lease."""
        if not self.outlets:
            return True  # rows still need a verdict (skipped: channel off)
        backlogs = [self._backlog(channel) for channel in self.outlets]
        return min(backlogs) < 1.0 and max(backlogs) < self.config.lease / 3

    async def run(
        self, *, until: Callable[[], bool] | None = None, stop_grace: float = 10.0
    ) -> SenderStats:
        """Send until :meth:`stop`, or until ``until()`` (called in a worker thread, it may read
        the database) says so at a moment when nothing is claimable or in flight."""
        self._stopping = self._stop_requested
        for outlet in self.outlets.values():
            await outlet.start()
        workers = [
            asyncio.create_task(self._worker(channel), name=f"outbox-{channel}-{i}")
            for channel in self.outlets
            for i in range(self.config.concurrency)
        ]
        flusher = asyncio.create_task(self._flusher(), name="outbox-flusher")
        try:
            await self._beat(started=True)
            await self._claimer(until)
        finally:
            self._stopping = True
            # Jobs not started go back; sends in flight get ``stop_grace`` seconds to finish.
            for queue in self._queues.values():
                while not queue.empty():
                    self._release(queue.get_nowait()[2])
                    queue.task_done()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(q.join() for q in self._queues.values())),
                    timeout=stop_grace,
                )
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self._flush()
            for outlet in self.outlets.values():
                await outlet.close()
            with contextlib.suppress(Exception):
                await to_thread.run_sync(self._forget)
        return self.stats

    async def drain(self) -> SenderStats:
        """Send everything that is or becomes due (retries included), then return.

        With the system clock this waits for retries in real time; tests pass a virtual clock.
        """
        return await self.run(until=lambda: self._next_due() is None)

    async def send_due(self) -> SenderStats:
        """Send what is due now, then return: later retries are left for the next call."""

        def nothing_due() -> bool:
            upcoming = self._next_due()
            return upcoming is None or upcoming > self.clock.now()

        return await self.run(until=nothing_due)

    # --- claiming ---
    async def _claimer(self, until: Callable[[], bool] | None) -> None:
        while not self._stopping:
            await self._housekeeping()
            if self._want_more():
                jobs, skipped = await to_thread.run_sync(self._claim, self.config.batch_size)
                for job in jobs:
                    self._queues[job.target.channel].put_nowait(
                        (-job.priority, next(self._order), job)
                    )
                self.stats.claimed += len(jobs)
                self.stats.skipped += skipped
                if jobs or skipped:
                    continue
            if self._in_flight():
                # Real time, not the (possibly virtual) clock: this only waits for a flush.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=FLUSH_EVERY * 4)
                continue
            if until is not None:
                await self._housekeeping(force=True)  # a summary may be due now
                if await to_thread.run_sync(until):
                    return
            upcoming = await to_thread.run_sync(self._next_due)
            delay = self.config.poll
            if upcoming is not None:
                gap = (upcoming - self.clock.now()).total_seconds()
                # When it is due already but held back (an earlier message of the chat waits
                # for its retry, another sender holds it), look again after the poll interval.
                if gap > 0:
                    delay = min(gap, delay)
            await self._idle(max(delay, 0.001))

    def _in_flight(self) -> bool:
        return bool(
            self._results
            or any(q.qsize() for q in self._queues.values())
            or any(self._busy.values())
        )

    def _claim(self, limit: int) -> tuple[list[Job], int]:
        now = self.clock.now()
        with self.db.transaction() as session:
            return claim(
                session,
                now=now,
                limit=limit,
                lease=timedelta(seconds=self.config.lease),
                routing=self.routing,
                postgres=not self.db.is_sqlite,
                max_claims=self.config.max_attempts * 4,
            )

    def _next_due(self) -> datetime | None:
        with self.db.transaction() as session:
            return next_due(session, self.clock.now())

    async def _idle(self, seconds: float) -> None:
        """Wait ``seconds`` or until woken (a wake-up that came before counts)."""
        if self._stopping:
            return
        if not self._wake.is_set():
            sleeper = asyncio.create_task(self.clock.sleep(seconds))
            waker = asyncio.create_task(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, waker):
                    task.cancel()
                await asyncio.gather(sleeper, waker, return_exceptions=True)
        self._wake.clear()

    async def _housekeeping(self, *, force: bool = False) -> None:
        now = self.clock.monotonic()
        if force or now - self._last_progress >= self._progress_check:
            self._last_progress = now
            try:
                await to_thread.run_sync(self._progress)
            except Exception:
                log.exception("broadcast progress check failed")
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            await self._beat()
        real = time.monotonic()
        if self.media is not None and (
            force or self._intake_now or real - self._last_intake >= INTAKE_EVERY
        ):
            self._intake_now = False
            self._last_intake = real
            await self._fetch_intake(self.media)

    async def _fetch_intake(self, media: MediaStore) -> None:
        """Download the complaint media still waiting (their platform links expire)."""
        try:
            waiting = await to_thread.run_sync(self._pending_intake)
        except Exception:
            log.exception("looking for complaint media failed")
            return
        real = time.monotonic()
        for media_id in waiting:
            not_before, _ = self._intake_backoff.get(media_id, (0.0, 0.0))
            if real < not_before:
                continue
            try:
                refused = await media.fetch_intake(media_id)
            except MediaUnavailable as exc:
                _, delay = self._intake_backoff.get(media_id, (0.0, 1.0))
                self._intake_backoff[media_id] = (real + delay, min(delay * 2, 300.0))
                log.warning("complaint media %s not fetched yet: %s", media_id, exc)
                continue
            except Exception:
                log.exception("fetching complaint media %s failed", media_id)
                continue
            self._intake_backoff.pop(media_id, None)
            if refused:
                log.info("complaint media %s refused: %s", media_id, refused)

    def _pending_intake(self) -> list[int]:
        with self.db.transaction() as session:
            return pending_intake_media(session)

    def _progress(self) -> None:
        with self.db.transaction(lock_key="outbox:broadcast-progress") as session:
            ended = progress_tick(
                session, self.clock.now(), timedelta(seconds=self.config.progress_every)
            )
        for broadcast_id in ended:
            log.info("broadcast %s finished", broadcast_id)

    async def _beat(self, *, started: bool = False) -> None:
        self._last_heartbeat = self.clock.monotonic()

        def beat() -> None:
            with self.db.transaction() as session:
                heartbeat(session, self.name, utcnow(), started=started)

        try:
            await to_thread.run_sync(beat)
        except Exception:
            log.exception("sender heartbeat failed")

    def _forget(self) -> None:
        with self.db.transaction() as session:
            forget_worker(session, self.name)

    # --- sending ---
    async def _worker(self, channel: str) -> None:
        queue = self._queues[channel]
        while True:
            _, _, job = await queue.get()
            self._busy[channel] += 1
            try:
                outcome = await self._deliver(job)
            except asyncio.CancelledError:
                self._release(job)  # stopped while waiting for its turn (or mid-send)
                raise
            except Exception as exc:  # a bug: never lose the row
                log.exception("outbox %s: unexpected error", job.id)
                outcome = self._retry(job, f"internal error: {type(exc).__name__}: {exc}")
            finally:
                self._end_turn(job)
                self._busy[channel] -= 1
                queue.task_done()
            self._add(outcome)

    async def _take_turn(self, job: Job, calls: int) -> None:
        """Wait until ``calls`` platform requests for ``job`` may go out (the chat's turn, then
        the channel's); :meth:`_end_turn` gives the turn back once they were answered."""
        channel = job.target.channel
        chat = job.target.address if channel == TELEGRAM else None
        if chat is not None:
            await self.chat_pacer.wait(chat, calls)
        self._turns[job.id] = (channel, chat, 0)
        await self.pacers[channel].wait(calls)
        self._turns[job.id] = (channel, chat, calls)

    def _end_turn(self, job: Job) -> None:
        turn = self._turns.pop(job.id, None)
        if turn is None:
            return
        channel, chat, calls = turn
        if calls:
            self.pacers[channel].done(calls)
        if chat is not None:
            self.chat_pacer.done(chat)

    def _add(self, outcome: Outcome) -> None:
        self._results.append(outcome)
        if len(self._results) >= 200:
            self._wake.set()

    def _release(self, job: Job) -> None:
        self.stats.released += 1
        self._results.append(Outcome(job.id, job.lease, Outcome.RELEASED))

    async def _deliver(self, job: Job) -> Outcome:
        target = job.target
        outlet = self.outlets.get(target.channel)
        if outlet is None:  # the routing only picks configured channels
            return Outcome.skip(job.id, job.lease, Reason.CHANNEL_OFF, target.channel)
        if job.kind in ANSWER_KINDS and not job.text.strip() and _media_id(job) is None:
            # A photo known only by the platform's reference, which may have expired by now.
            return Outcome.skip(job.id, job.lease, Reason.MEDIA, "nothing left that can be sent")
        await self._take_turn(job, outlet.calls(job))  # (the worker ends it)
        margin = min(10.0, self.config.lease / 4)
        if self._stopping or self.clock.now() >= job.lease - timedelta(seconds=margin):
            self.stats.released += 1
            return Outcome(job.id, job.lease, Outcome.RELEASED)
        try:
            delivery = await outlet.send(job)
        except SendFailure as failure:
            return self._failure(job, failure)
        self.stats.sent += 1
        return Outcome(
            job.id,
            job.lease,
            OutboxStatus.SENT,
            channel=target.channel,
            address=target.address,
            platform_message_id=delivery.platform_message_id,
            reason=Reason.GARBLED if delivery.garbled else None,
            error="sent, but the platform's answer could not be read" if delivery.garbled else None,
            identity_id=target.identity_id,
            # A typed number then answers these choices; a reply's were offered by its turn.
            choices=job.choices if job.kind not in ANSWER_KINDS else (),
        )

    def _failure(self, job: Job, failure: SendFailure) -> Outcome:
        target = job.target
        if failure.retry:
            if failure.pause is not None:
                # Flood control: the whole channel waits, and this row as long.
                self.pacers[target.channel].pause(failure.pause)
                if job.attempts < self.config.max_attempts * 4:
                    self.stats.retried += 1
                    return Outcome(
                        job.id,
                        job.lease,
                        OutboxStatus.PENDING,
                        next_attempt_at=self.clock.now() + timedelta(seconds=failure.pause),
                        error=failure.detail,
                    )
            return self._retry(job, failure.detail)
        self.stats.failed += 1
        log.info("outbox %s failed for good: %s", job.id, failure.detail)
        return Outcome(
            job.id,
            job.lease,
            OutboxStatus.FAILED,
            channel=target.channel,
            address=target.address,
            reason=failure.reason,
            error=failure.detail,
            unreachable_identity=target.identity_id if failure.unreachable else None,
            unreachable=failure.unreachable,
        )

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with "equal jitter" (half fixed, half random)."""
        delay = min(self.config.backoff_max, self.config.backoff * 2.0 ** max(0, attempts - 1))
        return float(delay / 2 + self.rng.uniform(0, delay / 2))

    def _retry(self, job: Job, detail: str) -> Outcome:
        if job.attempts >= self.config.max_attempts:
            self.stats.failed += 1
            return Outcome(
                job.id,
                job.lease,
                OutboxStatus.FAILED,
                channel=job.target.channel,
                address=job.target.address,
                reason=Reason.GAVE_UP,
                error=f"after {job.attempts} attempts: {detail}",
            )
        self.stats.retried += 1
        delay = self.backoff(job.attempts)
        log.info(
            "outbox %s: attempt %d failed, next in %.1fs: %s", job.id, job.attempts, delay, detail
        )
        return Outcome(
            job.id,
            job.lease,
            OutboxStatus.PENDING,
            next_attempt_at=self.clock.now() + timedelta(seconds=delay),
            error=detail,
        )

    # --- recording ---
    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            await self._flush()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        what = f"recording {len(batch)} outbox outcomes"
        try:
            # Tried again at once first: the lease would hold the chats' next messages back
            # for minutes.
            await to_thread.run_sync(retry_briefly, lambda: self._record(batch), what)
        except Exception:
            # The rows keep their lease and are sent again after it: at worst twice.
            log.exception("%s failed", what)
            return
        self._wake.set()  # the next messages of these chats may be due now

    def _record(self, batch: list[Outcome]) -> None:
        with self.db.transaction() as session:
            record(session, batch, now=self.clock.now())


def build_sender(
    db: Database,
    settings: Settings,
    *,
    telegram: TelegramChannel | None,
    whatsapp: WhatsAppChannel | None,
    media: MediaStore | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    name: str | None = None,
    **overrides: Any,
) -> OutboxSender:
    """The sender for the app's (or the worker's) channels, configured from settings
    (``overrides`` replace SenderConfig fields)."""
    if media is None:
        media = MediaStore(db, settings, telegram_bot=telegram.bot if telegram else None)
    return OutboxSender(
        db,
        SenderConfig.from_settings(settings, **overrides),
        telegram=telegram,
        whatsapp=whatsapp,
        media=media,
        clock=clock,
        rng=rng,
        name=name,
        simulator=settings.wlcc_simulator,
    )


class BackgroundSender:
    """The sender as a task of the app (its lifespan starts and closes it).

    An unexpected error (the database gone for a moment) is logged and the loop starts again
    after a pause; rows it held are claimed again when their lease ends.
    """

    RESTART_PAUSE = 5.0

    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.task = asyncio.create_task(self._supervise(), name="outbox-sender")

    async def _supervise(self) -> None:
        while not self.sender._stop_requested:
            try:
                await self.sender.run()
            except Exception:
                log.exception("the outbox sender stopped unexpectedly; restarting")
                await asyncio.sleep(self.RESTART_PAUSE)

    async def close(self, grace: float = 15.0) -> None:
        self.sender.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout=grace)
        except TimeoutError:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
