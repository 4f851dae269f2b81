"""BAHASA: choose Bahasa Indonesia or English for every reply."""

from __future__ import annotations

from conversations.engine import Context, Dialog, Turn, register
from storage.identities import set_language
from wlcc.messages import Choice

_LANGUAGES = {"lang:id": "id", "lang:en": "en"}
_TYPED = {
    "id": "lang:id",
    "indonesia": "lang:id",
    "en": "lang:en",
    "english": "lang:en",
    "inggris": "lang:en",
}


@register
class LanguageDialog(Dialog):
    name = "language"
    keywords = ("BAHASA", "LANGUAGE")
    menu_key = "menu.language"
    help_key = "help.language"
    menu_order = 90

    def accepts(self, args: str) -> bool:
        return not args.strip() or args.strip().lower() in _TYPED

    def _choices(self) -> list[Choice]:
        # Each language is named in itself so a person who cannot read the other one finds it.
        return [Choice("lang:id", "Bahasa Indonesia"), Choice("lang:en", "English")]

    def start(self, ctx: Context, args: str) -> None:
        direct = _TYPED.get(args.strip().lower())
        if direct:
            self._apply(ctx, direct)
            return
        ctx.begin(self.name)
        ctx.ask(ctx.t("language.ask"), self._choices())

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice in _LANGUAGES:
            self._apply(ctx, turn.choice)
            return True
        return False

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(ctx.t("language.ask_again"), self._choices())

    def _apply(self, ctx: Context, payload: str) -> None:
        language = _LANGUAGES[payload]
        set_language(ctx.session, ctx.speaker.identity, language)
        member = ctx.speaker.member
        if member is not None:  # the person's choice follows them to the other channel
            member.language = language
            ctx.session.add(member)
        ctx.set_language(language)
        ctx.finish()
        ctx.say(ctx.t("language.done"))
