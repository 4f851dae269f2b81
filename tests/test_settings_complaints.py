"""The complaints' settings: the time limits, the digest's time, Open311's page (their
defaults are the contract of docs/ARCHITECTURE.md; what cannot work is refused by name)."""

from __future__ import annotations

import pytest

from wlcc.settings import SettingsError, load_settings


def test_defaults(clean_env: None) -> None:
    settings = load_settings(_env_file=None)
    assert settings.wlcc_complaint_verify_days == 3
    assert settings.wlcc_complaint_response_days == 5
    assert settings.wlcc_complaint_digest_time == "08:00"
    assert settings.wlcc_open311_page_size == 100


def test_read_from_the_environment(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WLCC_COMPLAINT_VERIFY_DAYS", "2")
    monkeypatch.setenv("WLCC_COMPLAINT_RESPONSE_DAYS", "10")
    monkeypatch.setenv("WLCC_COMPLAINT_DIGEST_TIME", " ")
    monkeypatch.setenv("WLCC_OPEN311_PAGE_SIZE", "1000")
    settings = load_settings(_env_file=None)
    assert (settings.wlcc_complaint_verify_days, settings.wlcc_complaint_response_days) == (2, 10)
    assert settings.wlcc_complaint_digest_time == ""  # no digest
    assert settings.wlcc_open311_page_size == 1000


@pytest.mark.parametrize(
    "name, value",
    [
        ("WLCC_COMPLAINT_VERIFY_DAYS", "0"),
        ("WLCC_COMPLAINT_RESPONSE_DAYS", "-1"),
        ("WLCC_COMPLAINT_DIGEST_TIME", "8 pagi"),
        ("WLCC_COMPLAINT_DIGEST_TIME", "25:00"),
        ("WLCC_OPEN311_PAGE_SIZE", "1001"),
    ],
)
def test_what_cannot_work_is_refused_by_name(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)
