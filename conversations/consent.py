"""Consent to the privacy notice (Indonesia's PDP law): asked once, on a member's first message.

PRIVASI shows the notice again and lets a member give or withdraw consent.
"""

from __future__ import annotations

from conversations.engine import Context, Dialog, Turn, register
from storage.members import first_name, record_consent, set_opt_out
from storage.models import MemberStatus
from wlcc.messages import Choice

NAME = "consent"


def should_ask(ctx: Context) -> bool:
    member = ctx.speaker.member
    return (
        member is not None
        and member.status == MemberStatus.ACTIVE
        and member.consent_at is None
        and member.consent_asked_at is None
    )


@register
class ConsentDialog(Dialog):
    name = NAME
    keywords = ("PRIVASI", "PRIVACY")
    help_key = "help.privacy"
    help_always = True  # BANTUAN lists it: the bot tells members to type PRIVASI
    menu_order = 80

    def allowed(self, ctx: Context) -> bool:
        return ctx.speaker.member is not None

    def in_menu(self, ctx: Context) -> bool:
        return False

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("privacy.notice_resident"))

    def _choices(self, ctx: Context) -> list[Choice]:
        return [
            Choice("consent:yes", ctx.t("consent.yes")),
            Choice("consent:no", ctx.t("consent.no")),
        ]

    def start(self, ctx: Context, args: str) -> None:
        member = ctx.speaker.member
        assert member is not None
        first_time = should_ask(ctx)
        member.consent_asked_at = member.consent_asked_at or ctx.now
        ctx.session.add(member)
        ctx.begin(self.name)
        ctx.data["first_time"] = first_time
        if first_time:
            ctx.say(ctx.t("consent.greeting", name=first_name(member)))
        ctx.ask(ctx.t("privacy.notice") + "\n\n" + ctx.t("consent.ask"), self._choices(ctx))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        member = ctx.speaker.member
        if member is None or turn.choice not in ("consent:yes", "consent:no"):
            return False
        given = turn.choice == "consent:yes"
        first_time = bool(ctx.data.get("first_time"))
        if given:
            record_consent(ctx.session, member, True, ctx.now)
        else:
            member.consent_at = None
            record_consent(ctx.session, member, False, ctx.now)
            # Without consent her data serves only to answer her: no announcements either.
            set_opt_out(ctx.session, member, True, ctx.now)
        ctx.audit("consent.given" if given else "consent.refused", target=f"member:{member.id}")
        ctx.finish()
        ctx.say(ctx.t("consent.thanks" if given else "consent.declined"))
        if first_time:
            ctx.replay = Turn(text="MENU", sender_id=turn.sender_id)
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(ctx.t("consent.ask_again"), self._choices(ctx))
