"""What a send attempt to Telegram or Twilio ended in: one reading of the platforms' errors,
for the outbox sender and for the replies the channels send directly."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from twilio.base.exceptions import TwilioException

from storage.outbox import UNREACHABLE_TWILIO_CODES, Reason
from wlcc.messages import Outbound, SendReport

RETRY_AFTER_CAP = 3600.0  # never believe a flood-control pause longer than an hour


class SendFailure(Exception):
    """A send attempt that did not work.

    ``retry``: try again later (backoff, or ``pause`` seconds when the platform said so);
    otherwise the row fails for good with ``reason``; ``unreachable`` marks the chat.
    """

    def __init__(
        self,
        detail: str,
        *,
        retry: bool,
        reason: str = Reason.REJECTED,
        pause: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry = retry
        self.reason = reason
        self.pause = pause
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class Delivery:
    platform_message_id: str | None
    garbled: bool = False


def _retry_after(exc: RetryAfter) -> float:
    raw = getattr(exc, "_retry_after", None)  # a timedelta, read without the deprecation warning
    if isinstance(raw, timedelta):
        return raw.total_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify_telegram(exc: Exception) -> SendFailure | Delivery:
    """What a python-telegram-bot exception means for the row."""
    if isinstance(exc, RetryAfter):
        return SendFailure(str(exc), retry=True, pause=min(_retry_after(exc), RETRY_AFTER_CAP))
    if isinstance(exc, Forbidden):
        # "bot was blocked by the user", "user is deactivated", "bot can't initiate ..."
        return SendFailure(exc.message, retry=False, reason=Reason.UNREACHABLE, unreachable=True)
    if isinstance(exc, ChatMigrated):
        return SendFailure(str(exc), retry=False)
    if isinstance(exc, BadRequest):
        text = exc.message.lower()
        if "chat not found" in text or "user not found" in text or "deactivated" in text:
            return SendFailure(
                exc.message, retry=False, reason=Reason.UNREACHABLE, unreachable=True
            )
        if "file" in text or "photo" in text or "image" in text:
            return SendFailure(exc.message, retry=False, reason=Reason.MEDIA)
        return SendFailure(exc.message, retry=False)
    if isinstance(exc, NetworkError):  # 5xx, 502 pages, timeouts, connection errors
        return SendFailure(exc.message, retry=True)
    if type(exc) is TelegramError:
        # python-telegram-bot raises the bare class when a 2xx answer is not JSON.
        return Delivery(None, garbled=True)
    if isinstance(exc, TelegramError):  # InvalidToken, Conflict...: configuration; retry
        return SendFailure(exc.message, retry=True)
    # A 2xx answer whose JSON is not a Message (KeyError, TypeError...): it was accepted.
    return Delivery(None, garbled=True)


def classify_twilio(exc: Exception) -> SendFailure | Delivery:
    """What a twilio (or aiohttp) exception means for the row."""
    if isinstance(exc, TwilioException) and hasattr(exc, "status"):
        status = int(getattr(exc, "status", 0) or 0)
        code = str(getattr(exc, "code", "") or "")
        detail = f"Twilio error {code or '?'} (HTTP {status}): {getattr(exc, 'msg', exc)}"
        if status == 429 or code in ("20429", "63018"):
            return SendFailure(detail, retry=True, pause=1.0)
        if status >= 500 or status in (401, 403) or status == 0:
            return SendFailure(detail, retry=True)
        if code == "63016":
            return SendFailure(detail, retry=False, reason=Reason.WINDOW)
        if code == "21211":
            return SendFailure(detail, retry=False, reason=Reason.INVALID_PHONE, unreachable=True)
        if code in UNREACHABLE_TWILIO_CODES:
            return SendFailure(detail, retry=False, reason=Reason.UNREACHABLE, unreachable=True)
        if code in ("11200", "12300", "63019", "21620", "21623"):
            return SendFailure(detail, retry=False, reason=Reason.MEDIA)
        return SendFailure(detail, retry=False)
    if isinstance(exc, TwilioException):
        return SendFailure(f"Twilio: {exc}", retry=True)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SendFailure(f"network: {type(exc).__name__}: {exc}", retry=True)
    # json.loads of a 2xx answer failed (the twilio library checks the status first).
    return Delivery(None, garbled=True)


async def send_in_order(
    replies: Sequence[Outbound],
    parts: Callable[[Outbound], list[Outbound]],
    send_part: Callable[[Outbound], Awaitable[object]],
    classify: Callable[[Exception], SendFailure | Delivery],
    errors: tuple[type[Exception], ...],
    until: float | None,
    channel: str,
) -> SendReport:
    """Send a message's replies piece by piece (``parts``), in order, until the first failure
    (one of ``errors``, read by ``classify``); the report says how far it got. A reply cut short
    leaves only its unsent pieces, so nothing arrives twice; no piece starts after ``until``
    (the event loop's clock), when the rows' lease ends."""
    loop = asyncio.get_running_loop()
    for index, reply in enumerate(replies):
        pieces = parts(reply)
        for i, part in enumerate(pieces):
            rest = tuple(pieces[i:]) if i else ()
            if until is not None and loop.time() >= until:
                return SendReport(index, "the lease of the replies ended", True, rest=rest)
            try:
                await send_part(part)
            except errors as exc:
                verdict = classify(exc)
                if isinstance(verdict, Delivery):  # unreadable, after a 2xx: it was sent
                    continue
                logging.getLogger(f"bot.{channel}").warning(
                    "%s reply failed%s: %s",
                    channel,
                    " (will retry)" if verdict.retry else "",
                    verdict.detail,
                )
                return SendReport(
                    index,
                    verdict.detail,
                    verdict.retry,
                    retry_after=verdict.pause,
                    unreachable=verdict.unreachable,
                    rest=rest,
                )
    return SendReport(len(replies))
