"""Settings: the operating contract of docs/ARCHITECTURE.md, read from the environment and
``.env``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wlcc.settings import Settings, SettingsError, load_settings

CONTRACT = {
    "DATABASE_URL": "database_url",
    "TELEGRAM_BOT_TOKEN": "telegram_bot_token",
    "TELEGRAM_WEBHOOK_SECRET": "telegram_webhook_secret",
    "TELEGRAM_API_BASE_URL": "telegram_api_base_url",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_WHATSAPP_FROM": "twilio_whatsapp_from",
    "TWILIO_API_BASE_URL": "twilio_api_base_url",
    "PUBLIC_BASE_URL": "public_base_url",
    "WLCC_TIMEZONE": "wlcc_timezone",
}

# One value per setting, as an operator would write it; the expected value read back.
VALUES = {
    "DATABASE_URL": ("postgresql://wlcc:pw@db:5432/wlcc", "postgresql://wlcc:pw@db:5432/wlcc"),
    "TELEGRAM_BOT_TOKEN": ("123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456789", None),
    "TELEGRAM_WEBHOOK_SECRET": ("s3cret_token-value", None),
    "TELEGRAM_API_BASE_URL": ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot"),
    "TWILIO_ACCOUNT_SID": ("AC" + "0" * 32, "AC" + "0" * 32),
    "TWILIO_AUTH_TOKEN": ("twilio-auth-token", None),
    "TWILIO_WHATSAPP_FROM": ("whatsapp:+14155238886", "whatsapp:+14155238886"),
    "TWILIO_API_BASE_URL": ("http://127.0.0.1:9090", "http://127.0.0.1:9090"),
    "PUBLIC_BASE_URL": ("https://wlcc.example.org", "https://wlcc.example.org"),
    "WLCC_TIMEZONE": ("Asia/Makassar", "Asia/Makassar"),
}
SECRETS = {"TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the developer's shell or a .env of the project leaks in."""
    for name in list(os.environ):
        if name.upper() in CONTRACT or name.upper().startswith("WLCC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read(settings: Settings, field: str) -> object:
    value = getattr(settings, field)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def test_defaults_are_the_contract() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./wlcc.db"
    assert settings.telegram_bot_token is None
    assert settings.telegram_webhook_secret is None
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.twilio_account_sid is None
    assert settings.twilio_auth_token is None
    assert settings.twilio_whatsapp_from is None
    assert settings.twilio_api_base_url == "https://api.twilio.com"
    assert settings.public_base_url is None
    assert settings.wlcc_timezone == "Asia/Jakarta"
    assert settings.timezone.key == "Asia/Jakarta"
    assert settings.wlcc_session_timeout_minutes == 30
    assert settings.wlcc_default_language == "id"


def test_no_channel_without_credentials() -> None:
    settings = load_settings()
    assert not settings.telegram_enabled
    assert not settings.whatsapp_enabled
    assert settings.whatsapp_missing == [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_WHATSAPP_FROM",
    ]


def _set_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (raw, _) in VALUES.items():
        monkeypatch.setenv(name, raw)


def _check_all(settings: Settings) -> None:
    for name, field in CONTRACT.items():
        raw, expected = VALUES[name]
        assert read(settings, field) == (raw if expected is None else expected), name


def test_every_contract_name_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_all(monkeypatch)
    settings = load_settings()
    _check_all(settings)
    assert settings.telegram_enabled
    assert settings.whatsapp_enabled
    assert settings.whatsapp_missing == []
    assert settings.timezone.key == "Asia/Makassar"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_each_name_alone(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    raw, expected = VALUES[name]
    monkeypatch.setenv(name, raw)
    if name == "TELEGRAM_BOT_TOKEN":  # refused without its secret, see below
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "secret")
    assert read(load_settings(), CONTRACT[name]) == (raw if expected is None else expected)


def test_every_contract_name_is_read_from_a_dotenv_file(clean_environment: Path) -> None:
    lines = [f"{name}={raw}" for name, (raw, _) in VALUES.items()]
    (clean_environment / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _check_all(load_settings())


def test_the_environment_wins_over_dotenv(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    (clean_environment / ".env").write_text(
        "DATABASE_URL=sqlite:///from-dotenv.db\nWLCC_TIMEZONE=Asia/Jayapura\n", encoding="utf-8"
    )
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    settings = load_settings()
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.wlcc_timezone == "Asia/Jayapura"


def test_dotenv_is_read_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///here.db\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    assert load_settings().database_url == "sqlite:///./wlcc.db"


def test_names_are_not_case_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("database_url", "sqlite:///lower.db")
    assert load_settings().database_url == "sqlite:///lower.db"


def test_telegram_token_without_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", VALUES["TELEGRAM_BOT_TOKEN"][0])
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("Invalid configuration:")
    assert "TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is not" in message
    # The message never repeats the secret it is about.
    assert VALUES["TELEGRAM_BOT_TOKEN"][0] not in message


def test_telegram_token_without_secret_in_dotenv_is_refused(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


@pytest.mark.parametrize("secret", ["has space", "semi;colon", "ä", "x" * 257])
def test_webhook_secret_characters(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET may only use"):
        load_settings()


def test_telegram_on_with_token_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "A-z_0-9")
    settings = load_settings()
    assert settings.telegram_enabled
    assert not settings.whatsapp_enabled


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"]
)
def test_whatsapp_off_when_a_credential_is_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"):
        if name != missing:
            monkeypatch.setenv(name, VALUES[name][0])
    settings = load_settings()
    assert not settings.whatsapp_enabled
    assert settings.whatsapp_missing == [missing]


def test_blank_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
    ):
        monkeypatch.setenv(name, "  ")
    settings = load_settings()
    assert not settings.telegram_enabled
    assert settings.twilio_account_sid is None
    assert settings.public_base_url is None


def test_whatsapp_sender_gets_its_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", "+14155238886")
    assert load_settings().twilio_whatsapp_from == "whatsapp:+14155238886"


@pytest.mark.parametrize("zone", ["Asia/Palembang", "WIB", "UTC+7", "", "../../etc/passwd"])
def test_bad_timezone_is_refused(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("WLCC_TIMEZONE", zone)
    with pytest.raises(SettingsError, match="WLCC_TIMEZONE"):
        load_settings()


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"])
def test_good_timezones(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("WLCC_TIMEZONE", zone)
    assert load_settings().timezone.key == zone


@pytest.mark.parametrize(
    "name", ["TELEGRAM_API_BASE_URL", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL"]
)
def test_urls_must_be_http(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "ftp://example.org")
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_secrets_stay_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_all(monkeypatch)
    settings = load_settings()
    shown = repr(settings) + str(settings)
    for name in SECRETS:
        assert VALUES[name][0] not in shown


def test_overrides_in_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///env.db")
    assert load_settings(database_url="sqlite:///given.db").database_url == "sqlite:///given.db"


def test_several_problems_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WLCC_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("PUBLIC_BASE_URL", "wlcc.example.org")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "WLCC_TIMEZONE" in message
    assert "PUBLIC_BASE_URL" in message


def test_help_hotlines_default_to_sapa_129() -> None:
    [hotline] = load_settings().wlcc_help_hotlines
    assert (hotline.name, hotline.phone) == ("SAPA 129", "129")


def test_help_hotlines_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WLCC_HELP_HOTLINES",
        '[{"name": "SAPA 129", "phone": "129"}, {"name": "Polisi", "phone": " 110 "}]',
    )
    lines = load_settings().wlcc_help_hotlines
    assert [(h.name, h.phone) for h in lines] == [("SAPA 129", "129"), ("Polisi", "110")]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("[]", "at least one help line"),
        ('[{"name": " ", "phone": "129"}]', "a hotline needs a name"),
        ('[{"name": "SAPA", "phone": "call us"}]', "not a number to call"),
        ('[{"name": "SAPA"}]', "WLCC_HELP_HOTLINES.0.PHONE"),
        ('[{"name": "SAPA", "phone": "129", "fax": "1"}]', "WLCC_HELP_HOTLINES.0.FAX"),
        ("SAPA 129", "valid JSON"),
    ],
)
def test_bad_help_hotlines_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("WLCC_HELP_HOTLINES", value)
    with pytest.raises(SettingsError, match=r"WLCC_HELP_HOTLINES|wlcc_help_hotlines") as exc:
        load_settings()
    assert says in str(exc.value)
