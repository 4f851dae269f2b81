"""Coordinators approve or reject registrations and confirm data deletion requests.

Each is one reply: the buttons (or typed words) "SETUJUI 12", "TOLAK 12", "SETUJUI HAPUS 12",
"TOLAK HAPUS 12" sent to coordinators when someone registers or asks for deletion.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from conversations.engine import Context, Dialog, register
from storage.members import anonymise, first_name, get_member, identities_of, set_status
from storage.models import Member, MemberStatus
from storage.outbox import enqueue
from wlcc.i18n import Translator
from wlcc.messages import Choice

LIST_LIMIT = 5


def _number_or_nothing(args: str) -> bool:
    """SETUJUI, SETUJUI 12, SETUJUI #12 (not "setuju sama tetangga")."""
    text = args.strip().lstrip("#")
    return not text or text.isdigit()


def _member_arg(ctx: Context, args: str) -> Member | None:
    """The member named by the command's number, or None (after telling the coordinator)."""
    text = args.strip().lstrip("#")
    if not text.isdigit():
        ctx.say(ctx.t("approval.need_number"))
        return None
    member = get_member(ctx.session, int(text), ctx.speaker.community_id)
    if member is None or member.anonymised_at is not None:
        ctx.say(ctx.t("approval.not_found", id=text))
        return None
    return member


def _pending_member(ctx: Context, args: str) -> Member | None:
    """The registration the command names, if it still waits for a decision (else says why)."""
    member = _member_arg(ctx, args)
    if member is None or member.status == MemberStatus.PENDING:
        return member
    key = (
        "approval.already_active"
        if member.status == MemberStatus.ACTIVE
        else "approval.already_rejected"
    )
    ctx.say(ctx.t(key, name=member.name))
    return None


def _notify(ctx: Context, member: Member, key: str, message_key: str) -> None:
    notify_member(ctx.session, member, key, message_key)


def notify_member(session: Session, member: Member, key: str, message_key: str) -> None:
    """A membership notice to her through the outbox, once per ``key``."""
    assert member.id is not None
    enqueue(
        session,
        key=f"member:{member.id}:{key}",
        kind="membership",
        community_id=member.community_id,
        member_id=member.id,
        text=Translator(member.language)(message_key, name=first_name(member)),
    )


def decide_registration(session: Session, member: Member, approve: bool, now: datetime) -> None:
    """Approve (active) or reject (inactive) a pending registration and tell her through the
    outbox: what SETUJUI and TOLAK do, and the console's buttons. The caller audits."""
    if approve:
        set_status(session, member, MemberStatus.ACTIVE, now)
        notify_member(session, member, "approved", "approval.welcome")
    else:
        set_status(session, member, MemberStatus.INACTIVE, now)
        notify_member(session, member, "rejected", "approval.rejected_notice")


@register
class ApproveDialog(Dialog):
    name = "approve_member"
    keywords = ("SETUJUI", "APPROVE")
    action = "member.approve"
    menu_key = "menu.approvals"
    help_key = "help.approvals"
    menu_order = 60

    def accepts(self, args: str) -> bool:
        return _number_or_nothing(args)

    def start(self, ctx: Context, args: str) -> None:
        if not args.strip():
            self._list(ctx)
            return
        member = _pending_member(ctx, args)
        if member is None:
            return
        decide_registration(ctx.session, member, True, ctx.now)
        ctx.audit("member.approve", target=f"member:{member.id}")
        ctx.say(ctx.t("approval.approved", name=member.name))

    def _list(self, ctx: Context) -> None:
        pending = list(
            ctx.session.exec(
                select(Member)
                .where(
                    Member.community_id == ctx.speaker.community_id,
                    Member.status == MemberStatus.PENDING,
                )
                .order_by(col(Member.created_at))
                .limit(LIST_LIMIT)
            )
        )
        ctx.audit("member.list", target="pending", count=len(pending))
        if not pending:
            ctx.say(ctx.t("approval.none_pending"))
            return
        lines = [ctx.t("approval.list_header")]
        choices = []
        for m in pending:
            lines.append(
                ctx.t(
                    "approval.list_line",
                    name=m.name,
                    kelurahan=m.kelurahan or "-",
                    phone=m.phone or "-",
                )
            )
            choices.append(Choice(f"SETUJUI {m.id}", ctx.t("approval.approve_name", name=m.name)))
            choices.append(Choice(f"TOLAK {m.id}", ctx.t("approval.reject_name", name=m.name)))
        ctx.say("\n".join(lines), choices)


@register
class RejectDialog(Dialog):
    name = "reject_member"
    keywords = ("TOLAK", "REJECT")
    action = "member.approve"

    def accepts(self, args: str) -> bool:
        return _number_or_nothing(args)

    def start(self, ctx: Context, args: str) -> None:
        member = _pending_member(ctx, args)
        if member is None:
            return
        decide_registration(ctx.session, member, False, ctx.now)
        ctx.audit("member.reject", target=f"member:{member.id}")
        ctx.say(ctx.t("approval.rejected", name=member.name))


def _deletion_target(ctx: Context, args: str) -> Member | None:
    member = _member_arg(ctx, args)
    if member is not None and member.deletion_requested_at is None:
        ctx.say(ctx.t("deletion.no_request", name=member.name))
        return None
    return member


@register
class ConfirmDeletionDialog(Dialog):
    name = "confirm_deletion"
    keywords = ("SETUJUI HAPUS", "APPROVE DELETE")
    action = "member.delete"

    def accepts(self, args: str) -> bool:
        return _number_or_nothing(args)

    def start(self, ctx: Context, args: str) -> None:
        member = _deletion_target(ctx, args)
        if member is None:
            return
        name = member.name
        # Tell the person on every chat they use, before the link to them is erased.
        for identity in identities_of(ctx.session, member):
            assert identity.id is not None
            enqueue(
                ctx.session,
                key=f"member:{member.id}:deleted:identity:{identity.id}",
                kind="membership",
                community_id=member.community_id,
                identity_id=identity.id,
                text=Translator(member.language)("deletion.done_notice"),
            )
        anonymise(ctx.session, member, ctx.now)
        ctx.audit("member.delete", target=f"member:{member.id}")
        ctx.say(ctx.t("deletion.confirmed", name=name))


@register
class RejectDeletionDialog(Dialog):
    name = "reject_deletion"
    keywords = ("TOLAK HAPUS", "REJECT DELETE")
    action = "member.delete"

    def accepts(self, args: str) -> bool:
        return _number_or_nothing(args)

    def start(self, ctx: Context, args: str) -> None:
        member = _deletion_target(ctx, args)
        if member is None:
            return
        member.deletion_requested_at = None
        ctx.session.add(member)
        ctx.audit("member.delete.rejected", target=f"member:{member.id}")
        _notify(ctx, member, f"deletion-rejected:{ctx.now.isoformat()}", "deletion.rejected_notice")
        ctx.say(ctx.t("deletion.rejected", name=member.name))
