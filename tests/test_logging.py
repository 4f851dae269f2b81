"""Logs never carry a bot token, a registered secret or a full phone number (wlcc.logging)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from wlcc.logging import RedactingFormatter, configure_logging, mask_phone

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = "my-webhook-secret_42"
AUTH = "twilio-auth-token-value"


@pytest.fixture
def fmt() -> RedactingFormatter:
    return RedactingFormatter("%(levelname)s %(name)s: %(message)s", [SECRET, AUTH])


def line(fmt: RedactingFormatter, msg: str, *args: object, exc: bool = False) -> str:
    exc_info = sys.exc_info() if exc else None
    record = logging.LogRecord("wlcc.test", logging.INFO, __file__, 1, msg, args, exc_info)
    return fmt.format(record)


# --- bot tokens ---


@pytest.mark.parametrize(
    "text",
    [
        f"token {TOKEN}",
        f"token={TOKEN}",
        f"POST https://api.telegram.org/bot{TOKEN}/sendMessage " + '"HTTP/1.1 200 OK"',
        f"http://127.0.0.1:8081/bot{TOKEN}/getMe",
        f"https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg",
        f"'{TOKEN}'",
        "token 7000000001:AAE-_0123456789abcdefghijklmnopqrstu",
    ],
)
def test_bot_tokens_are_hidden(fmt: RedactingFormatter, text: str) -> None:
    out = line(fmt, text)
    assert "[bot-token]" in out
    assert TOKEN not in out
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0" not in out
    assert "0123456789abcdefghijklmnopqrstu" not in out


def test_token_in_url_keeps_the_rest_of_the_url(fmt: RedactingFormatter) -> None:
    out = line(fmt, "POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    assert out.endswith("POST https://api.telegram.org/bot[bot-token]/sendMessage")


# --- registered secrets ---


def test_registered_secrets_are_hidden(fmt: RedactingFormatter) -> None:
    out = line(fmt, "header %s and auth %s", SECRET, AUTH)
    assert SECRET not in out
    assert AUTH not in out
    assert out.count("[secret]") == 2


def test_short_or_empty_secrets_are_not_registered() -> None:
    # A one-letter "secret" would blank out every such letter of every line.
    fmt = RedactingFormatter("%(message)s", ["", "a", "abc"])
    assert line(fmt, "a cat and abc") == "a cat and abc"


def test_twilio_account_sid_is_shortened(fmt: RedactingFormatter) -> None:
    sid = "AC" + "0123456789abcdef" * 2
    out = line(fmt, "account %s", sid)
    assert sid not in out
    assert "AC…" in out


# --- phone numbers ---


@pytest.mark.parametrize(
    "text, shown",
    [
        ("+6281234567890", "+**********890"),
        ("081234567890", "*********890"),
        ("6281234567890", "**********890"),
        ("whatsapp:+6281234567890", "whatsapp:+**********890"),
        ("0812-3456-7890", "*********890"),
        ("+62 812 3456 7890", "+**********890"),
        ("+14155238886", "+********886"),
        ("0812.3456.7890", "*********890"),
        ("+62(812)3456-7890", "+**********890"),
        ("+62 (812) 3456 7890", "+**********890"),
        ("(0812) 3456 7890", "*********890"),
        ("https://wa.me/6281234567890", "https://wa.me/**********890"),
        ("+6281234567890.", "+**********890."),  # at the end of a sentence
    ],
)
def test_phone_numbers_keep_only_the_last_three_digits(
    fmt: RedactingFormatter, text: str, shown: str
) -> None:
    out = line(fmt, "message from %s received", text)
    assert out.endswith(f"message from {shown} received")
    digits = "".join(c for c in text if c.isdigit())
    assert digits not in "".join(c for c in out if c.isdigit())


def test_several_phones_in_one_line(fmt: RedactingFormatter) -> None:
    out = line(fmt, "From=whatsapp:+6281234567890&To=whatsapp:+14155238886")
    assert out.endswith("From=whatsapp:+**********890&To=whatsapp:+********886")


@pytest.mark.parametrize(
    "text, shown",
    [
        (
            '"POST /webhooks/whatsapp/status?to=%2B6281234567890&outbox=12 HTTP/1.1" 204',
            '"POST /webhooks/whatsapp/status?to=%2B**********890&outbox=12 HTTP/1.1" 204',
        ),
        ("From=whatsapp%3A%2B6281234567890&To=", "From=whatsapp%3A%2B**********890&To="),
        ("From=whatsapp%3A%2B62%20812%203456%207890&To=", "From=whatsapp%3A%2B**********890&To="),
        ("phone=%2b6281234567890", "phone=%2b**********890"),
    ],
)
def test_url_encoded_phones_are_hidden(fmt: RedactingFormatter, text: str, shown: str) -> None:
    """As uvicorn's access log writes a query string."""
    out = line(fmt, "%s", text)
    assert out.endswith(shown)
    assert "6281234567890" not in out and "3456" not in out


def test_phones_in_exception_tracebacks_are_hidden(fmt: RedactingFormatter) -> None:
    try:
        raise ValueError(f"cannot send to +6281234567890 with {TOKEN}")
    except ValueError:
        out = line(fmt, "send failed", exc=True)
    assert "Traceback" in out
    assert "6281234567890" not in out
    assert TOKEN not in out
    assert "+**********890" in out


@pytest.mark.parametrize(
    "text",
    [
        "amount 1250000",  # money is not a phone
        "chat 7000001",
        "at 2026-12-12 09:00:00,123",  # a timestamp
        "on 2026-12-12",
        "version 1.2.3",
        "https://example.org/media/6281234567890.jpg",  # inside a path: not touched
        "took 1234.5678 ms",  # a decimal number
        "client 192.168.100.200:8000",  # an IPv4 address
        "GET /2010-04-01/Accounts/AC123/Messages.json",
    ],
)
def test_other_numbers_stay(fmt: RedactingFormatter, text: str) -> None:
    assert line(fmt, text).endswith(text)


def test_mask_phone() -> None:
    assert mask_phone("+6281234567890") == "+**********890"
    assert mask_phone("0812 3456 7890") == "*********890"
    assert mask_phone("1234567") == "1234567"  # too short to be a phone


# --- the installed handler ---


TOUCHED = ["", "httpx", "httpcore", "twilio.http_client", "twilio.async_http_client"]
TOUCHED += ["uvicorn", "uvicorn.error", "uvicorn.access"]


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """configure_logging changes global loggers: put them back afterwards."""
    saved = [
        (lg, list(lg.handlers), lg.level, lg.propagate)
        for lg in (logging.getLogger(name) for name in TOUCHED)
    ]
    yield logging.getLogger()
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_configure_logging_redacts_every_logger(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("INFO", [SECRET])
    configure_logging("INFO", [SECRET])  # idempotent: one handler, one line per record
    ours = [h for h in root_logger.handlers if getattr(h, "_wlcc", False)]
    assert len(ours) == 1
    logging.getLogger("wlcc.router").info("reply to %s", "+6281234567890")
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    logging.getLogger("uvicorn.error").warning("secret %s", SECRET)
    out = stream.getvalue()
    assert out.count("\n") == 3
    assert "6281234567890" not in out
    assert TOKEN not in out
    assert SECRET not in out
    # The timestamp at the start of each line stays readable.
    first = out.splitlines()[0]
    assert first[:4].isdigit() and first[4] == "-"
