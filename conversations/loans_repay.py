"""ANGSURAN: the treasurer records a loan repayment by chat.

1. the member, as in SETOR (a name with numbered matches, or a phone); ``ANGSURAN Siti``
   starts with the name given; a member without an open loan is said so at once;
2. the loan, when she has more than one open;
3. what the loan stands at (owed, next installment, late ones) and the amount: the next
   installment or everything late by number, or any amount typed as Indonesians type it;
4. a summary showing how it is shared (interest first, then principal, oldest installment
   first: storage/loans.py) and what she still owes after it; save, change, or cancel.

More than she owes is refused at the amount, with what she owes (storage/loans.py says why
an overpayment is not kept as savings). Saving writes through :func:`storage.loans.repay`,
which writes the entries, the audit row and her receipt. Treasurers and admins only.
"""

from __future__ import annotations

from conversations.engine import Context, Turn, register
from conversations.ledger_record import TreasurerDialog, amount_refusal, member_label
from storage.ledger import LedgerRefused
from storage.loans import (
    Loan,
    LoanInstallment,
    Part,
    allocate,
    format_rate,
    get_loan,
    loans_of,
    repay,
    schedule,
)
from storage.models import Member
from wlcc.formatting import format_date, format_money, to_local
from wlcc.messages import Choice
from wlcc.money import AmountError, parse_amount

LOAN = "loan:"
AMOUNT = "amt:"
SAVE = "rep:save"
CHANGE_AMOUNT = "rep:amount"


def _owed(items: list[LoanInstallment]) -> list[tuple[int, int, int]]:
    """(number, interest owed, principal owed) of the installments, oldest first."""
    return [(i.number, i.interest - i.paid_interest, i.principal - i.paid_principal) for i in items]


def _unpaid(
    ctx: Context, items: list[LoanInstallment]
) -> tuple[list[LoanInstallment], LoanInstallment | None]:
    """The late installments (oldest first) and the oldest unpaid one."""
    today = to_local(ctx.now, ctx.zone).date()
    unpaid = [i for i in items if not i.is_paid]
    return [i for i in unpaid if i.due_on < today], (unpaid[0] if unpaid else None)


def _installments(ctx: Context, loan: Loan) -> list[LoanInstallment]:
    assert loan.id is not None
    return schedule(ctx.session, loan.id)


def _numbers(ctx: Context, numbers: list[int]) -> str:
    """``3``, ``3, 4`` or ``3 sampai 10``: the installments a payment reaches (in order)."""
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return ctx.t("loans.rep.range", first=numbers[0], last=numbers[-1])
    return ", ".join(str(n) for n in numbers)


@register
class RepaymentDialog(TreasurerDialog):
    name = "loan_repayment"
    keywords = ("ANGSURAN", "REPAYMENT")
    help_key = "loans.rep.help"
    menu_order = 92
    ask_member_keys = ("loans.rep.ask_member", "loans.rep.ask_member_again")
    refusal_key = "loans.rep.treasurers_only"

    # 2. the loan
    def member_chosen(self, ctx: Context, member: Member) -> None:
        assert member.id is not None
        open_loans = loans_of(ctx.session, member.id, open_only=True)
        if not open_loans:
            ctx.finish()
            ctx.say(ctx.t("loans.rep.no_loan", member=member.name))
            return
        if len(open_loans) == 1:
            self._loan_chosen(ctx, open_loans[0])
            return
        ctx.goto("loan")
        ctx.ask(
            ctx.t("loans.rep.which_loan", member=member.name, count=len(open_loans)),
            [Choice(f"{LOAN}{loan.id}", self._loan_label(ctx, loan)) for loan in open_loans],
        )

    def _loan_label(self, ctx: Context, loan: Loan) -> str:
        return ctx.t(
            "loans.rep.loan_label",
            principal=format_money(loan.principal),
            day=format_date(loan.start_on, ctx.t.lang),
            months=loan.months,
            rate=format_rate(loan.rate_bp, ctx.t.lang),
        )

    def on_loan(self, ctx: Context, turn: Turn) -> bool:
        if not (turn.choice or "").startswith(LOAN):
            return False
        loan = get_loan(
            ctx.session, ctx.speaker.community_id, int((turn.choice or "").removeprefix(LOAN))
        )
        if loan is None:
            return False
        self._loan_chosen(ctx, loan)
        return True

    def _loan_chosen(self, ctx: Context, loan: Loan) -> None:
        ctx.data["loan"] = loan.id
        self.ask_amount(ctx)

    def _loan(self, ctx: Context) -> Loan | None:
        loan_id = ctx.data.get("loan")
        if not isinstance(loan_id, int):
            return None
        return get_loan(ctx.session, ctx.speaker.community_id, loan_id)

    # 3. the amount
    def ask_amount(self, ctx: Context, again: bool = False) -> None:
        member, loan = self.member(ctx), self._loan(ctx)
        if member is None or member.id is None or loan is None or loan.id is None:
            ctx.finish()
            ctx.say(ctx.t("ledger.rec.member_gone"))
            return
        ctx.goto("amount")
        items = _installments(ctx, loan)
        late, upcoming = _unpaid(ctx, items)
        if again:
            ctx.ask(ctx.t("loans.rep.ask_amount_again"), self._amount_choices(ctx, late, upcoming))
            return
        owed = _owed(items)
        lines = [
            ctx.t("loans.rep.standing", member=member.name, loan=self._loan_label(ctx, loan)),
            ctx.t(
                "loans.rep.owed",
                amount=format_money(sum(i + p for _, i, p in owed)),
                count=sum(1 for _, i, p in owed if i + p),
            ),
        ]
        if upcoming is not None:
            lines.append(
                ctx.t(
                    "loans.rep.next",
                    number=upcoming.number,
                    months=loan.months,
                    amount=format_money(upcoming.owed),
                    day=format_date(upcoming.due_on, ctx.t.lang),
                )
            )
        if late:
            lines.append(
                ctx.t(
                    "loans.rep.late",
                    count=len(late),
                    amount=format_money(sum(d.owed for d in late)),
                )
            )
        lines.append(ctx.t("loans.rep.ask_amount"))
        ctx.ask("\n".join(lines), self._amount_choices(ctx, late, upcoming))

    def _amount_choices(
        self, ctx: Context, late: list[LoanInstallment], due: LoanInstallment | None
    ) -> list[Choice]:
        choices: list[Choice] = []
        if due is not None:
            choices.append(
                Choice(
                    f"{AMOUNT}{due.owed}",
                    ctx.t("loans.rep.pay_one", amount=format_money(due.owed), number=due.number),
                )
            )
        if len(late) > 1:
            total = sum(d.owed for d in late)
            choices.append(
                Choice(
                    f"{AMOUNT}{total}",
                    ctx.t("loans.rep.pay_late", amount=format_money(total), count=len(late)),
                )
            )
        return choices

    def on_amount(self, ctx: Context, turn: Turn) -> bool:
        loan = self._loan(ctx)
        if loan is None:
            return False
        if turn.choice and turn.choice.startswith(AMOUNT):
            amount = int(turn.choice.removeprefix(AMOUNT))
        elif turn.text:
            try:
                amount = parse_amount(turn.text)
            except AmountError as error:
                if error.reason == AmountError.LETTERS:
                    return False  # perhaps a keyword; else reprompt explains
                ctx.say(amount_refusal(ctx, error.reason))
                self.ask_amount(ctx, again=True)
                return True
        else:
            return False
        owed = _owed(_installments(ctx, loan))
        parts, left = allocate(owed, amount)
        if left:
            most = amount - left
            ctx.say(
                ctx.t("loans.rep.overpaid", amount=format_money(amount), owed=format_money(most))
            )
            self.ask_amount(ctx, again=True)
            return True
        ctx.data["amount"] = amount
        self._summary(ctx, loan, amount, parts, owed)
        return True

    # 4. the summary
    def _summary(
        self,
        ctx: Context,
        loan: Loan,
        amount: int,
        parts: list[Part],
        owed: list[tuple[int, int, int]],
    ) -> None:
        member = self.member(ctx)
        assert member is not None
        ctx.goto("confirm")
        interest = sum(p.interest for p in parts)
        principal = sum(p.principal for p in parts)
        owed_after = sum(p for _, _, p in owed) - principal
        numbers = _numbers(ctx, [p.number for p in parts])
        ctx.audit("ledger.view", target=f"member:{member.id}", loan=loan.id)
        ctx.ask(
            "\n".join(
                [
                    ctx.t("ledger.rec.summary_title"),
                    ctx.t("loans.rep.summary_what", amount=format_money(amount)),
                    ctx.t("ledger.rec.summary_member", member=member_label(ctx, member)),
                    ctx.t(
                        "loans.rep.summary_shared",
                        interest=format_money(interest),
                        principal=format_money(principal),
                        numbers=numbers,
                    ),
                    ctx.t("loans.rep.summary_after", owed=format_money(owed_after)),
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
        member, loan = self.member(ctx), self._loan(ctx)
        amount, nonce = int(ctx.data["amount"]), ctx.data.get("nonce")
        ctx.finish()
        if member is None or member.id is None or loan is None:
            ctx.say(ctx.t("ledger.rec.member_gone"))
            return True
        recorder = ctx.speaker.member
        try:
            done = repay(
                ctx.session,
                community_id=ctx.speaker.community_id,
                member_id=member.id,
                amount=amount,
                channel=ctx.speaker.channel,
                recorded_by_member_id=recorder.id if recorder else None,
                loan_id=loan.id,
                key=f"chat:{nonce}",
                now=ctx.now,
            )
        except LedgerRefused as refused:
            ctx.say(ctx.t(f"loans.rep.refused.{refused.reason}", member=member.name))
            return True
        lines = [
            ctx.t(
                "loans.rep.saved",
                amount=format_money(done.amount),
                member=member.name,
                interest=format_money(done.interest),
                principal=format_money(done.principal),
            ),
            ctx.t("loans.rep.paid_off", member=member.name)
            if done.paid_off
            else ctx.t("loans.rep.left", owed=format_money(done.principal_owed)),
        ]
        if done.next is not None:
            lines.append(
                ctx.t(
                    "loans.rep.next_after",
                    amount=format_money(done.next.owed),
                    day=format_date(done.next.due_on, ctx.t.lang),
                )
            )
        lines.append(
            ctx.t(
                "ledger.rec.receipt_queued" if done.receipt_id else "ledger.rec.receipt_none",
                member=member.name,
            )
        )
        ctx.say("\n".join(lines))
        return True
