"""A shared family phone: "who is speaking?", remembered for the session (GANTI ORANG to switch)."""

from __future__ import annotations

from conversations import consent
from conversations.engine import Context, Dialog, Turn, register
from storage.members import first_name
from wlcc.messages import Choice

NAME = "household"


def needs_choice(ctx: Context) -> bool:
    return ctx.speaker.member is None and len(ctx.speaker.household) > 1


def ask(ctx: Context, turn: Turn | None) -> None:
    """Ask who is speaking, keeping the message that came first to answer it afterwards."""
    pending = turn.text if turn is not None and turn.choice is None else ""
    ctx.begin(NAME)
    ctx.data["pending"] = pending[:500]
    choices = [Choice(f"who:{m.id}", first_name(m)) for m in ctx.speaker.household]
    ctx.ask(ctx.t("household.ask"), choices)


@register
class HouseholdDialog(Dialog):
    name = NAME
    keywords = ("GANTI ORANG", "GANTI PENGGUNA", "SWITCH PERSON")
    help_key = "help.household"
    help_always = True
    menu_order = 95

    def allowed(self, ctx: Context) -> bool:
        return len(ctx.speaker.household) > 1

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("household.single"))

    def start(self, ctx: Context, args: str) -> None:
        ctx.conversation.member_id = None
        ctx.speaker.member = None
        ctx.end_session_state()  # what the one before proved (her PIN) is not the next one's
        ask(ctx, None)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if not turn.choice or not turn.choice.startswith("who:"):
            return False
        wanted = turn.choice.removeprefix("who:")
        member = next((m for m in ctx.speaker.household if str(m.id) == wanted), None)
        if member is None:
            return False
        pending = str(ctx.data.get("pending") or "")
        ctx.end_session_state()
        ctx.conversation.member_id = member.id
        ctx.speaker.member = member
        if member.language:
            ctx.set_language(member.language)
        ctx.finish()
        if not consent.should_ask(ctx):  # else the consent question greets her by name
            ctx.say(ctx.t("household.chosen", name=first_name(member)))
        ctx.replay = Turn(text=pending, sender_id=turn.sender_id)
        return True

    def reprompt(self, ctx: Context) -> None:
        choices = [Choice(f"who:{m.id}", first_name(m)) for m in ctx.speaker.household]
        ctx.ask(ctx.t("household.ask_again"), choices)
