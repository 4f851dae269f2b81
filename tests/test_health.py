"""Health, start-up and configuration: the operating contract around the webhooks."""

from __future__ import annotations

import pytest

from app import NotMigrated
from storage.db import Database
from tests.fakes.webhooks import running_app
from wlcc.settings import SettingsError, load_settings


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_healthz_with_both_channels_off(make_settings):
    settings = make_settings(
        telegram_bot_token=None,
        telegram_webhook_secret=None,
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_whatsapp_from=None,
    )
    with running_app(settings) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.post("/webhooks/telegram", json={"update_id": 1}).status_code == 404
        assert client.post("/webhooks/whatsapp", data={"Body": "x"}).status_code == 404
        assert client.post("/webhooks/whatsapp/status", data={}).status_code == 404


def test_healthz_reports_an_unreachable_database(client):
    # A database that refuses connections (nothing listens on port 1).
    state = client.app.state
    working, state.db = state.db, Database("postgresql://wlcc@127.0.0.1:1/wlcc?connect_timeout=2")
    try:
        response = client.get("/healthz")
    finally:
        state.db.dispose()
        state.db = working
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


def test_channels_start_without_network(make_settings, fake_telegram, fake_twilio):
    """Start-up calls no platform (no getMe, no Twilio request): it works offline."""
    with running_app(make_settings()) as client:
        assert client.get("/healthz").status_code == 200
    assert fake_telegram.all_calls() == []
    assert fake_twilio.all_calls() == []


def test_start_refuses_an_unmigrated_database(make_settings, tmp_path):
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NotMigrated, match="wlcc db upgrade"), running_app(settings):
        pass


def test_telegram_token_without_webhook_secret_is_refused(make_settings):
    with pytest.raises(SettingsError) as info:
        make_settings(telegram_webhook_secret=None)
    message = str(info.value)
    assert "TELEGRAM_WEBHOOK_SECRET" in message
    assert "TELEGRAM_BOT_TOKEN" in message
    assert "123456:ABC" not in message  # the token itself is not repeated


@pytest.mark.parametrize("secret", ["has space", "ü-umlaut", "x" * 257, "semi;colon"])
def test_webhook_secret_must_be_what_telegram_accepts(make_settings, secret):
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        make_settings(telegram_webhook_secret=secret)


def test_blank_secret_counts_as_missing(make_settings):
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        make_settings(telegram_webhook_secret="   ")


def test_whatsapp_sender_gets_its_prefix(make_settings):
    assert make_settings(twilio_whatsapp_from="+14155238886").twilio_whatsapp_from == (
        "whatsapp:+14155238886"
    )


def test_environment_does_not_leak_into_test_settings(make_settings, monkeypatch):
    """The fixtures pass every field: an operator's environment cannot change a test."""
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot")
    monkeypatch.setenv("WLCC_DEFAULT_LANGUAGE", "en")
    settings = make_settings()
    assert settings.telegram_api_base_url.startswith("http://127.0.0.1:")
    assert settings.wlcc_default_language == "id"


def test_settings_read_the_environment(monkeypatch, clean_env):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(_env_file=None)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret_value")
    settings = load_settings(_env_file=None)
    assert settings.telegram_enabled
    assert not settings.whatsapp_enabled
    assert set(settings.whatsapp_missing) == {
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_WHATSAPP_FROM",
    }
