"""A member and her money: SIMPANAN, SALDO, MUTASI, STATEMEN, PINJAMAN, STATEMEN BULANAN, PIN.

* ``SIMPANAN`` (``SAVINGS``): the menu of the others, numbered.
* ``SALDO`` (``BALANCE``): each kind of savings and their total; the loan still owed, if any
  (the ``pinjaman`` balance).
* ``MUTASI`` (``TRANSACTIONS``): her last 10 entries, newest first, dated, signed, the kind in
  words; a reversal reads "Koreksi ...".
* ``STATEMEN`` (``STATEMENT``): this month's statement as a message, and as a PDF document
  where the channel takes one (Telegram; WhatsApp when Twilio can fetch it from
  ``PUBLIC_BASE_URL``); elsewhere the reply says the document is not available there.
* ``PINJAMAN`` (``LOAN``): what her open loans stand at: principal owed, everything still to
  pay, the next installment and its day, the late ones (storage/loans.py words it).
* ``STATEMEN BULANAN`` (``MONTHLY STATEMENT``): ask for last month's statement on the first
  days of each month, or stop it.
* ``PIN`` (``GANTI PIN``, ``CHANGE PIN``): set her PIN, or change it (the current one first),
  the new one twice.

Privacy: only the proven person sees her own figures. None of these takes a name or a phone
(``SALDO Siti`` is not SALDO). A Telegram chat that has not shared its own contact has no
member (the router finds members by proven phone only) and is asked to HUBUNGKAN; somebody
unknown is told it is for members; on a shared phone the router asks who is writing first, and
she sees only her own. Where she set a PIN, money answers ask it once per session
(``Context.session_state``: the session's expiry and GANTI ORANG end it). Every message that
carried digits in a PIN question is deleted on Telegram (the reply's ``delete_message``);
on WhatsApp the reply asks her to delete it herself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fpdf import FPDF

from conversations.engine import Context, Dialog, Turn, register
from storage.ledger import LedgerKind, balances, last_entries, savings_total
from storage.ledger_access import (
    LOCK_MINUTES,
    MAX_TRIES,
    STATEMENT_FILE_PREFIX,
    Statement,
    access_of,
    build_statement,
    check_pin,
    entry_line,
    entry_word,
    hash_pin,
    kind_word,
    locked_until,
    looks_like_pin,
    matches,
    month_name,
    month_of,
    pin_problem,
    set_monthly_statement,
    set_pin,
    short_date,
    signed,
    statement_text,
)
from storage.loans import describe_status, loan_status
from storage.media import bot_file
from storage.models import Member, MemberStatus
from storage.outbox import MEDIA_PREFIX, REPLY_KIND, enqueue
from wlcc.formatting import format_datetime, format_money, to_local
from wlcc.i18n import Translator
from wlcc.messages import Choice

HISTORY_LIMIT = 10
PDF_TYPE = "application/pdf"
PIN_OK = "ledger_pin_ok"  # session_state: the member id whose PIN was given this session
UNCLEAR_LIMIT = 3  # answers that are no PIN before a PIN question gives up
MONTHLY_ON, MONTHLY_OFF = "ledger_monthly:on", "ledger_monthly:off"


# --- who may ---


def _member(ctx: Context) -> Member | None:
    """The proven, active member speaking; else None after telling the person why not."""
    member = ctx.speaker.member
    if member is not None and member.status == MemberStatus.ACTIVE:
        return member
    if member is not None and member.status == MemberStatus.PENDING:
        ctx.say(ctx.t("ledger.member.pending"))
    elif ctx.speaker.identity.phone is None and ctx.speaker.channel == "telegram":
        # Telegram proves nothing until she shares her own contact.
        ctx.say(ctx.t("ledger.member.link_first"), request_contact=ctx.t("link.button"))
    else:
        ctx.say(ctx.t("ledger.member.members_only"))
    return None


def _is_member(ctx: Context) -> bool:
    member = ctx.speaker.member
    return member is not None and member.status == MemberStatus.ACTIVE


def _when(ctx: Context, moment: datetime) -> str:
    return format_datetime(moment, ctx.t.lang, ctx.zone)


def _say_locked(ctx: Context, until: datetime) -> None:
    ctx.say(ctx.t("ledger.member.locked", when=_when(ctx, until)))


# --- the answers ---


def _balance(ctx: Context, member: Member) -> None:
    assert member.id is not None
    found = balances(ctx.session, member.id)
    lines = [ctx.t("ledger.member.balance_header", name=member.name, when=_when(ctx, ctx.now))]
    for kind in LedgerKind.SAVINGS:
        lines.append(
            ctx.t(
                "ledger.member.balance_line",
                kind=kind_word(ctx.t, kind),
                amount=format_money(found[kind], ctx.t.lang),
            )
        )
    lines.append(
        ctx.t(
            "ledger.member.balance_total",
            amount=format_money(savings_total(found), ctx.t.lang),
        )
    )
    if found[LedgerKind.PINJAMAN] > 0:
        lines.append(
            ctx.t(
                "ledger.member.balance_loan",
                amount=format_money(found[LedgerKind.PINJAMAN], ctx.t.lang),
            )
        )
    lines += ["", ctx.t("ledger.member.balance_footer")]
    ctx.say("\n".join(lines))


def _history(ctx: Context, member: Member) -> None:
    assert member.id is not None
    entries = last_entries(ctx.session, member.id, HISTORY_LIMIT)
    if not entries:
        ctx.say(ctx.t("ledger.member.history_none"))
        return
    lines = [ctx.t("ledger.member.history_header", name=member.name, count=len(entries))]
    lines += [entry_line(ctx.t, entry) for entry in entries]
    ctx.say("\n".join(lines))


def _statement(ctx: Context, member: Member) -> None:
    assert member.id is not None
    today = to_local(ctx.now, ctx.zone).date()
    first, _ = month_of(today)
    statement = build_statement(ctx.session, member.id, first, today)
    ctx.say(statement_text(statement, member, ctx.t))
    channel = ctx.speaker.channel
    if channel not in ctx.document_channels:
        key = "ledger.member.pdf_whatsapp" if channel == "whatsapp" else "ledger.member.pdf_none"
        ctx.say(ctx.t(key))
        return
    identity = ctx.speaker.identity
    assert identity.id is not None
    media = bot_file(
        ctx.session,
        community_id=ctx.speaker.community_id,
        name=f"{STATEMENT_FILE_PREFIX}{first:%Y-%m}.pdf",
        data=statement_pdf(statement, member, ctx),
        content_type=PDF_TYPE,
        now=ctx.now,
    )
    # Sent by the outbox sender (which uploads files) to this very chat: an answer to her own
    # message, not a notice, so it goes where she asked.
    enqueue(
        ctx.session,
        key=f"statement:pdf:member:{member.id}:{first:%Y-%m}:identity:{identity.id}:"
        f"{ctx.now.isoformat()}",
        kind=REPLY_KIND,
        community_id=ctx.speaker.community_id,
        identity_id=identity.id,
        text=ctx.t("ledger.member.pdf_caption", month=month_name(first, ctx.t.lang)),
        media=[f"{MEDIA_PREFIX}{media.id}"],
    )
    ctx.say(ctx.t("ledger.member.pdf_sent"))


def _loan(ctx: Context, member: Member) -> None:
    """PINJAMAN: what her open loans stand at (storage/loans.py words it)."""
    assert member.id is not None
    status = loan_status(ctx.session, member.id, to_local(ctx.now, ctx.zone).date())
    header = ctx.t("ledger.member.loan_header", name=member.name, when=_when(ctx, ctx.now))
    ctx.say(f"{header}\n{describe_status(ctx.t, status)}")


ANSWERS: dict[str, Callable[[Context, Member], None]] = {
    "balance": _balance,
    "history": _history,
    "statement": _statement,
    "loan": _loan,
}


def _latin1(text: str) -> str:
    """The PDF's built-in font knows Latin-1 only: anything else becomes "?"."""
    return text.encode("latin-1", "replace").decode("latin-1")


def statement_pdf(statement: Statement, member: Member, ctx: Context) -> bytes:
    """The statement as a one-page (or longer) A4 PDF: the balances per kind at the start and
    the end of the period, then the entries, with the same words as the message."""
    return statement_document(statement, member, ctx.t, ctx.now)


def statement_document(statement: Statement, member: Member, t: Translator, now: datetime) -> bytes:
    """:func:`statement_pdf` in the language of ``t``, made at ``now`` (the staff console
    downloads the same document)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(now)
    pdf.set_title(_latin1(t("ledger.member.pdf_title", month=month_name(statement.first, t.lang))))
    pdf.set_author("WLCC")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(
        0,
        8,
        _latin1(t("ledger.member.pdf_title", month=month_name(statement.first, t.lang))),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 6, _latin1(member.name), new_x="LMARGIN", new_y="NEXT")
    period = t(
        "ledger.member.statement_period",
        first=short_date(statement.first, t.lang),
        last=short_date(statement.last, t.lang),
    )
    pdf.cell(0, 6, _latin1(period), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=10)
    for label, width in (
        (t("ledger.member.pdf_kind"), 70),
        (t("ledger.member.pdf_opening"), 55),
        (t("ledger.member.pdf_closing"), 55),
    ):
        pdf.cell(width, 7, _latin1(label), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for kind in statement.shown_kinds():
        pdf.cell(70, 7, _latin1(kind_word(t, kind)), border=1)
        pdf.cell(55, 7, format_money(statement.opening[kind], t.lang), border=1, align="R")
        pdf.cell(55, 7, format_money(statement.closing[kind], t.lang), border=1, align="R")
        pdf.ln()
    pdf.ln(4)
    if not statement.entries:
        pdf.cell(0, 6, _latin1(t("ledger.member.statement_no_entries")), new_x="LMARGIN")
        return bytes(pdf.output())
    pdf.set_font("Helvetica", style="B", size=10)
    for label, width in (
        (t("ledger.member.pdf_date"), 35),
        (t("ledger.member.pdf_what"), 100),
        (t("ledger.member.pdf_amount"), 45),
    ):
        pdf.cell(width, 7, _latin1(label), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for entry in statement.entries:
        pdf.cell(35, 7, _latin1(short_date(entry.occurred_on, t.lang)), border=1)
        pdf.cell(100, 7, _latin1(entry_word(t, entry)), border=1)
        pdf.cell(45, 7, signed(entry.amount, t.lang), border=1, align="R")
        pdf.ln()
    return bytes(pdf.output())


# --- the PIN, once per session ---


def _pin_given(ctx: Context, member: Member) -> bool:
    return ctx.session_state.get(PIN_OK) == member.id


def _money(ctx: Context, dialog: str, answer: str) -> None:
    """A money answer, for the proven member, after her PIN where she set one."""
    member = _member(ctx)
    if member is None:
        return
    until = locked_until(ctx.session, member, ctx.now)
    if until is not None:
        _say_locked(ctx, until)
        return
    if access_of(ctx.session, member).pin_hash is not None and not _pin_given(ctx, member):
        ctx.begin(dialog, "pin")  # the answer waits for her PIN (_MoneyDialog.handle)
        ctx.ask(ctx.t("ledger.member.pin_ask"))
        return
    ANSWERS[answer](ctx, member)


def _has_digits(turn: Turn) -> bool:
    return turn.choice is None and any(c.isdigit() for c in turn.text)


def _pin_note(ctx: Context, turn: Turn) -> None:
    """The message with her PIN goes: deleted on Telegram; elsewhere she is asked to."""
    if ctx.speaker.channel == "telegram" and turn.message_id:
        ctx.say(ctx.t("ledger.member.pin_deleted"), delete_message=turn.message_id)
    else:
        ctx.say(ctx.t("ledger.member.pin_delete_yourself"))


def _pin_text(turn: Turn) -> str:
    return "".join(turn.text.split())


def _unclear(ctx: Context, ask_key: str) -> None:
    """An answer that is no PIN: ask again, a few times, then let it be."""
    count = int(ctx.data.get("unclear") or 0) + 1
    if count >= UNCLEAR_LIMIT:
        ctx.finish()
        ctx.say(ctx.t("ledger.member.pin_gave_up"))
        return
    ctx.data["unclear"] = count
    ctx.ask(ctx.t(ask_key))


def _wrong_pin(ctx: Context, member: Member, pin: str) -> bool:
    """Check the PIN typed; False (after saying why) when it is not hers."""
    result = check_pin(ctx.session, member, pin, now=ctx.now, channel=ctx.speaker.channel)
    if result.ok:
        ctx.session_state[PIN_OK] = member.id
        return False
    if result.locked_until is not None:
        if result.just_locked:
            ctx.audit("ledger.pin_locked", allowed=False, target=f"member:{member.id}")
        ctx.finish()
        key = "ledger.member.pin_locked_now" if result.just_locked else "ledger.member.locked"
        ctx.say(
            ctx.t(key, when=_when(ctx, result.locked_until), tries=MAX_TRIES, minutes=LOCK_MINUTES)
        )
        return True
    ctx.ask(ctx.t("ledger.member.pin_wrong", left=result.tries_left, minutes=LOCK_MINUTES))
    return True


# --- the dialogs ---


@register
class SavingsMenuDialog(Dialog):
    name = "ledger_menu"
    keywords = ("SIMPANAN", "SAVINGS")
    menu_key = "ledger.member.menu"
    menu_order = 89  # last before the language and BANTUAN: the older numbers stay

    def in_menu(self, ctx: Context) -> bool:
        return _is_member(ctx)

    def start(self, ctx: Context, args: str) -> None:
        if _member(ctx) is None:
            return
        choices = [
            Choice("SALDO", ctx.t("ledger.member.menu_balance")),
            Choice("MUTASI", ctx.t("ledger.member.menu_history")),
            Choice("STATEMEN", ctx.t("ledger.member.menu_statement")),
            Choice("PINJAMAN", ctx.t("ledger.member.menu_loan")),
            Choice("STATEMEN BULANAN", ctx.t("ledger.member.menu_monthly")),
            Choice("PIN", ctx.t("ledger.member.menu_pin")),
        ]
        ctx.say(ctx.t("ledger.member.menu_header"), choices)


class _MembersDialog(Dialog):
    """Listed under SIMPANAN in the menu, and in BANTUAN for members; anyone else typing its
    keyword is told why not (link the phone, register, wait for approval)."""

    help_always = True

    def in_menu(self, ctx: Context) -> bool:
        return False

    def allowed(self, ctx: Context) -> bool:
        return _is_member(ctx)

    def refuse(self, ctx: Context) -> None:
        _member(ctx)


class _MoneyDialog(_MembersDialog):
    """A money answer; where she set a PIN and has not given it this session, the dialog
    first waits for it."""

    answer: str = ""

    def start(self, ctx: Context, args: str) -> None:
        _money(ctx, self.name, self.answer)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        member = ctx.speaker.member
        if member is None or not _has_digits(turn):
            return False
        _pin_note(ctx, turn)
        if not looks_like_pin(_pin_text(turn)):  # "123": no PIN, so no wrong try either
            ctx.ask(ctx.t("ledger.member.pin_ask_again"))
            return True
        if _wrong_pin(ctx, member, _pin_text(turn)):
            return True
        ctx.finish()
        ANSWERS[self.answer](ctx, member)
        return True

    def reprompt(self, ctx: Context) -> None:
        _unclear(ctx, "ledger.member.pin_ask_again")


@register
class BalanceDialog(_MoneyDialog):
    name = "ledger_balance"
    keywords = ("SALDO", "BALANCE")
    help_key = "ledger.member.help_balance"
    menu_order = 160  # BANTUAN, after the older commands
    answer = "balance"


@register
class HistoryDialog(_MoneyDialog):
    name = "ledger_history"
    keywords = ("MUTASI", "TRANSACTIONS")
    help_key = "ledger.member.help_history"
    menu_order = 161
    answer = "history"


@register
class StatementDialog(_MoneyDialog):
    name = "ledger_statement"
    keywords = ("STATEMEN", "STATEMENT")
    help_key = "ledger.member.help_statement"
    menu_order = 162
    answer = "statement"


@register
class LoanDialog(_MoneyDialog):
    name = "ledger_loan"
    keywords = ("PINJAMAN", "LOAN")
    help_key = "ledger.member.help_loan"
    menu_order = 165
    answer = "loan"


@register
class MonthlyStatementDialog(_MembersDialog):
    name = "ledger_monthly"
    keywords = ("STATEMEN BULANAN", "MONTHLY STATEMENT")
    help_key = "ledger.member.help_monthly"
    menu_order = 163

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        wanted = access_of(ctx.session, member).monthly_statement
        ctx.begin(self.name)
        ctx.ask(
            ctx.t("ledger.member.monthly_on" if wanted else "ledger.member.monthly_off"),
            [
                Choice(MONTHLY_ON, ctx.t("ledger.member.monthly_choice_on")),
                Choice(MONTHLY_OFF, ctx.t("ledger.member.monthly_choice_off")),
            ],
        )

    def handle(self, ctx: Context, turn: Turn) -> bool:
        member = ctx.speaker.member
        if turn.choice not in (MONTHLY_ON, MONTHLY_OFF) or member is None:
            return False
        wanted = turn.choice == MONTHLY_ON
        set_monthly_statement(ctx.session, member, wanted, ctx.now)
        ctx.finish()
        ctx.say(
            ctx.t("ledger.member.monthly_set_on" if wanted else "ledger.member.monthly_set_off")
        )
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(
            ctx.t("ledger.member.monthly_again"),
            [
                Choice(MONTHLY_ON, ctx.t("ledger.member.monthly_choice_on")),
                Choice(MONTHLY_OFF, ctx.t("ledger.member.monthly_choice_off")),
            ],
        )


@register
class PinDialog(_MembersDialog):
    """Set or change her PIN: the current one first when she has one, the new one twice."""

    name = "ledger_pin"
    keywords = ("PIN", "GANTI PIN", "UBAH PIN", "CHANGE PIN")
    help_key = "ledger.member.help_pin"
    menu_order = 164

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        if member is None:
            return
        until = locked_until(ctx.session, member, ctx.now)
        if until is not None:
            _say_locked(ctx, until)
            return
        ctx.begin(self.name)
        if access_of(ctx.session, member).pin_hash is not None:
            ctx.goto("current")
            ctx.ask(ctx.t("ledger.member.pin_current"))
            return
        ctx.goto("new")
        ctx.ask(ctx.t("ledger.member.pin_intro"))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        member = ctx.speaker.member
        if member is None or not _has_digits(turn):
            return False
        _pin_note(ctx, turn)
        pin = _pin_text(turn)
        if ctx.step == "current":
            if not looks_like_pin(pin):
                ctx.ask(ctx.t("ledger.member.pin_ask_again"))
            elif not _wrong_pin(ctx, member, pin):
                ctx.goto("new")
                ctx.data.pop("unclear", None)
                ctx.ask(ctx.t("ledger.member.pin_new"))
            return True
        if ctx.step == "new":
            problem = pin_problem(pin)
            if problem is not None:
                ctx.ask(ctx.t(f"ledger.member.pin_refused.{problem}"))
                return True
            # Only its hash waits for the second typing, never the digits.
            ctx.data["new_hash"] = hash_pin(pin)
            ctx.goto("repeat")
            ctx.ask(ctx.t("ledger.member.pin_repeat"))
            return True
        new_hash = str(ctx.data.get("new_hash") or "")
        if not new_hash or not matches(new_hash, pin):
            ctx.data.pop("new_hash", None)
            ctx.goto("new")
            ctx.ask(ctx.t("ledger.member.pin_mismatch"))
            return True
        changed = access_of(ctx.session, member).pin_hash is not None
        set_pin(ctx.session, member, new_hash, ctx.now)
        ctx.session_state[PIN_OK] = member.id
        ctx.audit(
            "ledger.pin_changed" if changed else "ledger.pin_set", target=f"member:{member.id}"
        )
        ctx.finish()
        ctx.say(ctx.t("ledger.member.pin_changed" if changed else "ledger.member.pin_set"))
        return True

    def reprompt(self, ctx: Context) -> None:
        key = {
            "current": "ledger.member.pin_current",
            "repeat": "ledger.member.pin_repeat",
        }.get(ctx.step or "", "ledger.member.pin_refused.not_digits")
        _unclear(ctx, key)
