"""DAFTAR: an unknown number registers (name, kelurahan, consent) and waits for approval."""

from __future__ import annotations

from conversations import link_phone
from conversations.engine import Context, Dialog, Turn, ask_staff, register
from storage.members import (
    InvalidValue,
    clean_kelurahan,
    clean_name,
    find_by_phone_and_name,
    first_name,
    first_name_of,
)
from storage.members import register as register_member
from storage.models import Member, MemberStatus
from wlcc.logging import mask_phone
from wlcc.messages import Choice
from wlcc.phones import to_e164

NAME = "registration"
KELURAHAN = ("19 Ilir", "23 Ilir", "24 Ilir")


def notify_coordinators(ctx: Context, member: Member) -> int:
    """Ask every coordinator to approve or reject, with one reply; returns how many were asked."""
    return ask_staff(
        ctx,
        key=f"member:{member.id}:approval",
        kind="approval_request",
        text_key="approval.request",
        params={
            "name": member.name,
            "kelurahan": member.kelurahan or "-",
            "phone": member.phone or "-",
            "id": member.id,
        },
        choices=[
            (f"SETUJUI {member.id}", "approval.approve_name"),
            (f"TOLAK {member.id}", "approval.reject_name"),
        ],
    )


@register
class RegistrationDialog(Dialog):
    name = NAME
    keywords = ("DAFTAR", "REGISTER")
    menu_key = "menu.register"
    help_key = "help.register"
    menu_order = 10

    def in_menu(self, ctx: Context) -> bool:
        return ctx.speaker.member is None and not ctx.speaker.household

    def start(self, ctx: Context, args: str) -> None:
        member = ctx.speaker.member
        if member is not None and member.status == MemberStatus.PENDING:
            ctx.say(ctx.t("register.pending", name=first_name(member)))
            return
        ctx.begin(self.name)
        if member is not None:
            self._ask_other(ctx, "register.other_person")
        elif ctx.speaker.identity.phone is None:
            ctx.goto("phone")
            link_phone.ask_for_contact(ctx, "register.need_phone")
        else:
            self._ask_name(ctx)

    def after_link(self, ctx: Context) -> None:
        if ctx.step == "phone":
            if ctx.speaker.member is not None or ctx.speaker.household:
                ctx.finish()
                ctx.say(ctx.t("register.already"))
            else:
                self._ask_name(ctx)

    def _ask_name(self, ctx: Context) -> None:
        ctx.goto("name")
        # For a family member on a registered phone, the questions are about her, by name.
        ctx.ask(ctx.t("register.ask_other_name" if ctx.data.get("other") else "register.ask_name"))

    def _about(self, ctx: Context, key: str, other_key: str) -> str:
        """The question about the registrant: "Ibu", or the family member by name."""
        if ctx.data.get("other"):
            return ctx.t(other_key, name=first_name_of(str(ctx.data.get("name") or "")))
        return ctx.t(key)

    def _ask_kelurahan(self, ctx: Context, key: str = "register.ask_kelurahan") -> None:
        ctx.goto("kelurahan")
        choices = [Choice(f"kel:{k}", k) for k in KELURAHAN]
        choices.append(Choice("kel:other", ctx.t("register.kelurahan_other")))
        if key == "register.ask_kelurahan":
            ctx.ask(self._about(ctx, key, "register.ask_kelurahan_other"), choices)
        else:
            ctx.ask(ctx.t(key), choices)

    def _ask_consent(self, ctx: Context, again: bool = False) -> None:
        ctx.goto("consent")
        if again:
            text = ctx.t("consent.ask_again")
        elif ctx.data.get("other"):
            name = first_name_of(str(ctx.data.get("name") or ""))
            text = ctx.t("privacy.notice_other", name=name) + "\n\n"
            text += ctx.t("consent.ask_other", name=name)
        else:
            text = ctx.t("privacy.notice") + "\n\n" + ctx.t("consent.ask")
        ctx.ask(
            text,
            [
                Choice("consent:yes", ctx.t("consent.yes")),
                Choice("consent:no", ctx.t("consent.no")),
            ],
        )

    def _ask_other(self, ctx: Context, key: str) -> None:
        member = ctx.speaker.member
        assert member is not None
        ctx.goto("other")
        ctx.ask(
            ctx.t(key, name=first_name(member)),
            [Choice("yes", ctx.t("common.yes")), Choice("no", ctx.t("common.no"))],
        )

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step
        if step == "phone":
            if turn.text and to_e164(turn.text) is not None:
                link_phone.ask_for_contact(ctx, "link.typed")
                return True
            return False
        if step == "other":
            if turn.choice == "yes":
                ctx.data["other"] = True
                self._ask_name(ctx)
                return True
            if turn.choice == "no":
                ctx.finish()
                ctx.say(ctx.t("register.not_now"))
                return True
            return False
        if step == "name":
            return self._take_name(ctx, turn)
        if step == "kelurahan":
            if turn.choice == "kel:other":
                ctx.goto("kelurahan_text")
                ctx.ask(
                    self._about(ctx, "register.type_kelurahan", "register.type_kelurahan_other")
                )
                return True
            if turn.choice and turn.choice.startswith("kel:"):
                ctx.data["kelurahan"] = turn.choice.removeprefix("kel:")
                self._ask_consent(ctx)
                return True
            return False
        if step == "kelurahan_text":
            try:
                kelurahan = clean_kelurahan(turn.text)
            except InvalidValue as exc:
                ctx.ask(ctx.t(f"register.error.{exc.code}"))
                return True
            if kelurahan is None:
                return False
            ctx.data["kelurahan"] = kelurahan
            self._ask_consent(ctx)
            return True
        if step == "consent":
            if turn.choice == "consent:yes":
                self._finish(ctx)
                return True
            if turn.choice == "consent:no":
                text = self._about(ctx, "register.no_consent", "register.no_consent_other")
                ctx.finish()
                ctx.say(text)
                return True
            return False
        return False

    def _take_name(self, ctx: Context, turn: Turn) -> bool:
        if not turn.text:
            return False
        try:
            name = clean_name(turn.text)
        except InvalidValue as exc:
            ctx.ask(ctx.t(f"register.error.{exc.code}"))
            return True
        phone = ctx.speaker.identity.phone
        assert phone is not None
        if find_by_phone_and_name(ctx.session, ctx.speaker.community_id, phone, name):
            ctx.finish()
            ctx.say(ctx.t("register.duplicate", name=name))
            return True
        ctx.data["name"] = name
        self._ask_kelurahan(ctx)
        return True

    def _finish(self, ctx: Context) -> None:
        phone = ctx.speaker.identity.phone
        assert phone is not None
        member = register_member(
            ctx.session,
            community_id=ctx.speaker.community_id,
            name=str(ctx.data["name"]),
            phone=phone,
            kelurahan=str(ctx.data.get("kelurahan") or "") or None,
            language=ctx.t.lang,
            now=ctx.now,
        )
        ctx.audit("member.register", target=f"member:{member.id}", phone=mask_phone(phone))
        asked = notify_coordinators(ctx, member)
        other = bool(ctx.data.get("other"))
        ctx.finish()
        ctx.say(ctx.t("register.done_other" if other else "register.done", name=first_name(member)))
        if asked == 0:
            ctx.audit("member.register.no_coordinator", allowed=False, target=f"member:{member.id}")

    def reprompt(self, ctx: Context) -> None:
        step = ctx.step
        if step == "kelurahan":
            self._ask_kelurahan(ctx, "register.kelurahan_again")
        elif step == "consent":
            self._ask_consent(ctx, again=True)
        elif step == "other":
            self._ask_other(ctx, "register.other_again")
        elif step == "phone":
            link_phone.ask_for_contact(ctx, "link.ask_again")
        elif step == "name":  # a photo, a sticker or an empty message instead of a name
            ctx.ask(ctx.t("register.error.name.empty"))
        elif step == "kelurahan_text":
            ctx.ask(self._about(ctx, "register.type_kelurahan", "register.type_kelurahan_other"))
        else:
            super().reprompt(ctx)
