"""PILIH APLIKASI: where a member's announcements and reminders go when she is on both channels.

By default Telegram (it costs the community nothing) when her Telegram is linked, else WhatsApp.
The sender (bot/sender.py) reads ``Member.channel_preference`` each time it sends, and still
falls back to the other chat when the chosen one cannot be used (blocked, or WhatsApp outside
its 24 hours without a template).
"""

from __future__ import annotations

from conversations.engine import Context, Dialog, Turn, register
from storage.members import identities_of
from wlcc.messages import Choice

NAME = "channel_choice"
_CHOICES = {"ch:telegram": "telegram", "ch:whatsapp": "whatsapp", "ch:auto": None}
_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}
_TYPED = {
    "telegram": "ch:telegram",
    "tele": "ch:telegram",
    "whatsapp": "ch:whatsapp",
    "wa": "ch:whatsapp",
    "otomatis": "ch:auto",
    "auto": "ch:auto",
}


@register
class ChannelChoiceDialog(Dialog):
    name = NAME
    # Not "SALURAN": residents say "saluran air mampet" about a drain (see test_collisions).
    keywords = ("PILIH APLIKASI", "LEWAT APA", "CHOOSE APP")
    help_key = "help.channel"
    help_always = True  # not in MENU, so BANTUAN is where members learn of it (members only)

    def accepts(self, args: str) -> bool:
        return not args.strip() or args.strip().lower() in _TYPED

    def allowed(self, ctx: Context) -> bool:
        return ctx.speaker.member is not None

    def in_menu(self, ctx: Context) -> bool:
        return False

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("outbox.channel_members_only"))

    def _choices(self, ctx: Context) -> list[Choice]:
        return [
            Choice("ch:telegram", "Telegram"),
            Choice("ch:whatsapp", "WhatsApp"),
            Choice("ch:auto", ctx.t("outbox.channel_auto")),
        ]

    def start(self, ctx: Context, args: str) -> None:
        direct = _TYPED.get(args.strip().lower())
        if direct:
            self._apply(ctx, direct)
            return
        member = ctx.speaker.member
        assert member is not None
        preference = member.channel_preference
        current = _NAMES.get(preference or "") or ctx.t("outbox.channel_auto")
        ctx.begin(self.name)
        ctx.ask(ctx.t("outbox.channel_ask", current=current), self._choices(ctx))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice in _CHOICES:
            self._apply(ctx, turn.choice)
            return True
        return False

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(ctx.t("outbox.channel_ask_again"), self._choices(ctx))

    def _apply(self, ctx: Context, payload: str) -> None:
        member = ctx.speaker.member
        assert member is not None
        chosen = _CHOICES[payload]
        member.channel_preference = chosen
        ctx.session.add(member)
        ctx.finish()
        if chosen is None:
            ctx.say(ctx.t("outbox.channel_set_auto"))
            return
        linked = {identity.channel for identity in identities_of(ctx.session, member)}
        # WhatsApp reaches her phone number even before she ever wrote there.
        if chosen == "telegram" and "telegram" not in linked:
            ctx.say(ctx.t("outbox.channel_not_linked"))
            return
        ctx.say(ctx.t("outbox.channel_set", channel=_NAMES[chosen]))
