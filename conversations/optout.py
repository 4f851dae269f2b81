"""BERHENTI / STOP and MULAI: proactive messages off and on again, from any state.

Answers to a person's own questions keep working after BERHENTI.
"""

from __future__ import annotations

from conversations.engine import Context, Dialog, register
from storage.members import set_opt_out


def _apply(ctx: Context, opted_out: bool) -> None:
    member = ctx.speaker.member
    # Nobody chosen on a family phone: the phone asked, so it applies to everyone on it.
    members = [member] if member is not None else list(ctx.speaker.household)
    for person in members:
        set_opt_out(ctx.session, person, opted_out, ctx.now)
    identity = ctx.speaker.identity
    if member is None:
        identity.opted_out = opted_out
        ctx.session.add(identity)
    ctx.audit(
        "optout.stop" if opted_out else "optout.start",
        target=",".join(f"member:{m.id}" for m in members) or f"identity:{identity.id}",
    )


@register
class StopDialog(Dialog):
    name = "optout_stop"
    keywords = ("BERHENTI", "STOP", "UNSUBSCRIBE")
    help_key = "help.stop"
    help_always = True
    global_word = True

    def start(self, ctx: Context, args: str) -> None:
        _apply(ctx, True)
        ctx.say(ctx.t("optout.stopped"))


@register
class StartDialog(Dialog):
    name = "optout_start"
    keywords = ("MULAI", "RESUME")
    help_key = "help.start"
    help_always = True
    global_word = True

    def start(self, ctx: Context, args: str) -> None:
        _apply(ctx, False)
        ctx.say(ctx.t("optout.started"))
