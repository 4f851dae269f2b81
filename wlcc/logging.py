"""Logging that never writes a secret or a full phone number.

Redaction happens in the formatter, on the final line (message, arguments and traceback alike),
so third-party loggers (httpx logs request URLs that contain the Telegram token) are covered too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# Not \b: in Bot API URLs the token follows "bot" directly (.../bot123:ABC.../sendMessage).
_BOT_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
# 9-15 digits, optionally prefixed with + or whatsapp:+, with the separators people write
# inside (spaces, dashes, dots, brackets: "0812.3456.7890", "+62 (812) 3456-7890"), also at the
# end of a path ("wa.me/62..."); not a date such as the 2026-12-12 09:00 of every line's
# timestamp, nor an IPv4 address, nor a number inside a word or a file name (but one that ends
# a sentence).
_PHONE = re.compile(
    r"(?<![\w.])"
    r"(?!\d{4}-\d\d-\d\d)(?!\d{1,3}(?:\.\d{1,3}){3}(?!\d))"
    r"(\+?\(?\d[\d\-. ()]{7,22}\d)"
    r"(?!\w|\.\w)"
)
# The same, URL-encoded in a query string or form (uvicorn's access log): "%2B6281...",
# "whatsapp%3A%2B62%20812...".
_ENCODED_PHONE = re.compile(r"(?<=%2B|%2b|%3A|%3a)(\d(?:\d|-|\.|%20|%28|%29)*\d)(?!\w|\.\w)")
_ENCODED_SEPARATOR = re.compile("%20|%28|%29")
_TWILIO_SID = re.compile(r"\b(AC|SK)[0-9a-fA-F]{32}\b")


def mask_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if len(digits) < 8:
        return text
    return f"{'+' if text.startswith('+') else ''}{'*' * (len(digits) - 3)}{digits[-3:]}"


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        text = _BOT_TOKEN.sub("[bot-token]", text)
        text = _TWILIO_SID.sub(lambda m: f"{m.group(1)}…", text)
        text = _ENCODED_PHONE.sub(_mask_encoded, text)
        return _PHONE.sub(_mask_plain, text)


def _mask_plain(match: re.Match[str]) -> str:
    found = match.group(1)
    if found.count(".") == 1:  # a decimal number ("1234.5678 ms"), not "0812.3456.7890"
        return found
    return mask_phone(found)


def _mask_encoded(match: re.Match[str]) -> str:
    return mask_phone(_ENCODED_SEPARATOR.sub(" ", match.group(1)))


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Install one redacting handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_wlcc", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    handler._wlcc = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "twilio.http_client", "twilio.async_http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # These write what is sent and stored: python-telegram-bot at DEBUG every request and
    # answer with its text, SQLAlchemy at INFO every statement with its parameters (message
    # texts, receipts' amounts and balances). Whatever the level, they say less.
    logging.getLogger("telegram").setLevel(max(root.level, logging.INFO))
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # uvicorn installs its own handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
