"""One settings object for the whole service, read from the environment and ``.env``.

The names of the first block are the operating contract in docs/ARCHITECTURE.md; the ``WLCC_``
extras are tuning knobs with safe defaults.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError


class SettingsError(RuntimeError):
    """The configuration cannot work; the message says what to change."""


_HOTLINE_PHONE = re.compile(r"^\+?[0-9][0-9 -]{1,24}$")


class Hotline(BaseModel):
    """A help line given at once to anyone whose message speaks of violence or danger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    phone: str

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a hotline needs a name")
        return value

    @field_validator("phone")
    @classmethod
    def _dialable(cls, value: str) -> str:
        value = value.strip()
        if not _HOTLINE_PHONE.match(value):
            raise ValueError(
                f"{value!r} is not a number to call (digits, spaces, - and a leading +)"
            )
        return value


# The national SAPA 129 line of the Ministry of Women's Empowerment and Child Protection.
DEFAULT_HOTLINES = (Hotline(name="SAPA 129", phone="129"),)
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3])[:.][0-5][0-9]$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- operating contract (docs/ARCHITECTURE.md) ---
    database_url: str = "sqlite:///./wlcc.db"
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    public_base_url: str | None = None
    wlcc_timezone: str = "Asia/Jakarta"

    # --- tuning ---
    wlcc_session_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    wlcc_max_webhook_bytes: int = Field(default=256 * 1024, ge=1024)
    wlcc_default_language: str = "id"
    wlcc_log_level: str = "INFO"
    wlcc_inbound_retention_days: int = Field(default=90, ge=1)
    wlcc_outbox_retention_days: int = Field(default=180, ge=7)  # finished outbox rows
    wlcc_scheduler_enabled: bool = True
    # Answer inbound messages in a separate `wlcc worker` process instead of in the app: the
    # webhooks then only record (fastest acknowledgement); run exactly one such worker.
    wlcc_inbox_worker: bool = False
    # Seconds the replies to a message are reserved for the process that answered it; if it
    # dies before sending them, the outbox sender sends them when this ends.
    wlcc_reply_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # A message whose answer fails this many times is set aside (`wlcc inbox failed` lists it).
    wlcc_answer_attempts: int = Field(default=3, ge=1, le=100)
    # Seconds to wait for Telegram or Twilio to answer one send before trying again later.
    wlcc_send_timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    # --- outbox sender (bot/sender.py); a rate of 0 lifts that limit ---
    wlcc_sender_enabled: bool = True  # run the sender inside the app (else: `wlcc worker`)
    wlcc_telegram_rate_per_second: float = Field(default=30.0, ge=0)  # the whole bot
    wlcc_telegram_chat_rate_per_second: float = Field(default=1.0, ge=0)  # one chat
    wlcc_whatsapp_rate_per_second: float = Field(default=80.0, ge=0)  # one sender number
    # The demo's simulated channel (terminal chat): on only for the demo (`make demo`). Only
    # then does a sender deliver to simulated chats, and `wlcc chat` show what arrived.
    wlcc_simulator: bool = False
    wlcc_simulator_rate_per_second: float = Field(default=30.0, ge=0)  # simulated chats
    wlcc_outbox_max_attempts: int = Field(default=6, ge=1, le=100)
    wlcc_outbox_backoff_seconds: float = Field(default=5.0, gt=0)  # first retry, then doubled
    wlcc_outbox_backoff_max_seconds: float = Field(default=900.0, gt=0)
    wlcc_outbox_lease_seconds: float = Field(default=120.0, ge=5)
    wlcc_outbox_batch_size: int = Field(default=500, ge=1, le=5000)
    wlcc_outbox_concurrency: int = Field(default=64, ge=1, le=1000)
    wlcc_outbox_poll_seconds: float = Field(default=1.0, gt=0)
    wlcc_broadcast_progress_seconds: float = Field(default=60.0, gt=0)
    # Pre-approved WhatsApp templates (Twilio Content SIDs) per message kind, as JSON:
    # {"broadcast": "HX...", "reminder": "HX..."}; used outside the 24-hour window.
    wlcc_whatsapp_templates: dict[str, str] = Field(default_factory=dict)
    # Help lines for a message about violence or danger, as JSON:
    # [{"name": "SAPA 129", "phone": "129"}, {"name": "...", "phone": "+62..."}].
    wlcc_help_hotlines: tuple[Hotline, ...] = DEFAULT_HOTLINES
    # Days a call-back request of the help path is kept once an officer marked it handled.
    wlcc_help_retention_days: int = Field(default=30, ge=1, le=365)

    # --- meetings and their notices (storage/meetings*.py, the scheduler's notice job) ---
    # Local hours when no notice is sent ("21:00-06:00"); what falls due then waits for the
    # morning. Empty: no quiet hours.
    wlcc_quiet_hours: str = "21:00-06:00"
    wlcc_announce_days_before: int = Field(default=7, ge=1, le=60)  # the announcement
    wlcc_reminder_days_before: int = Field(default=1, ge=1, le=30)  # the reminder
    # The morning-of reminder to those who said yes, local time ("" for none).
    wlcc_morning_reminder_time: str = "06:30"
    # Hours a member asked to take a role (MC, facilitator, speaker) has to answer.
    wlcc_role_answer_hours: int = Field(default=48, ge=1, le=24 * 14)
    # Days a theme vote stays open unless the coordinator closes it earlier.
    wlcc_theme_vote_days: int = Field(default=7, ge=1, le=60)
    # How many months of a recurring meeting exist ahead.
    wlcc_meeting_months_ahead: int = Field(default=3, ge=1, le=12)

    # --- credit union loans (storage/loans.py, storage/loans_notices.py) ---
    # The default flat interest rate of a new loan, percent of the principal per month, read
    # as a decimal string ("1.5"; at most two decimals, 0 to 10): never a float.
    wlcc_loan_rate_percent: Decimal = Field(
        default=Decimal("1.5"), ge=0, le=10, max_digits=4, decimal_places=2
    )
    # The installment reminder, days before the due date (the missed notice is the day after).
    wlcc_installment_reminder_days: int = Field(default=3, ge=1, le=27)
    # A complaint's photo larger than this (megabytes) is not kept; the reporter is told.
    wlcc_complaint_max_photo_mb: int = Field(default=5, ge=1, le=50)

    # --- complaints: time limits, escalation, open data (storage/complaints_escalation.py,
    # bot/open311.py) ---
    # Working days (Monday to Friday, not an Indonesian holiday or cuti bersama) a ticket may
    # stay "received" before it is overdue for verification, and stay "forwarded" before it
    # is overdue for a response (in the spirit of SP4N-LAPOR!).
    wlcc_complaint_verify_days: int = Field(default=3, ge=1, le=60)
    wlcc_complaint_response_days: int = Field(default=5, ge=1, le=60)
    # Local time from which the day's digest of overdue tickets goes to the coordinators.
    wlcc_complaint_digest_time: str = "08:00"
    # Tickets per page of GET /open311/v2/requests.json when the client asks for no
    # page_size (the specification's ceiling is 1000).
    wlcc_open311_page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "twilio_auth_token",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("twilio_account_sid", "twilio_whatsapp_from", "public_base_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("wlcc_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use e.g. Asia/Jakarta)") from exc
        return value

    @field_validator("wlcc_default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("id", "en"):
            raise ValueError("WLCC_DEFAULT_LANGUAGE must be 'id' or 'en'")
        return value

    @field_validator("wlcc_whatsapp_templates")
    @classmethod
    def _content_sids(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, sid in value.items():
            if not kind.strip() or not isinstance(sid, str) or not sid.startswith("HX"):
                raise ValueError(
                    "WLCC_WHATSAPP_TEMPLATES maps message kinds to Twilio Content SIDs, e.g. "
                    '{"broadcast": "HXabc123..."}; each SID starts with HX'
                )
        return value

    @field_validator("wlcc_help_hotlines")
    @classmethod
    def _some_hotline(cls, value: tuple[Hotline, ...]) -> tuple[Hotline, ...]:
        if not value:
            raise ValueError(
                'needs at least one help line, e.g. [{"name": "SAPA 129", "phone": "129"}]'
            )
        return value

    @field_validator("wlcc_quiet_hours", "wlcc_morning_reminder_time", "wlcc_complaint_digest_time")
    @classmethod
    def _clock_times(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = value.split("-") if info.field_name == "wlcc_quiet_hours" else [value]
        if info.field_name == "wlcc_quiet_hours" and len(parts) != 2:
            raise ValueError('write the quiet hours as "21:00-06:00" (or leave it empty)')
        for part in parts:
            if not _CLOCK.match(part.strip()):
                raise ValueError(f"{part.strip()!r} is not a time of day such as 06:30")
        return value

    @field_validator("twilio_whatsapp_from")
    @classmethod
    def _whatsapp_prefix(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("whatsapp:"):
            value = f"whatsapp:{value}"
        return value

    @field_validator("telegram_api_base_url", "twilio_api_base_url", "public_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _telegram_needs_secret(self) -> Settings:
        if self.telegram_bot_token is not None and self.telegram_webhook_secret is None:
            raise ValueError(
                "TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is not: the Telegram "
                "webhook would accept forged updates. Set TELEGRAM_WEBHOOK_SECRET to a random "
                "string of 1-256 characters (A-Z, a-z, 0-9, _ and -)."
            )
        secret = self.telegram_webhook_secret
        if secret is not None:
            raw = secret.get_secret_value()
            allowed = all((c.isascii() and c.isalnum()) or c in "_-" for c in raw)
            if not (1 <= len(raw) <= 256) or not allowed:
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1-256 chars)."
                )
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(
            self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from
        )

    @property
    def whatsapp_missing(self) -> list[str]:
        names = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_WHATSAPP_FROM": self.twilio_whatsapp_from,
        }
        return [name for name, value in names.items() if not value]

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.wlcc_timezone)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticSettingsError as exc:  # e.g. a JSON setting that is not JSON
        raise SettingsError(f"Invalid configuration:\n  {exc} (is it valid JSON?)") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"  {where}: {msg}")
        raise SettingsError("Invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
