"""DATA shows a person what the bot stores about them; HAPUS DATA asks to delete it."""

from __future__ import annotations

from conversations.engine import Context, Dialog, Turn, ask_staff, register
from storage.members import first_name, linked_channels
from wlcc.formatting import format_datetime
from wlcc.messages import Choice


@register
class DataDialog(Dialog):
    name = "personal_data"
    keywords = ("DATA", "DATA SAYA", "MY DATA")
    menu_key = "menu.data"
    help_key = "help.data"
    menu_order = 70

    def start(self, ctx: Context, args: str) -> None:
        t = ctx.t
        member = ctx.speaker.member
        identity = ctx.speaker.identity
        lines = [t("data.header")]
        if member is None:
            lines.append(t("data.resident"))
            lines.append(t("data.phone", value=identity.phone or "-"))
            lines.append(t("data.profile_name", value=identity.display_name or "-"))
        else:
            lines.append(t("data.name", value=member.name))
            lines.append(t("data.phone", value=member.phone or "-"))
            lines.append(t("data.kelurahan", value=member.kelurahan or "-"))
            if member.rt_rw:
                lines.append(t("data.rt_rw", value=member.rt_rw))
            lines.append(t("data.role", value=t(f"role.{member.role}")))
            lines.append(t("data.status", value=t(f"status.{member.status}")))
            if member.consent_at:
                consent = format_datetime(member.consent_at, t.lang, ctx.zone)
            elif member.consent_asked_at:
                consent = t("data.consent_refused")
            else:
                consent = t("data.consent_none")
            lines.append(t("data.consent", value=consent))
            lines.append(t("data.notices", value=t("data.off" if member.opted_out else "data.on")))
            if member.accessibility_note:
                lines.append(t("data.accessibility", value=member.accessibility_note))
            channels = sorted(
                {t(f"channel.{c.channel}") for c in linked_channels(ctx.session, member)}
            )
            lines.append(t("data.channels", value=", ".join(channels) or "-"))
        lines.append(t("data.language", value=t(f"language.name.{t.lang}")))
        lines.append(t("data.footer"))
        ctx.say("\n".join(lines))


@register
class DeleteDataDialog(Dialog):
    name = "delete_data"
    keywords = ("HAPUS DATA", "DELETE DATA", "DELETE MY DATA")
    help_key = "help.delete"
    help_always = True

    def start(self, ctx: Context, args: str) -> None:
        member = ctx.speaker.member
        if member is not None and member.deletion_requested_at is not None:
            ctx.say(ctx.t("deletion.already_requested"))
            return
        ctx.begin(self.name)
        key = "deletion.explain_member" if member is not None else "deletion.explain_resident"
        ctx.ask(
            ctx.t(key),
            [Choice("yes", ctx.t("deletion.yes")), Choice("no", ctx.t("common.no"))],
        )

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == "no":
            ctx.finish()
            ctx.say(ctx.t("deletion.kept"))
            return True
        if turn.choice != "yes":
            return False
        member = ctx.speaker.member
        ctx.finish()
        if member is None:
            # Someone who is not a member: only chat details exist, removed at once.
            identity = ctx.speaker.identity
            identity.display_name = None
            identity.language = None
            ctx.session.add(identity)
            ctx.audit("resident.delete", target=f"identity:{identity.id}")
            ctx.say(ctx.t("deletion.resident_done"))
            return True
        member.deletion_requested_at = ctx.now
        ctx.session.add(member)
        ctx.audit("member.delete.request", target=f"member:{member.id}")
        ask_staff(
            ctx,
            key=f"member:{member.id}:deletion:{ctx.now.isoformat()}",
            kind="deletion_request",
            text_key="deletion.request",
            params={"name": member.name, "id": member.id},
            choices=[
                (f"SETUJUI HAPUS {member.id}", "deletion.approve_name"),
                (f"TOLAK HAPUS {member.id}", "deletion.reject_name"),
            ],
        )
        ctx.say(ctx.t("deletion.requested", name=first_name(member)))
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(
            ctx.t("deletion.confirm_again"),
            [Choice("yes", ctx.t("deletion.yes")), Choice("no", ctx.t("common.no"))],
        )
