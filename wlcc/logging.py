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
# 9-15 digits, optionally prefixed with + or whatsapp:+, with common separators inside; not a
# date such as the 2026-12-12 09:00 of every line's timestamp.
_PHONE = re.compile(r"(?<![\w/.])(?!\d{4}-\d\d-\d\d)(\+?\d[\d\- ]{7,17}\d)(?![\w.])")
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
        return _PHONE.sub(lambda m: mask_phone(m.group(1)), text)


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
    # uvicorn installs its own handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
