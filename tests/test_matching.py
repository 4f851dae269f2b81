"""Forgiving keyword, number and label matching (handlers.matching)."""

from __future__ import annotations

import pytest

from handlers.matching import (
    FILLER,
    KeywordMatch,
    is_number,
    match_keyword,
    max_edits,
    normalize,
    pick_label,
    pick_number,
)

# The keywords of docs/ARCHITECTURE.md, built and planned, as the dialogs register them.
KEYWORDS = [
    "MENU",
    "MENU UTAMA",
    "JADWAL",
    "HADIR",
    "TIDAK",
    "MUNGKIN",
    "SALDO",
    "PINJAMAN",
    "LAPOR",
    "STATUS",
    "BANTUAN",
    "BANTUAN KEKERASAN",
    "BATAL",
    "DAFTAR",
    "BERHENTI",
    "STOP",
    "MULAI",
    "RAPAT BARU",
    "USUL",
    "TEMA",
    "PILIH TEMA",
    "VOTING TEMA",
    "TUTUP VOTING",
    "KALENDER",
    "SCHEDULE",
    "ATTEND",
    "NOT ATTENDING",
    "MAYBE",
    "NEW MEETING",
    "PESERTA",
    "ATTENDEES",
    "KEHADIRAN",
    "ATTENDANCE",
    "RAPAT UBAH",
    "RAPAT BATAL",
    "CHANGE MEETING",
    "CANCEL MEETING",
    "CUTI PERAN",
    "SIAP PERAN",
    "SIMPANAN",
    "MUTASI",
    "STATEMEN",
    "STATEMEN BULANAN",
    "PIN",
    "GANTI PIN",
]


# --- normalize ---


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MENU", "menu"),
        ("  Menu!!  ", "menu"),
        ("cek   saldo?", "cek saldo"),
        ("Menu\tutama\n", "menu utama"),
        ("STATUS A-12", "status a-12"),
        ("rapat_baru", "rapat baru"),
        ("Café", "cafe"),
        ("¿Qué?", "que"),
        ("...", ""),
        ("", ""),
        ("🙏", ""),
        ("2.", "2"),
        ("saldo,tolong", "saldo tolong"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_is_idempotent() -> None:
    for text in ["MENU!!", "Cek Saldo", "STATUS A-12", "2️⃣", "Café"]:
        once = normalize(text)
        assert normalize(once) == once


@pytest.mark.parametrize(
    "word, edits", [("ya", 0), ("ok", 0), ("mau", 0), ("menu", 1), ("saldo", 1), ("bahasa", 1)]
)
def test_short_words_allow_fewer_typos(word: str, edits: int) -> None:
    assert max_edits(word) == edits


def test_long_words_allow_two_typos() -> None:
    assert max_edits("pinjaman") == 2
    assert max_edits("berhenti") == 2


# --- keywords ---


def found(text: str, *, strict: bool = False, keywords: list[str] = KEYWORDS) -> str | None:
    match = match_keyword(text, keywords, strict=strict)
    return match.keyword if match else None


@pytest.mark.parametrize(
    "text", ["MENU", "menu", "Menu", "mEnU", "MENU!!", "menu.", " menu ", "menu?"]
)
def test_exact_keyword_in_any_case_and_punctuation(text: str) -> None:
    match = match_keyword(text, KEYWORDS)
    assert match == KeywordMatch(keyword="MENU", args="", exact=True)


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("mneu", "MENU"),  # swapped letters
        ("menuu", "MENU"),
        ("mnu", "MENU"),
        ("sldo", "SALDO"),
        ("saldoo", "SALDO"),
        ("btal", "BATAL"),
        ("bantuna", "BANTUAN"),
        ("bantun", "BANTUAN"),
        ("pinjman", "PINJAMAN"),
        ("pnjamn", "PINJAMAN"),  # two typos in a long word
        ("jadwl", "JADWAL"),
        ("brhenti", "BERHENTI"),
        ("mungkn", "MUNGKIN"),
    ],
)
def test_typos_within_the_allowance(text: str, keyword: str) -> None:
    match = match_keyword(text, KEYWORDS)
    assert match is not None
    assert match.keyword == keyword
    assert not match.exact


@pytest.mark.parametrize(
    "text",
    [
        "mn",  # too many edits for a short word
        "sld",
        "bntna",
        "pjmn",
        "halo",
        "apa kabar",
        "terima kasih",
        "asdfghjkl",
        "",
        "   ",
        "!!!",
    ],
)
def test_unrelated_or_too_far_is_not_a_keyword(text: str) -> None:
    assert match_keyword(text, KEYWORDS) is None


def test_keywords_of_three_letters_or_less_must_be_exact() -> None:
    assert found("stop") == "STOP"
    assert found("stp", keywords=["STP"]) == "STP"
    assert found("sto", keywords=["STP"]) is None


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("cek saldo", "SALDO"),
        ("Cek Saldo!", "SALDO"),
        ("lihat jadwal", "JADWAL"),
        ("mau lapor", "LAPOR"),
        ("mau lapor dong", "LAPOR"),
        ("saya mau daftar", "DAFTAR"),
        ("tolong bantuan", "BANTUAN"),
        ("show my menu", "MENU"),
        ("menu dong", "MENU"),
        ("saldo kak", "SALDO"),
        ("cek sldo", "SALDO"),
    ],
)
def test_filler_words_around_a_keyword(text: str, keyword: str) -> None:
    match = match_keyword(text, KEYWORDS)
    assert match is not None
    assert (match.keyword, match.args) == (keyword, "")


def test_filler_alone_is_not_skipped_away() -> None:
    assert match_keyword("cek", ["CEK"]) == KeywordMatch("CEK", "", True)
    assert match_keyword("ya", KEYWORDS) is None


def test_filler_words_are_lower_case_single_words() -> None:
    assert all(word == normalize(word) and " " not in word for word in FILLER)


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("menu utama", "MENU UTAMA"),
        ("MENU UTAMA", "MENU UTAMA"),
        ("rapat baru", "RAPAT BARU"),
        ("Rapat  Baru!", "RAPAT BARU"),
        ("bantuan kekerasan", "BANTUAN KEKERASAN"),
        ("minta bantuan kekerasan", "BANTUAN KEKERASAN"),
    ],
)
def test_multi_word_keywords_win_over_their_first_word(text: str, keyword: str) -> None:
    match = match_keyword(text, KEYWORDS)
    assert match is not None
    assert (match.keyword, match.args) == (keyword, "")


@pytest.mark.parametrize(
    "text, keyword, args",
    [
        ("STATUS A-12", "STATUS", "A-12"),
        ("status a-12", "STATUS", "a-12"),
        ("Status  WL-2026-0042", "STATUS", "WL-2026-0042"),
        ("cek status A-12", "STATUS", "A-12"),
        ("STATUS A-12 ya", "STATUS", "A-12"),
        ("lapor got depan rumah bocor", "LAPOR", "got depan rumah bocor"),
        ("BAHASA EN", "BAHASA", "EN"),
        ("bahasa inggris", "BAHASA", "inggris"),
        ("bantuan kekerasan", "BANTUAN", "kekerasan"),  # without the two-word keyword
    ],
)
def test_args_keep_what_followed(text: str, keyword: str, args: str) -> None:
    keywords = [k for k in [*KEYWORDS, "BAHASA"] if k != "BANTUAN KEKERASAN"]
    match = match_keyword(text, keywords)
    assert match is not None
    assert (match.keyword, match.args) == (keyword, args)


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("rapat bru", "RAPAT BARU"),
        ("rapt baru", "RAPAT BARU"),
        ("bantuan kekersan", "BANTUAN KEKERASAN"),
    ],
)
def test_multi_word_keywords_forgive_typos_in_each_word(text: str, keyword: str) -> None:
    assert found(text, keywords=["RAPAT BARU", "BANTUAN KEKERASAN"]) == keyword


def test_args_after_punctuation_are_normalised_upper_case() -> None:
    # When punctuation changes the word count, the original spelling cannot be mapped back.
    match = match_keyword("status:a-12", KEYWORDS)
    assert match is not None
    assert (match.keyword, match.args) == ("STATUS", "A-12")


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("batal", "BATAL"),
        ("BATAL!", "BATAL"),
        ("btal", "BATAL"),
        ("menu utama", "MENU UTAMA"),
        ("bantuan", "BANTUAN"),
    ],
)
def test_strict_mode_takes_a_message_that_is_just_the_keyword(text: str, keyword: str) -> None:
    assert found(text, strict=True) == keyword


@pytest.mark.parametrize(
    "text",
    [
        "saya butuh bantuan untuk membayar",
        "got di depan rumah sudah batal diperbaiki",
        "menu makan siang kemarin enak sekali",
        "bantuan dari kelurahan belum datang",
        "saldo saya berapa ya kak",
        "tolong batal",  # two words where the keyword is one: a dialog keeps it
        "status A-12",
    ],
)
def test_strict_mode_does_not_fire_on_sentences_containing_a_keyword(text: str) -> None:
    assert match_keyword(text, KEYWORDS, strict=True) is None


def test_loose_mode_does_fire_on_the_same_sentences_start() -> None:
    assert found("bantuan dari kelurahan belum datang") == "BANTUAN"
    assert found("status A-12") == "STATUS"


def test_keywords_may_be_given_in_any_case() -> None:
    assert found("saldo", keywords=["saldo"]) == "SALDO"
    assert found("menu utama", keywords=["menu", "Menu Utama"]) == "MENU UTAMA"


def test_exact_beats_a_closer_typo_of_another_keyword() -> None:
    # "tidak" is TIDAK exactly, though "TIDAK" and "DAFTAR" differ.
    assert found("tidak") == "TIDAK"
    assert match_keyword("stop", KEYWORDS) == KeywordMatch("STOP", "", True)


# --- numbers ---


@pytest.mark.parametrize(
    "text, index",
    [
        ("1", 0),
        ("2", 1),
        (" 2 ", 1),
        ("2.", 1),
        ("2)", 1),
        ("#2", 1),
        ("2️⃣", 1),
        ("1️⃣", 0),
        ("nomor 2", 1),
        ("Nomor 2", 1),
        ("no 2", 1),
        ("no. 2", 1),
        ("pilih 3", 2),
        ("pilihan 3", 2),
        ("number 3", 2),
        ("03", 2),
        ("10", 9),
    ],
)
def test_pick_number(text: str, index: int) -> None:
    assert pick_number(text, 10) == index
    assert is_number(text)


@pytest.mark.parametrize("text", ["0", "4", "11", "999", "-1"])
def test_pick_number_out_of_range(text: str) -> None:
    assert pick_number(text, 3) is None


@pytest.mark.parametrize("text", ["0", "4", "99", "nomor 7"])
def test_out_of_range_is_still_a_number(text: str) -> None:
    assert is_number(text)


@pytest.mark.parametrize(
    "text", ["", "satu", "1 2", "12345", "2 kali", "menu", "1.5", "2b", "081234567890"]
)
def test_not_a_number(text: str) -> None:
    assert pick_number(text, 10) is None
    assert not is_number(text)


def test_pick_number_without_choices() -> None:
    assert pick_number("1", 0) is None
    assert pick_number("1", -1) is None


# --- labels ---

LANGUAGES = {"lang:id": "Bahasa Indonesia", "lang:en": "English"}
MENU = {"BAHASA": "Ganti bahasa / Language", "BANTUAN": "Bantuan"}
RSVP = {"rsvp:yes": "Ya, saya hadir", "rsvp:no": "Tidak bisa hadir", "rsvp:maybe": "Mungkin"}


@pytest.mark.parametrize(
    "text, labels, payload",
    [
        ("English", LANGUAGES, "lang:en"),
        ("english", LANGUAGES, "lang:en"),
        ("ENGLISH!", LANGUAGES, "lang:en"),
        ("englsh", LANGUAGES, "lang:en"),
        ("bahasa indonesia", LANGUAGES, "lang:id"),
        ("indonesia", LANGUAGES, "lang:id"),
        ("Bantuan", MENU, "BANTUAN"),
        ("ganti bahasa", MENU, "BAHASA"),
        ("ganti bahasa / language", MENU, "BAHASA"),
        ("mungkin", RSVP, "rsvp:maybe"),
        ("ya saya hadir", RSVP, "rsvp:yes"),
        ("tidak bisa hadir", RSVP, "rsvp:no"),
    ],
)
def test_pick_label(text: str, labels: dict[str, str], payload: str) -> None:
    assert pick_label(text, labels) == payload


@pytest.mark.parametrize(
    "text, labels",
    [
        ("", LANGUAGES),
        ("e", LANGUAGES),
        ("jawa", LANGUAGES),
        ("perancis", LANGUAGES),
        ("asdfgh", MENU),
        # A longer message that merely contains a label is not that choice.
        ("bantuan kekerasan", MENU),
        ("saya mau bantuan soal bahasa", MENU),
        ("aku butuh bantuan", MENU),
        ("english please, my indonesian is weak", LANGUAGES),
        # Part of several labels equally: ambiguous, so none (SETUJUI lists them again).
        ("setujui", {"SETUJUI 2": "Setujui Ani Lestari", "SETUJUI 3": "Setujui Suryati"}),
    ],
)
def test_pick_label_refuses(text: str, labels: dict[str, str]) -> None:
    assert pick_label(text, labels) is None


def test_pick_label_without_labels() -> None:
    assert pick_label("english", {}) is None
