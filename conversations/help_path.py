"""The confidential help path: TOLONG, words of distress, and a call-back request.

* ``TOLONG`` (``SOS``, ``HELP ME``; a main-menu entry after BANTUAN), and any message with words
  of distress (handlers/distress.py; the router answers them in every state, from anyone,
  before any other question) get at once the help lines of the area (``WLCC_HELP_HOTLINES``)
  and an offer: a protection officer can call her back. A message that is only a cry for help
  ("tolong", "Tolong!", "tolong saya", "tolong aku dong", :func:`cries_for_help`) is TOLONG in
  every state too; "tolong" followed by other words ("tolong ambilkan air", "tolong dibantu
  daftar", "tolong saldo") is the everyday "please" and is not.
* Only if she picks it (a numbered choice, or ``DITELEPON`` / ``CALL ME``), the call-back dialog
  asks how it is safe to reach her (this number, another number she types, a message only) and
  when, and an optional note, then sends a notice to the protection officers alone (outbox kind
  ``help_request``). storage/help_requests.py keeps it; the conversation keeps only its
  reference while the dialog asks, and nothing once it ends.
* Protection officers list what waits (``PERMINTAAN TOLONG``) and mark a request handled
  (``SELESAI <ref>``, or the notice's numbered choice). Nobody else can: not coordinators, not
  admins (``safety.receive``).

Nothing of a request is audited, logged or echoed back to her (replies are kept a day in the
outbox): the audit log says only that an officer marked one handled, without which one.
"""

from __future__ import annotations

from rapidfuzz.distance import DamerauLevenshtein

from conversations.engine import Context, Dialog, Turn, register
from storage.help_requests import (
    MAX_NOTE,
    MAX_SAFE_TIME,
    NOTICE_KIND,
    HelpContact,
    HelpRequest,
    HelpStatus,
    discard_draft,
    find_request,
    looks_like_ref,
    mark_handled,
    normalize_ref,
    notice_key,
    open_requests,
    start_request,
)
from storage.members import staff
from storage.models import OutboxPriority, Role
from storage.outbox import enqueue
from storage.permissions import SAFETY_RECEIVE
from wlcc.formatting import format_datetime
from wlcc.i18n import Translator
from wlcc.messages import Choice
from wlcc.phones import to_e164

NAME = "help"
CALLBACK = "help_callback"
LIST = "help_requests"
HANDLED = "help_handled"
SAFETY = SAFETY_RECEIVE

# The offer's choices: picked by number or button, in any state (the router sends them here).
OFFER_YES = "tolong:ya"
OFFER_NO = "tolong:tidak"
OFFER_PAYLOADS = frozenset({OFFER_YES, OFFER_NO})
_HOW_THIS, _HOW_OTHER, _HOW_MESSAGE = "how:this", "how:other", "how:message"
_WHEN_ANY = "when:any"
_NOTE_NONE = "note:none"
# The list an officer sees at once (the rest after she marks some handled).
LIST_LIMIT = 9


# What may follow "tolong" in a cry for help: "tolong saya", "tolong aku dong", "tolong bu".
_CRY_WORDS = frozenset(
    {"tolong", "saya", "aku", "sy", "kami", "dong", "donk", "bu", "ibu", "kak", "ya", "please"}
)


def cries_for_help(words: list[str]) -> bool:
    """Whether a message (its normalised words) is only a cry for help: "tolong" (one typo
    forgiven: "tlong"), with nothing after it but "saya", "aku", "dong", "bu"..."""
    if not words or len(words) > 4:
        return False
    first = words[0]
    if first != "tolong" and DamerauLevenshtein.distance(first, "tolong", score_cutoff=1) > 1:
        return False
    return all(word in _CRY_WORDS for word in words[1:])


def hotline_lines(ctx: Context) -> list[str]:
    return [ctx.t("distress.line", name=h.name, phone=h.phone) for h in ctx.hotlines]


# Where the offer keeps the choices of the dialog it interrupted (restored if she declines).
_BEFORE_OFFER = "before_offer"


def offer(ctx: Context) -> None:
    """The help lines, then whether she wants to be called back (the dialog she was in, if
    any, keeps waiting: declining gives its choices back to the numbers)."""
    if ctx.dialog is not None and ctx.conversation.choices:
        ctx.data[_BEFORE_OFFER] = ctx.conversation.choices
    lines = [ctx.t("distress.intro"), *hotline_lines(ctx), ctx.t("distress.crisis_centre")]
    text = "\n".join(lines) + "\n\n" + ctx.t("safety.offer")
    ctx.say(
        text,
        [Choice(OFFER_YES, ctx.t("safety.offer.yes")), Choice(OFFER_NO, ctx.t("safety.offer.no"))],
    )


def answer_offer(ctx: Context, payload: str) -> None:
    if payload == OFFER_YES:
        ctx.finish()
        CallbackDialog().start(ctx, "")
    elif ctx.dialog is not None:
        ctx.say(ctx.t("safety.declined") + "\n\n" + ctx.t("safety.declined.resume"))
        before = ctx.data.pop(_BEFORE_OFFER, None)
        ctx.restore_choices = before if isinstance(before, list) else []
    else:
        ctx.say(ctx.t("safety.declined"))


def in_help_dialog(ctx: Context) -> bool:
    return ctx.dialog == CALLBACK


@register
class HelpDialog(Dialog):
    """TOLONG: the help lines and the offer, at once, in every state."""

    name = NAME
    keywords = ("TOLONG", "SOS", "HELP ME")
    menu_key = "menu.safety"
    help_key = "help.safety"
    menu_order = 1000
    menu_after_help = True
    global_word = True

    def start(self, ctx: Context, args: str) -> None:
        offer(ctx)


def _draft(ctx: Context) -> HelpRequest | None:
    ref = ctx.data.get("ref")
    if not isinstance(ref, str):
        return None
    request = find_request(ctx.session, ctx.speaker.community_id, ref)
    return request if request is not None and request.status == HelpStatus.DRAFT else None


@register
class CallbackDialog(Dialog):
    """The call-back request: how, when, an optional note; then to the officers alone."""

    name = CALLBACK
    keywords = ("DITELEPON", "CALL ME")
    global_word = True
    confidential = True

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "how")
        request = start_request(ctx.session, ctx.speaker.community_id, ctx.now)
        ctx.data["ref"] = request.ref
        if ctx.speaker.identity.phone:
            self._ask_how(ctx)
        else:  # a Telegram chat that never proved its phone: she types one
            ctx.goto("number")
            ctx.ask(ctx.t("safety.ask_number"))

    def _ask_how(self, ctx: Context) -> None:
        ctx.ask(
            ctx.t("safety.ask_how"),
            [
                Choice(_HOW_THIS, ctx.t("safety.how.this")),
                Choice(_HOW_OTHER, ctx.t("safety.how.other")),
                Choice(_HOW_MESSAGE, ctx.t("safety.how.message")),
            ],
        )

    def _ask_when(self, ctx: Context) -> None:
        ctx.goto("when")
        ctx.ask(ctx.t("safety.ask_when"), [Choice(_WHEN_ANY, ctx.t("safety.when.any"))])

    def _ask_note(self, ctx: Context) -> None:
        ctx.goto("note")
        ctx.ask(ctx.t("safety.ask_note"), [Choice(_NOTE_NONE, ctx.t("safety.note.none"))])

    def handle(self, ctx: Context, turn: Turn) -> bool:
        request = _draft(ctx)
        if request is None:  # forgotten meanwhile (housekeeping): start again
            ctx.finish()
            self.start(ctx, "")
            return True
        text = turn.text.strip()
        if ctx.step == "how":
            if turn.choice in (_HOW_THIS, _HOW_MESSAGE):
                call = turn.choice == _HOW_THIS
                request.contact = HelpContact.CALL if call else HelpContact.MESSAGE
                request.phone = ctx.speaker.identity.phone
                ctx.session.add(request)
                self._ask_when(ctx)
                return True
            if turn.choice == _HOW_OTHER:
                ctx.goto("number")
                ctx.ask(ctx.t("safety.ask_number"))
                return True
            return False
        if ctx.step == "when" and turn.choice == _WHEN_ANY:
            request.safe_time = None
            ctx.session.add(request)
            self._ask_note(ctx)
            return True
        if ctx.step == "note" and turn.choice == _NOTE_NONE:
            request.note = None
            self._send(ctx, request)
            return True
        if turn.choice is not None or not text:
            return False
        if ctx.step == "number":
            number = to_e164(text)
            if number is None:
                ctx.ask(ctx.t("safety.bad_number"))
                return True
            request.contact, request.phone = HelpContact.CALL, number
            ctx.session.add(request)
            self._ask_when(ctx)
            return True
        limit = MAX_SAFE_TIME if ctx.step == "when" else MAX_NOTE
        if len(text) > limit:
            ctx.ask(ctx.t("safety.too_long", limit=limit))
            return True
        if ctx.step == "when":
            request.safe_time = text
            ctx.session.add(request)
            self._ask_note(ctx)
            return True
        request.note = text
        self._send(ctx, request)
        return True

    def reprompt(self, ctx: Context) -> None:
        if ctx.step == "how":
            self._ask_how(ctx)
        elif ctx.step == "number":
            ctx.ask(ctx.t("safety.ask_number"))
        elif ctx.step == "when":
            self._ask_when(ctx)
        else:
            self._ask_note(ctx)

    def _send(self, ctx: Context, request: HelpRequest) -> None:
        # An officer who said BERHENTI would be skipped by the sender: she is not counted.
        officers = [
            officer
            for officer in staff(ctx.session, ctx.speaker.community_id, (Role.PROTECTION_OFFICER,))
            if not officer.opted_out
        ]
        if not officers:
            ctx.finish()  # the draft goes with the dialog
            ctx.say("\n".join([ctx.t("safety.no_officer"), *hotline_lines(ctx)]))
            return
        request.status = HelpStatus.OPEN
        request.sent_at = ctx.now
        ctx.session.add(request)
        for officer in officers:
            assert officer.id is not None
            t = Translator(officer.language)
            enqueue(
                ctx.session,
                key=notice_key(request.ref, officer.id),
                kind=NOTICE_KIND,
                community_id=ctx.speaker.community_id,
                member_id=officer.id,
                text=notice_text(t, request),
                choices=[(f"SELESAI {request.ref}", t("safety.notice.done"))],
                template_vars={"1": request.ref},
                priority=OutboxPriority.URGENT,
            )
        ctx.finish()
        ctx.say("\n".join([ctx.t("safety.sent"), *hotline_lines(ctx), ctx.t("safety.delete_chat")]))

    def on_leave(self, ctx: Context) -> None:
        ref = ctx.data.get("ref")
        if isinstance(ref, str):
            discard_draft(ctx.session, ctx.speaker.community_id, ref)


def _how(t: Translator, request: HelpRequest) -> str:
    key = "safety.notice.call" if request.contact == HelpContact.CALL else "safety.notice.message"
    return t(key, phone=request.phone or "-")


def notice_text(t: Translator, request: HelpRequest) -> str:
    return t(
        "safety.notice",
        ref=request.ref,
        how=_how(t, request),
        when=request.safe_time or t("safety.when.any"),
        note=request.note or t("safety.notice.no_note"),
    )


@register
class RequestsDialog(Dialog):
    """PERMINTAAN TOLONG: the requests that wait, for protection officers only."""

    name = LIST
    keywords = ("PERMINTAAN TOLONG", "HELP REQUESTS")
    menu_key = "menu.safety_requests"
    help_key = "help.safety_requests"
    menu_order = 999
    action = SAFETY

    def start(self, ctx: Context, args: str) -> None:
        waiting = open_requests(ctx.session, ctx.speaker.community_id)
        if not waiting:
            ctx.say(ctx.t("safety.list.none"))
            return
        shown = waiting[:LIST_LIMIT]
        items = [
            ctx.t(
                "safety.list.item",
                when_made=format_datetime(
                    request.sent_at or request.created_at, ctx.t.lang, ctx.zone
                ),
                text=notice_text(ctx.t, request),
            )
            for request in shown
        ]
        header = ctx.t("safety.list.header", count=len(waiting))
        ctx.say(
            "\n\n".join([header, *items]),
            [Choice(f"SELESAI {r.ref}", ctx.t("safety.list.done", ref=r.ref)) for r in shown],
        )


@register
class HandledDialog(Dialog):
    """SELESAI <ref>: a protection officer marks a request handled."""

    name = HANDLED
    keywords = ("SELESAI", "HANDLED")
    action = SAFETY

    def accepts(self, args: str) -> bool:
        return normalize_ref(args) is not None or looks_like_ref(args)

    def start(self, ctx: Context, args: str) -> None:
        ref = normalize_ref(args) or args.strip()[:16]
        request = find_request(ctx.session, ctx.speaker.community_id, ref)
        if request is None or request.status == HelpStatus.DRAFT:
            ctx.say(ctx.t("safety.handled.unknown", ref=ref))
            return
        member = ctx.speaker.member
        if not mark_handled(ctx.session, request, member.id if member else None, ctx.now):
            ctx.say(ctx.t("safety.handled.already", ref=ref))
            return
        # Which officer marked one handled, not which request (nor anything of it).
        ctx.audit("safety.handled")
        ctx.say(ctx.t("safety.handled.done", ref=ref))
