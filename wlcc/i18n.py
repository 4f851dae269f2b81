"""The message catalog: every word a user reads comes from here.

Catalogs are gettext ``.po`` files under ``wlcc/locale/<lang>/LC_MESSAGES/`` (``messages.po``
and one file per feature), read with Babel. Message ids are stable keys (``menu.header``).
Bahasa Indonesia is the reference language and English falls back to it for any key it lacks.
Placeholders use ``str.format`` names.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("id", "en")
DEFAULT_LANGUAGE = "id"


class MissingMessage(KeyError):
    """A key is used in code but no catalog defines it."""


def po_files(lang: str) -> list[Path]:
    """Every catalog file of a language: ``messages.po`` plus one per feature if split."""
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> Mapping[str, str]:
    """The translations of one language as a read-only mapping key -> text."""
    result: dict[str, str] = {}
    for path in po_files(lang):
        with path.open("rb") as fh:
            po = read_po(fh, locale=lang)
        for message in po:
            if not message.id or not isinstance(message.id, str):
                continue
            if message.id in result:
                raise RuntimeError(f"catalog key {message.id!r} defined twice ({path.name})")
            text = message.string
            if isinstance(text, str) and text and not message.fuzzy:
                result[message.id] = text
    return result


def normalize_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def gettext(lang: str | None, key: str, /, **params: object) -> str:
    """Translate ``key`` into ``lang`` (falling back to Bahasa Indonesia) and fill placeholders."""
    lang = normalize_language(lang)
    text = catalog(lang).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise MissingMessage(key)
    return text.format(**params) if params else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """``gettext`` bound to one language; passed around as ``t``."""

    __slots__ = ("lang",)

    def __init__(self, lang: str | None) -> None:
        self.lang = normalize_language(lang)

    def __call__(self, key: str, /, **params: object) -> str:
        return gettext(self.lang, key, **params)


def choices_hint(t: Translator, count: int) -> str:
    """How to answer a numbered list: "1 atau 2" for two, "1 sampai 4" for more."""
    if count == 1:
        return t("choices.hint_one")
    return t("choices.hint_two") if count == 2 else t("choices.hint", count=count)


def choices_range(t: Translator, count: int) -> str:
    if count == 1:
        return "1"
    return t("choices.range_two") if count == 2 else t("choices.range", count=count)
