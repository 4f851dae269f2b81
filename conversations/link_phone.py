"""Telegram: a person proves their phone number by sharing their OWN contact with the button.

A typed number, or a contact card of someone else (forwarded), proves nothing and is refused.
"""

from __future__ import annotations

from conversations import household
from conversations.engine import Context, Dialog, Turn, discover, register
from storage.members import first_name, members_on_phone
from wlcc.phones import to_e164

NAME = "link_phone"


def accepts_contacts(ctx: Context) -> bool:
    """Only Telegram needs a contact to prove a phone; WhatsApp proves it by itself."""
    return ctx.speaker.channel == "telegram"


def ask_for_contact(ctx: Context, key: str = "link.ask") -> None:
    ctx.say(ctx.t(key), request_contact=ctx.t("link.button"))


def accept_contact(ctx: Context, turn: Turn) -> None:
    contact = turn.contact
    assert contact is not None
    if contact.user_id is None or str(contact.user_id) != turn.sender_id:
        ctx.audit("identity.link", allowed=False, reason="contact of someone else")
        ask_for_contact(ctx, "link.foreign")
        return
    phone = to_e164(contact.phone)
    if phone is None:
        ask_for_contact(ctx, "link.invalid")
        return
    identity = ctx.speaker.identity
    identity.phone = phone
    ctx.session.add(identity)
    ctx.audit("identity.link", allowed=True)
    members = tuple(members_on_phone(ctx.session, identity.community_id, phone))
    ctx.speaker.household = members
    ctx.speaker.member = members[0] if len(members) == 1 else None
    member = ctx.speaker.member
    if member is not None and member.language:
        ctx.set_language(member.language)
    waiting = discover().get(ctx.dialog or "")
    if ctx.dialog == NAME:
        ctx.finish()
    continues = waiting is not None and waiting.name != NAME  # e.g. DAFTAR goes on
    if member is not None:
        ctx.say(ctx.t("link.done_member", name=first_name(member)), remove_keyboard=True)
    elif members or continues:  # no "type DAFTAR" while she is registering already
        ctx.say(ctx.t("link.done_household"), remove_keyboard=True)
    else:
        ctx.say(ctx.t("link.done_unknown"), remove_keyboard=True)
    if waiting is not None and continues:
        waiting.after_link(ctx)
    elif household.needs_choice(ctx):
        household.ask(ctx, None)


@register
class LinkPhoneDialog(Dialog):
    name = NAME
    keywords = ("HUBUNGKAN", "NOMOR HP", "LINK PHONE")
    menu_key = "menu.link_phone"
    help_key = "help.link_phone"
    menu_order = 5

    def allowed(self, ctx: Context) -> bool:
        return accepts_contacts(ctx) and ctx.speaker.identity.phone is None

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("link.not_needed"))

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name)
        ask_for_contact(ctx)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if turn.text and to_e164(turn.text) is not None:
            ask_for_contact(ctx, "link.typed")
            return True
        return False

    def reprompt(self, ctx: Context) -> None:
        ask_for_contact(ctx, "link.ask_again")
