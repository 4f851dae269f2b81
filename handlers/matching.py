"""Forgiving keyword and choice matching for people who type on small phones.

"sldo", "Saldo!", "cek saldo" and "SALDO" all mean SALDO; "2", "2.", "2️⃣" pick the second
choice; typing (most of) a choice's label picks it too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

# Words people put around a keyword ("cek saldo", "mau lapor dong", "show my menu").
FILLER = frozenset(
    [
        "cek",
        "check",
        "lihat",
        "liat",
        "mau",
        "ingin",
        "minta",
        "saya",
        "aku",
        "sy",
        "dong",
        "donk",
        "ya",
        "yah",
        "kak",
        "bu",
        "ibu",
        "pak",
        "info",
        "please",
        "pls",
        "show",
        "my",
        "the",
        "see",
        "i",
        "want",
        "to",
        "tolong",
    ]
)

_NON_WORD = re.compile(r"[^\w\s-]+")
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"^(?:no|nomor|pilih|pilihan|number)?\s*(\d{1,3})$")


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces folded (cached: menu labels and
    keywords are normalised again at every message)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NON_WORD.sub(" ", text.lower())
    return _SPACE.sub(" ", text.replace("_", " ")).strip()


def max_edits(word: str) -> int:
    """How many typos a word of this length may carry and still be recognised."""
    if len(word) <= 3:
        return 0
    if len(word) <= 6:
        return 1
    return 2


def _close(word: str, candidate: str) -> int | None:
    """Damerau-Levenshtein distance when within the allowance, else None."""
    limit = max_edits(candidate)
    distance = DamerauLevenshtein.distance(word, candidate, score_cutoff=limit)
    return distance if distance <= limit else None


@lru_cache(maxsize=64)
def _phrases(keywords: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Keywords with their normalised words, longest first."""
    return sorted(((k.upper(), normalize(k).split()) for k in keywords), key=lambda kw: -len(kw[1]))


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    keyword: str  # canonical, upper case
    args: str  # what followed the keyword in the original text
    exact: bool


def match_keyword(
    text: str, keywords: Sequence[str], *, strict: bool = False
) -> KeywordMatch | None:
    """Find a keyword in ``text``.

    Loose (no dialog is waiting): the keyword may follow filler words and be followed by
    arguments ("STATUS A-12"). Strict (a dialog is waiting for free text): the message must be
    just the keyword, so a sentence that merely contains "bantuan" is not taken as BANTUAN.
    """
    words = normalize(text).split()
    if not words:
        return None
    original = text.strip().split()
    phrases = _phrases(tuple(keywords))
    start = 0
    while start < len(words) and words[start] in FILLER and start < len(words) - 1:
        start += 1
    if strict:
        start = 0 if len(words) <= 3 else len(words)
    window = words[start : start + 4]
    best: tuple[int, int, str, int] | None = None  # (distance, -length, keyword, consumed)
    for keyword, parts in phrases:
        n = len(parts)
        if n > len(window):
            continue
        candidate = window[:n]
        if strict and len(words) - start != n:
            continue
        total = 0
        for got, want in zip(candidate, parts, strict=True):
            d = 0 if got == want else _close(got, want)
            if d is None:
                break
            total += d
        else:
            rank = (total, -n, keyword, n)
            if best is None or rank < best:
                best = rank
    if best is None:
        return None
    distance, _, keyword, consumed = best
    # Map the position back onto the original text to keep the argument's case ("STATUS A-12").
    skip = start + consumed
    # Filler after the keyword is not an argument either ("menu dong", "mau lapor dong").
    end = len(words)
    while end > skip and words[end - 1] in FILLER:
        end -= 1
    args = " ".join(original[skip:end]) if len(original) == len(words) else ""
    if len(original) != len(words):
        args = " ".join(words[skip:end]).upper()
    return KeywordMatch(keyword=keyword, args=args, exact=distance == 0)


def pick_number(text: str, count: int) -> int | None:
    """The 0-based index chosen by typing a number, or None."""
    if count <= 0:
        return None
    number = typed_number(text)
    if number is None:
        return None
    index = int(number) - 1
    return index if 0 <= index < count else None


def typed_number(text: str) -> str | None:
    """The number typed as an answer ("3", "no 3", "pilih 3"), as its digits; None if the text
    is not one."""
    match = _NUMBER.match(normalize(text))
    return match.group(1) if match else None


def is_number(text: str) -> bool:
    return typed_number(text) is not None


def pick_label(text: str, labels: Mapping[str, str]) -> str | None:
    """The payload whose label the text names (forgiving typos), or None."""
    wanted = normalize(text)
    if len(wanted) < 2 or not labels:
        return None
    names = {payload: normalize(label) for payload, label in labels.items()}
    for payload, name in names.items():
        if wanted == name:
            return payload
    # A longer message that merely contains a label does not pick it: "bantuan kekerasan" is
    # not the "Bantuan" choice (a couple of letters more is a typo).
    names = {p: n for p, n in names.items() if len(wanted) <= len(n) + 2}
    if not names:
        return None
    found = process.extract(wanted, names, scorer=fuzz.WRatio, score_cutoff=88, limit=2)
    if not found:
        return None
    # Two labels that fit as well ("setujui" for "Setujui Ani" and "Setujui Yati") pick neither.
    if len(found) > 1 and found[1][1] >= found[0][1]:
        return None
    _, _, payload = found[0]
    return str(payload)
