"""What the channels keep of a platform's text, ids and numbers (bot/clean.py)."""

from __future__ import annotations

import pytest

from bot.clean import (
    INT32,
    Rejected,
    check_coordinates,
    check_id,
    check_int,
    clean_optional,
    clean_text,
    parse_count,
    parse_decimal,
)


def test_clean_text_keeps_what_a_person_wrote() -> None:
    assert clean_text("Halo\tIbu,\r\napa kabar?\rBaik 👍") == "Halo\tIbu,\napa kabar?\nBaik 👍"
    assert clean_text("ha\x00lo\x07\x1b[31m\x7f\x85\x9f") == "halo[31m"
    assert clean_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert clean_text("\u202eRTL and زهرة stay") == "\u202eRTL and زهرة stay"


def test_single_line_text_loses_line_breaks_too() -> None:
    assert clean_text("Siti\r\nAminah\tNur\x00", multiline=False) == "Siti Aminah Nur"
    assert clean_optional("\x00\x01") is None
    assert clean_optional(None) is None
    assert clean_optional("Siti\x00") == "Siti"


@pytest.mark.parametrize("value", ["", "SM\x00", "a\ud800", "x\ny", "\x9b", "S" * 129])
def test_bad_ids_are_rejected(value: str) -> None:
    with pytest.raises(Rejected):
        check_id(value, "id")


def test_good_ids_pass() -> None:
    assert check_id("SM" + "0" * 32, "MessageSid") == "SM" + "0" * 32
    assert check_id("https://x.test/a?b=c d", "url", max_length=1000)


def test_integers_in_range() -> None:
    assert check_int(-4012345678, "chat.id") == -4012345678
    for value in (True, 1.0, "1", 2**63, -(2**63) - 1, None):
        with pytest.raises(Rejected):
            check_int(value, "chat.id")


def test_coordinates() -> None:
    assert check_coordinates(-2.9761, 104) == (-2.9761, 104.0)
    assert check_coordinates(90, -180) == (90.0, -180.0)
    for lat, lon in ((float("nan"), 0), (0, float("inf")), (90.01, 0), (0, 180.5), (True, 0)):
        with pytest.raises(Rejected):
            check_coordinates(lat, lon)


@pytest.mark.parametrize("value", ["nan", "inf", "1e5", "1_0", "٣", "", "-", "0x1", " 1"])
def test_decimals_are_plain(value: str) -> None:
    with pytest.raises(Rejected):
        parse_decimal(value, "Latitude")


def test_decimals_and_counts() -> None:
    assert parse_decimal("-2.9761", "Latitude") == -2.9761
    assert parse_decimal(".5", "Latitude") == 0.5
    assert parse_count("0", "NumMedia", high=10) == 0
    assert parse_count(str(INT32), "outbox", high=INT32) == INT32
    for value in ("²", "٣", "-1", "11", "", "1.0", "9" * 5000):
        with pytest.raises(Rejected):
            parse_count(value, "NumMedia", high=10)
