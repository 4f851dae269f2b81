"""SETOR and TARIK: the treasurer records a deposit or a withdrawal by chat.

1. the member: a name (the matches numbered, at most :data:`MATCH_LIMIT`) or a phone number
   (a family phone's members numbered); ``SETOR Siti`` starts with the name given;
2. the kind (SETOR: pokok, wajib or sukarela; TARIK: only sukarela can be withdrawn while she
   is a member, so the step is skipped and the question says so);
3. the amount as Indonesians type it ("50000", "50.000", "50rb", "Rp 50.000", "1,5 juta");
4. a summary showing the balance after it, to save, change the amount, or cancel.

Nothing is written before "Simpan". Saving writes the entry through storage/ledger.py (which
refuses what the ledger forbids, writes the audit row and queues her receipt); the treasurer is
told that the receipt was queued. Treasurers and admins only (``ledger.record``); seeing a
member's balance here is audited like the entry itself.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from conversations.engine import Context, Dialog, Turn, register
from storage.ledger import (
    LedgerKind,
    LedgerRefused,
    balances,
    deposit,
    is_member,
    withdraw,
)
from storage.members import find_by_name, get_member, members_on_phone
from storage.models import Member
from wlcc.formatting import format_money
from wlcc.messages import Choice
from wlcc.money import AmountError, parse_amount
from wlcc.phones import to_e164

ACTION = "ledger.record"
MATCH_LIMIT = 9
SAVE = "rec:save"
CHANGE_AMOUNT = "rec:amount"
WHO = "who:"
KIND = "kind:"


def member_label(ctx: Context, member: Member) -> str:
    """``Siti Aminah (19 Ilir, HP ...7890)``: enough to tell two Sitis apart, read aloud."""
    phone = f"...{member.phone[-4:]}" if member.phone else ctx.t("ledger.rec.no_phone")
    place = member.kelurahan or ctx.t("ledger.rec.no_kelurahan")
    return ctx.t("ledger.rec.member_label", name=member.name, place=place, phone=phone)


class MemberPick:
    """The first steps every treasurer dialog shares: whom it is for.

    ``ask_member`` asks; ``on_member`` reads a name, a phone or a picked number, then calls
    ``member_chosen``. The chosen member's id is in ``ctx.data["member"]``.
    """

    # The catalog keys of the question, and of the question asked again.
    ask_member_keys: ClassVar[tuple[str, str]]

    def ask_member(self, ctx: Context, again: bool = False) -> None:
        ctx.goto("member")
        ctx.ask(ctx.t(self.ask_member_keys[1] if again else self.ask_member_keys[0]))

    def member_chosen(self, ctx: Context, member: Member) -> None:
        raise NotImplementedError

    def search(self, ctx: Context, query: str) -> None:
        query = " ".join(query.split())
        community = ctx.speaker.community_id
        phone = to_e164(query) if any(c.isdigit() for c in query) else None
        if any(c.isdigit() for c in query) and phone is None:
            ctx.say(ctx.t("ledger.rec.bad_phone", query=query))
            self.ask_member(ctx, again=True)
            return
        found = (
            members_on_phone(ctx.session, community, phone)
            if phone
            else find_by_name(ctx.session, community, query)
        )
        found = [m for m in found if m.anonymised_at is None]
        if not found:
            key = "ledger.rec.no_phone_match" if phone else "ledger.rec.no_name_match"
            ctx.say(ctx.t(key, query=query))
            self.ask_member(ctx, again=True)
            return
        if len(found) == 1:
            self._chosen(ctx, found[0])
            return
        shown = found[:MATCH_LIMIT]
        ctx.goto("pick")
        more = len(found) - len(shown)
        lines = [ctx.t("ledger.rec.several", count=len(found), query=query)]
        if more:
            lines.append(ctx.t("ledger.rec.more", count=more))
        ctx.ask(
            "\n".join(lines),
            [Choice(f"{WHO}{m.id}", member_label(ctx, m)) for m in shown],
        )

    def on_member(self, ctx: Context, turn: Turn) -> bool:
        if not turn.text:
            return False
        self.search(ctx, turn.text)
        return True

    def on_pick(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice and turn.choice.startswith(WHO):
            member = get_member(
                ctx.session, int(turn.choice.removeprefix(WHO)), ctx.speaker.community_id
            )
            if member is not None:
                self._chosen(ctx, member)
                return True
        if turn.text and not turn.text.strip().isdigit():
            # Another name or number instead of one of the numbered names.
            self.search(ctx, turn.text)
            return True
        return False

    def _chosen(self, ctx: Context, member: Member) -> None:
        ctx.data["member"] = member.id
        self.member_chosen(ctx, member)

    def member(self, ctx: Context) -> Member | None:
        member_id = ctx.data.get("member")
        if not isinstance(member_id, int):
            return None
        return get_member(ctx.session, member_id, ctx.speaker.community_id)


def amount_refusal(ctx: Context, reason: str) -> str:
    return ctx.t(f"ledger.rec.amount.{reason}")


class TreasurerDialog(MemberPick, Dialog):
    """What SETOR, TARIK and ANGSURAN share: treasurers only (anyone else is told who records
    money, and the refusal is audited), the member first (``SETOR Siti`` starts with her),
    one handler per step (``on_<step>``), a key that makes the dialog record at most once,
    and an amount question asked again when the answer is no amount."""

    #: What anyone else reads when she types the keyword.
    refusal_key: ClassVar[str]

    def allowed(self, ctx: Context) -> bool:
        return ctx.can(ACTION)

    def refuse(self, ctx: Context) -> None:
        # A member who types SETOR means to pay, or to see her savings: say where to go. The
        # refusal is audited as the engine's own permission check would.
        ctx.audit(ACTION, allowed=False, target=self.name, role=ctx.speaker.role)
        ctx.say(ctx.t(self.refusal_key))

    def accepts(self, args: str) -> bool:
        return True  # SETOR Siti Aminah, TARIK 0812...

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "member")
        # The entry's key: the same dialog never records twice.
        ctx.data["nonce"] = secrets.token_hex(8)
        if args.strip():
            self.search(ctx, args)
        else:
            self.ask_member(ctx)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        handler = getattr(self, f"on_{ctx.step or ''}", None)
        return bool(handler(ctx, turn)) if handler else False

    def ask_amount(self, ctx: Context, again: bool = False) -> None:
        raise NotImplementedError

    def reprompt(self, ctx: Context) -> None:
        if ctx.step == "amount":
            ctx.say(amount_refusal(ctx, AmountError.LETTERS))
            self.ask_amount(ctx, again=True)
            return
        ctx.say(ctx.t("ledger.rec.not_understood"))


class _Record(TreasurerDialog):
    """SETOR and TARIK: the same steps, one sign apart."""

    menu_order = 90
    refusal_key = "ledger.rec.treasurers_only"
    withdrawing: ClassVar[bool]

    # 2. the kind
    def member_chosen(self, ctx: Context, member: Member) -> None:
        if self.withdrawing and is_member(member):
            # Only voluntary savings come out while she is a member: no question to ask.
            ctx.data["kind"] = LedgerKind.SUKARELA
            self.ask_amount(ctx)
            return
        ctx.goto("kind")
        what = "withdraw" if self.withdrawing else "deposit"
        ctx.ask(
            ctx.t(f"ledger.rec.{what}.ask_kind", member=member.name),
            [Choice(f"{KIND}{k}", ctx.t(f"ledger.rec.kind.{k}")) for k in LedgerKind.SAVINGS],
        )

    def on_kind(self, ctx: Context, turn: Turn) -> bool:
        kind = (turn.choice or "").removeprefix(KIND)
        member = self.member(ctx)
        if kind not in LedgerKind.SAVINGS or member is None or member.id is None:
            return False
        paid = balances(ctx.session, member.id)[LedgerKind.POKOK]
        if kind == LedgerKind.POKOK and not self.withdrawing and paid > 0:
            # Paid once, on joining: said now rather than after the amount and the summary.
            ctx.say(ctx.t("ledger.rec.pokok_paid", member=member.name, amount=format_money(paid)))
            self.member_chosen(ctx, member)
            return True
        ctx.data["kind"] = kind
        self.ask_amount(ctx)
        return True

    # 3. the amount
    def ask_amount(self, ctx: Context, again: bool = False) -> None:
        member = self.member(ctx)
        if member is None:
            self.ask_member(ctx, again=True)
            return
        ctx.goto("amount")
        kind = str(ctx.data["kind"])
        key = f"ledger.rec.{'withdraw' if self.withdrawing else 'deposit'}.ask_amount"
        ctx.ask(
            ctx.t(key, member=member.name, kind=ctx.t(f"ledger.kind.{kind}"))
            if not again
            else ctx.t("ledger.rec.ask_amount_again")
        )

    def on_amount(self, ctx: Context, turn: Turn) -> bool:
        if not turn.text:
            return False
        try:
            amount = parse_amount(turn.text)
        except AmountError as error:
            if error.reason == AmountError.LETTERS:
                return False  # perhaps a keyword ("tarik"); else reprompt explains
            ctx.say(amount_refusal(ctx, error.reason))
            self.ask_amount(ctx, again=True)
            return True
        member = self.member(ctx)
        if member is None or member.id is None:
            self.ask_member(ctx, again=True)
            return True
        kind = str(ctx.data["kind"])
        before = balances(ctx.session, member.id)[kind]
        after = before - amount if self.withdrawing else before + amount
        if after < 0:
            ctx.say(
                ctx.t(
                    "ledger.rec.withdraw.too_much",
                    member=member.name,
                    kind=ctx.t(f"ledger.kind.{kind}"),
                    balance=format_money(before),
                    amount=format_money(amount),
                )
            )
            self.ask_amount(ctx, again=True)
            return True
        ctx.data["amount"] = amount
        self._summary(ctx, member, before, after)
        return True

    # 4. the summary
    def _summary(self, ctx: Context, member: Member, before: int, after: int) -> None:
        ctx.goto("confirm")
        kind = str(ctx.data["kind"])
        what = "withdraw" if self.withdrawing else "deposit"
        ctx.audit("ledger.view", target=f"member:{member.id}", kind=kind)
        ctx.ask(
            "\n".join(
                [
                    ctx.t("ledger.rec.summary_title"),
                    ctx.t(f"ledger.rec.{what}.summary_what", kind=ctx.t(f"ledger.kind.{kind}")),
                    ctx.t("ledger.rec.summary_member", member=member_label(ctx, member)),
                    ctx.t("ledger.rec.summary_amount", amount=format_money(ctx.data["amount"])),
                    ctx.t(
                        "ledger.rec.summary_balance",
                        kind=ctx.t(f"ledger.kind.{kind}"),
                        before=format_money(before),
                        after=format_money(after),
                    ),
                ]
            ),
            [
                Choice(SAVE, ctx.t("ledger.rec.save")),
                Choice(CHANGE_AMOUNT, ctx.t("ledger.rec.change_amount")),
            ],
        )

    def on_confirm(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == CHANGE_AMOUNT:
            self.ask_amount(ctx)
            return True
        if turn.choice != SAVE:
            return False
        member = self.member(ctx)
        if member is None or member.id is None:
            ctx.finish()
            ctx.say(ctx.t("ledger.rec.member_gone"))
            return True
        kind = str(ctx.data["kind"])
        amount = int(ctx.data["amount"])
        record = withdraw if self.withdrawing else deposit
        recorder = ctx.speaker.member
        try:
            receipt = record(
                ctx.session,
                community_id=ctx.speaker.community_id,
                member_id=member.id,
                kind=kind,
                amount=amount,
                channel=ctx.speaker.channel,
                recorded_by_member_id=recorder.id if recorder else None,
                key=f"chat:{ctx.data.get('nonce')}",
                now=ctx.now,
            )
        except LedgerRefused as refused:
            ctx.finish()
            ctx.say(
                ctx.t(
                    f"ledger.rec.refused.{refused.reason}",
                    member=member.name,
                    kind=ctx.t(f"ledger.kind.{kind}"),
                )
            )
            return True
        ctx.finish()
        what = "withdraw" if self.withdrawing else "deposit"
        lines = [
            ctx.t(
                f"ledger.rec.{what}.saved",
                id=receipt.entry.id,
                kind=ctx.t(f"ledger.kind.{kind}"),
                amount=format_money(amount),
                member=member.name,
                balance=format_money(receipt.balance),
            ),
            ctx.t(
                "ledger.rec.receipt_queued" if receipt.outbox_id else "ledger.rec.receipt_none",
                member=member.name,
            ),
        ]
        ctx.say("\n".join(lines))
        return True


@register
class DepositDialog(_Record):
    name = "ledger_deposit"
    keywords = ("SETOR", "DEPOSIT")
    help_key = "ledger.rec.deposit.help"
    ask_member_keys = ("ledger.rec.deposit.ask_member", "ledger.rec.deposit.ask_member_again")
    withdrawing = False


@register
class WithdrawDialog(_Record):
    name = "ledger_withdraw"
    keywords = ("TARIK", "WITHDRAW")
    help_key = "ledger.rec.withdraw.help"
    ask_member_keys = ("ledger.rec.withdraw.ask_member", "ledger.rec.withdraw.ask_member_again")
    withdrawing = True
    menu_order = 91
