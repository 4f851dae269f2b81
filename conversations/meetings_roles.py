"""A member's answer to a role she is asked to take at a meeting (MC, facilitator, speaker),
and her pause from roles.

The ask (storage/meetings_roles.py) carries the choices "PERAN TERIMA <id>" and
"PERAN TOLAK <id>": a button, the number of the choice, or its label typed ("Terima").
Typed on their own, TERIMA (ACCEPT) and TOLAK (DECLINE) answer her one waiting ask; with
several, she picks one from a numbered list. TOLAK with a number stays the coordinators'
rejection of a registration (conversations/approval.py): this dialog *borrows* the bare word
(conversations/engine.py, ``Dialog.borrows``) when she has an ask waiting, or when she may not
reject registrations anyway.

CUTI PERAN (ISTIRAHAT PERAN, PAUSE ROLES): for 1 month, 3 months, or until she types SIAP PERAN
(RESUME ROLES); she is skipped meanwhile, and her turns are kept.
"""

from __future__ import annotations

from datetime import datetime

from conversations.engine import Context, Dialog, Turn, register
from storage.meetings import Meeting, MeetingRole
from storage.meetings_roles import (
    ACCEPT_PAYLOAD,
    DECLINE_PAYLOAD,
    AnswerStatus,
    active_pause,
    answer_role,
    lapsed_ask,
    months_later,
    pause_roles,
    pending_asks,
    resume_roles,
    role_label,
)
from storage.members import first_name
from storage.models import Member, MemberStatus
from wlcc.formatting import format_date, format_datetime, to_local
from wlcc.messages import Choice

PAUSE_CHOICES = (("pause:1", "meetings_roles.pause_1"), ("pause:3", "meetings_roles.pause_3"))
PAUSE_OPEN = "pause:open"


def _member(ctx: Context) -> Member | None:
    member = ctx.speaker.member
    if member is None or member.status != MemberStatus.ACTIVE:
        return None
    return member


def _ask_number(args: str) -> int | None:
    text = args.strip().lstrip("#")
    return int(text) if text.isdigit() else None


def _number_or_nothing(args: str) -> bool:
    text = args.strip().lstrip("#")
    return not text or text.isdigit()


class _Answer(Dialog):
    """TERIMA or TOLAK: one reply, no state kept."""

    accept: bool
    payload: str

    def accepts(self, args: str) -> bool:
        return _number_or_nothing(args)

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            ctx.say(ctx.t("meetings_roles.none_pending"))
            return
        number = _ask_number(args)
        if number is not None:
            self._answer(ctx, member, number)
            return
        waiting = pending_asks(ctx.session, member, ctx.now)
        lapsed = None if waiting else lapsed_ask(ctx.session, member, ctx.now)
        if lapsed is not None:
            self._answer(ctx, member, lapsed)  # told it is too late
        elif not waiting:
            ctx.say(ctx.t("meetings_roles.none_pending"))
        elif len(waiting) == 1:
            row, _ = waiting[0]
            self._answer(ctx, member, row)
        else:
            self._which(ctx, waiting)

    def _which(self, ctx: Context, waiting: list[tuple[MeetingRole, Meeting]]) -> None:
        choices = [
            Choice(
                f"{self.payload} {row.id}",
                ctx.t(
                    "meetings_roles.pick",
                    role=role_label(ctx.t, row.role),
                    title=meeting.title,
                    day=format_date(to_local(meeting.starts_at, ctx.zone).date(), ctx.t.lang),
                ),
            )
            for row, meeting in waiting
        ]
        key = "meetings_roles.which_accept" if self.accept else "meetings_roles.which_decline"
        ctx.say(ctx.t(key, count=len(waiting)), choices)

    def _answer(self, ctx: Context, member: Member, row: MeetingRole | int) -> None:
        result = answer_role(ctx.session, row, member, accept=self.accept, now=ctx.now)
        if result.row is None or result.meeting is None:
            ctx.say(ctx.t("meetings_roles.not_found"))
            return
        ctx.audit(
            "meeting.role.accept" if self.accept else "meeting.role.decline",
            target=f"meeting_role:{result.row.id}",
            status=result.status,
        )
        meeting = result.meeting
        role = role_label(ctx.t, result.row.role)
        name = first_name(member)
        if result.status == AnswerStatus.ACCEPTED:
            when = format_datetime(meeting.starts_at, ctx.t.lang, ctx.zone)
            ctx.say(
                ctx.t(
                    "meetings_roles.accepted", name=name, role=role, title=meeting.title, when=when
                )
            )
        elif result.status == AnswerStatus.DECLINED:
            ctx.say(ctx.t("meetings_roles.declined", name=name, role=role, title=meeting.title))
        elif result.status == AnswerStatus.ALREADY_ACCEPTED:
            ctx.say(ctx.t("meetings_roles.already_accepted", role=role, title=meeting.title))
        elif result.status == AnswerStatus.ALREADY_DECLINED:
            ctx.say(ctx.t("meetings_roles.already_declined", role=role, title=meeting.title))
        elif result.status == AnswerStatus.EXPIRED:
            ctx.say(ctx.t("meetings_roles.expired", role=role, title=meeting.title))
        else:
            ctx.say(ctx.t("meetings_roles.closed", title=meeting.title))


@register
class AcceptRoleDialog(_Answer):
    name = "meeting_role_accept"
    keywords = ("TERIMA", ACCEPT_PAYLOAD, "ACCEPT")
    accept = True
    payload = ACCEPT_PAYLOAD


@register
class DeclineRoleDialog(_Answer):
    name = "meeting_role_decline"
    keywords = (DECLINE_PAYLOAD, "DECLINE")
    # A bare TOLAK (REJECT): hers when an ask waits for her answer, or when she is no one who
    # rejects registrations (who then always name the registration: TOLAK 12).
    borrows = ("TOLAK", "REJECT")
    accept = False
    payload = DECLINE_PAYLOAD

    def claims(self, ctx: Context, args: str) -> bool:
        if args.strip():
            return False
        member = _member(ctx)
        if member is not None and pending_asks(ctx.session, member, ctx.now):
            return True
        return not ctx.can("member.approve")


class _MembersOnly(Dialog):
    def allowed(self, ctx: Context) -> bool:
        return _member(ctx) is not None

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("meetings_roles.members_only"))


@register
class PauseRolesDialog(_MembersOnly):
    name = "meeting_roles_pause"
    keywords = ("CUTI PERAN", "ISTIRAHAT PERAN", "PAUSE ROLES")
    help_key = "meetings_roles.help_pause"
    menu_order = 200  # last in BANTUAN, before MENU and BATAL

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "duration")
        self._question(ctx)

    def _question(self, ctx: Context) -> None:
        member = _member(ctx)
        if member is None or member.id is None:
            ctx.finish()
            self.refuse(ctx)
            return
        pause = active_pause(ctx.session, member.id, ctx.now)
        if pause is None:
            text = ctx.t("meetings_roles.pause_ask")
        elif pause.until is None:
            text = ctx.t("meetings_roles.pause_ask_open")
        else:
            text = ctx.t("meetings_roles.pause_ask_until", until=self._day(ctx, pause.until))
        choices = [Choice(payload, ctx.t(key)) for payload, key in PAUSE_CHOICES]
        choices.append(Choice(PAUSE_OPEN, ctx.t("meetings_roles.pause_open")))
        ctx.ask(text, choices)

    def _day(self, ctx: Context, moment: datetime) -> str:
        return format_date(to_local(moment, ctx.zone).date(), ctx.t.lang)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        member = _member(ctx)
        if member is None:
            return False
        if turn.choice == PAUSE_OPEN:
            until = None
        elif turn.choice in {payload for payload, _ in PAUSE_CHOICES}:
            until = months_later(ctx.now, int(turn.choice.removeprefix("pause:")), ctx.zone)
        else:
            return False
        released = pause_roles(ctx.session, member, until=until, now=ctx.now)
        ctx.audit("meeting.role.pause", target=f"member:{member.id}", months=turn.choice)
        ctx.finish()
        name = first_name(member)
        if until is None:
            lines = [ctx.t("meetings_roles.paused_open", name=name)]
        else:
            lines = [ctx.t("meetings_roles.paused_until", name=name, until=self._day(ctx, until))]
        for item in released:
            lines.append(
                ctx.t(
                    "meetings_roles.released",
                    role=role_label(ctx.t, item.row.role),
                    title=item.meeting.title,
                )
            )
        ctx.say("\n".join(lines))
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.say(ctx.t("dialog.not_understood"))
        self._question(ctx)


@register
class ResumeRolesDialog(_MembersOnly):
    name = "meeting_roles_resume"
    keywords = ("SIAP PERAN", "RESUME ROLES")

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        assert member is not None
        if resume_roles(ctx.session, member, ctx.now):
            ctx.audit("meeting.role.resume", target=f"member:{member.id}")
            ctx.say(ctx.t("meetings_roles.resumed", name=first_name(member)))
        else:
            ctx.say(ctx.t("meetings_roles.not_paused"))
