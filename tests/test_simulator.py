"""The terminal chat's answers, wrapped to the terminal's width between words."""

from __future__ import annotations

import pytest

from bot.simulator import PROMPT, wrap_reply

REPLY = (
    "Anda belum terdaftar. Ketik MULAI untuk mendaftar jadi anggota WLCC.\n"
    "\n"
    "1. Daftar jadi anggota\n"
    "2. Lihat https://example.org/sebuah/tautan/yang/sangat/panjang/sekali"
)


@pytest.mark.parametrize("width", [30, 41, 80])
def test_lines_fit_and_no_word_is_broken(width: int) -> None:
    lines = wrap_reply(REPLY, width)
    link = "https://example.org/sebuah/tautan/yang/sangat/panjang/sekali"
    assert all(len(line) <= width for line in lines if link not in line)
    assert lines[0].startswith(PROMPT)
    assert all(line.startswith(" " * len(PROMPT)) for line in lines[1:] if line)
    # Every word whole, in order, and the answer's own blank line kept.
    assert " ".join(" ".join(lines).split()) == " ".join(f"{PROMPT}{REPLY}".split())
    assert "" in lines


def test_the_words_that_were_cut_at_a_line_end() -> None:
    assert wrap_reply("Ketik MULAI untuk mendaftar", 26) == [
        "WLCC> Ketik MULAI untuk",
        "      mendaftar",
    ]
