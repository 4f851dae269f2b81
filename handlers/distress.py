"""Words of distress: a message about violence or danger gets the help lines at once.

Until the confidential help path exists (the complaints issue), the router answers such a
message first, in every state: before the privacy question, before "who is speaking?" on a
shared family phone, even as somebody's very first message. A false alarm costs one kind
message; a missed one may cost much more, so the words lean towards answering. But everyday
words are not alarms: "tolong" (please) alone, "bantuan" (help, the help page) alone, and
"pukul" (o'clock: "pukul berapa rapatnya?") are not.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from handlers.matching import normalize

# Single words (after normalize), Bahasa Indonesia first. Short ones must match exactly;
# long ones forgive one typo ("kekersan").
WORDS = frozenset(
    [
        "kekerasan",
        "kdrt",
        "dipukul",
        "dipukuli",
        "memukul",
        "memukuli",
        "mukul",
        "mukulin",
        "dipukulin",
        "ditampar",
        "menampar",
        "ditendang",
        "menendang",
        "dicekik",
        "mencekik",
        "dijambak",
        "dianiaya",
        "menganiaya",
        "penganiayaan",
        "aniaya",
        "disiksa",
        "menyiksa",
        "penyiksaan",
        "diperkosa",
        "memperkosa",
        "perkosa",
        "pemerkosaan",
        "dilecehkan",
        "pelecehan",
        "melecehkan",
        "diancam",
        "disekap",
        "dibunuh",
        "violence",
        "abuse",
        "abused",
        "beaten",
        "raped",
        "rape",
        "assaulted",
    ]
)
# Phrases of several words, matched as consecutive words.
PHRASES = (
    ("bunuh", "diri"),
    ("mau", "dibunuh"),
    ("takut", "pulang"),
    ("takut", "suami"),
    ("takut", "sama", "suami"),
    ("takut", "dengan", "suami"),
    ("tidak", "aman", "di", "rumah"),
    ("gak", "aman", "di", "rumah"),
    ("hits", "me"),
    ("hit", "me"),
    ("beats", "me"),
    ("kill", "me"),
    ("not", "safe", "at", "home"),
)
_FORGIVING = tuple(w for w in WORDS if len(w) >= 8)


def _word_alarms(word: str) -> bool:
    if word in WORDS:
        return True
    if len(word) < 8:
        return False
    return any(Levenshtein.distance(word, w, score_cutoff=1) <= 1 for w in _FORGIVING)


def mentions_distress(text: str) -> bool:
    """Whether the message speaks of violence or danger."""
    words = normalize(text).split()
    if not words:
        return False
    if any(_word_alarms(word) for word in words):
        return True
    for i, word in enumerate(words):
        # "di pukul suami" written apart; not "di pukul 9" or "di pukul berapa" (the time).
        if word == "di" and words[i + 1 : i + 2] == ["pukul"]:
            after = words[i + 2 : i + 3]
            if not after or not (after[0][:1].isdigit() or after[0] == "berapa"):
                return True
        for phrase in PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase:
                return True
    return False
