"""Themes by need (storage/meetings_themes.py): members suggest, coordinators put them to a vote.

* ``USUL <tema>`` (``SUGGEST``; ``USUL`` alone asks for the words): a member suggests a theme for
  a meeting or a training. A theme already suggested by someone else counts as her support.
* ``TEMA`` (``THEMES``): a member sees the vote that is open (its options as choices, her vote);
  a coordinator sees the themes not yet used, newest first, with how many suggested each, and
  opens or closes the vote from there.
* ``VOTING TEMA`` (``BUKA VOTING``, ``OPEN VOTE``; coordinators): all the themes (at most 9),
  the 9 most suggested, or the ones she picks by number, then a summary to confirm; every
  member gets the vote by message.
* ``PILIH TEMA <poll> <theme>`` (the payload of the notice's choices), or ``PILIH 2`` /
  ``VOTE 2`` typed when the notice's list is no longer the last one shown: her vote, changeable
  until the vote closes.
* ``TUTUP VOTING`` (``CLOSE VOTE``; coordinators): close it now; she reads the result, the
  other coordinators get it by message (as they do when it closes by itself).
* ``PAKAI TEMA <poll> <theme> [<meeting>]`` (the result's choice): the theme becomes the title
  of the next meeting, or of the one she picks when several are coming.
"""

from __future__ import annotations

import re
from datetime import datetime

from conversations.engine import Context, Dialog, Turn, keyword_index, register
from storage.meetings import (
    Meeting,
    MeetingKind,
    ThemePoll,
    aware,
    get_meeting,
    is_open,
    upcoming_meetings,
)
from storage.meetings_themes import (
    MAX_OPTIONS,
    TEXT_LIMIT,
    USE_WORD,
    PollStatus,
    Theme,
    ThemeError,
    accepting,
    close_poll,
    current_poll,
    error_text,
    get_poll,
    get_suggestion,
    latest_closed_poll,
    latest_poll,
    most_supported,
    open_poll,
    open_themes,
    options,
    result_text,
    suggest,
    tally,
    use_choices,
    use_theme,
    vote,
    vote_choices,
    vote_days,
    vote_of,
    voters,
)
from storage.members import first_name, staff
from storage.models import Member, MemberStatus, Role
from wlcc.formatting import format_datetime
from wlcc.i18n import choices_range
from wlcc.messages import Choice

ACTION = "meeting.themes"
STAFF = (Role.COORDINATOR, Role.ADMIN)  # who gets the result
LIST_LIMIT = 30  # themes shown in one list
MEETING_CHOICES = 5  # upcoming meetings offered for a theme
_NUMBERS = re.compile(r"\d+")
_NUMBER_LIST = re.compile(r"(?:\d+|dan|and|[\s,.;&+/-])+", re.IGNORECASE)


def _member(ctx: Context) -> Member | None:
    member = ctx.speaker.member
    if member is None or member.status != MemberStatus.ACTIVE:
        return None
    return member


def _numbers(args: str, most: int) -> list[int] | None:
    """Digits only ("3 12"), one to ``most`` numbers; None otherwise."""
    words = args.replace("#", " ").split()
    if not 1 <= len(words) <= most or not all(w.isdigit() for w in words):
        return None
    return [int(w) for w in words]


def _when(ctx: Context, moment: datetime) -> str:
    return format_datetime(moment, ctx.t.lang, ctx.zone)


def _event(ctx: Context, meeting: Meeting) -> str:
    kind = (
        ctx.t("themes.kind_training")
        if meeting.kind == MeetingKind.TRAINING
        else ctx.t("themes.kind_meeting")
    )
    return ctx.t(
        "themes.meeting_label",
        kind=kind,
        title=meeting.title,
        when=_when(ctx, meeting.starts_at),
    )


def _theme_lines(ctx: Context, themes: list[Theme]) -> list[str]:
    lines = [
        ctx.t("themes.list_line", number=i, title=th.text, count=th.count)
        for i, th in enumerate(themes[:LIST_LIMIT], start=1)
    ]
    if len(themes) > LIST_LIMIT:
        lines.append(ctx.t("themes.list_more", count=len(themes) - LIST_LIMIT))
    return lines


# --- USUL: a member suggests a theme ---


@register
class SuggestDialog(Dialog):
    name = "themes_suggest"
    keywords = ("USUL", "USUL TEMA", "SUGGEST", "SUGGEST THEME")
    help_key = "themes.help"
    menu_order = 150  # BANTUAN, after the older commands

    def accepts(self, args: str) -> bool:
        return True  # whatever follows USUL is the theme

    def allowed(self, ctx: Context) -> bool:
        return _member(ctx) is not None

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("themes.members_only"))

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "text")
        if args.strip():
            self._record(ctx, args)
        else:
            ctx.ask(ctx.t("themes.ask_text", limit=TEXT_LIMIT))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if ctx.step != "text" or turn.choice is not None:
            return False
        if turn.text.strip().upper() in keyword_index():
            return False  # "JADWAL" is a command, not a theme
        self._record(ctx, turn.text)
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(ctx.t("themes.ask_text", limit=TEXT_LIMIT))

    def _record(self, ctx: Context, text: str) -> None:
        member = _member(ctx)
        assert member is not None
        try:
            done = suggest(ctx.session, member, text, now=ctx.now)
        except ThemeError as error:
            extra = {"length": len(" ".join(text.split())), "limit": TEXT_LIMIT}
            if error.code == "too_long":
                ctx.ask(ctx.t("themes.too_long", **extra))
            else:
                ctx.ask(error_text(ctx.t, error) + "\n" + ctx.t("themes.example"))
            return
        ctx.finish()
        name = first_name(member)
        if done.status == "already":
            ctx.say(ctx.t("themes.already_yours", title=done.theme.text))
        elif done.status == "supported":
            ctx.say(
                ctx.t("themes.supported", name=name, title=done.theme.text, count=done.theme.count)
            )
        else:
            ctx.say(ctx.t("themes.thanks", name=name, title=done.theme.text))


# --- TEMA: the vote open (members), the themes and the vote (coordinators) ---


def show_vote(ctx: Context, poll: ThemePoll, member: Member | None) -> None:
    """The open vote with its options as choices, and her vote so far."""
    assert poll.id is not None
    themes = options(ctx.session, poll)
    lines = [ctx.t("themes.vote_open", closes=_when(ctx, poll.closes_at))]
    mine = vote_of(ctx.session, poll.id, member.id) if member and member.id else None
    if mine is not None and mine.suggestion_id in poll.options:
        chosen = next(s for s in themes if s.id == mine.suggestion_id)
        number = poll.options.index(mine.suggestion_id) + 1
        lines.append(ctx.t("themes.your_vote", number=number, title=chosen.text))
    lines.append(ctx.t("themes.vote_pick"))
    ctx.say("\n".join(lines), [Choice(p, label) for p, label in vote_choices(poll, themes)])


@register
class ThemesDialog(Dialog):
    name = "themes_list"
    keywords = ("TEMA", "THEMES")
    help_key = "themes.list_help"
    menu_order = 151

    def allowed(self, ctx: Context) -> bool:
        return _member(ctx) is not None

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("themes.members_only"))

    def start(self, ctx: Context, args: str) -> None:
        poll = current_poll(ctx.session, ctx.speaker.community_id)
        if not ctx.can(ACTION):
            if poll is not None and accepting(poll, ctx.now):
                show_vote(ctx, poll, _member(ctx))
            else:
                ctx.say(ctx.t("themes.no_vote_member"))
            return
        themes = open_themes(ctx.session, ctx.speaker.community_id)
        blocks = []
        if themes:
            blocks.append("\n".join([ctx.t("themes.list_header"), *_theme_lines(ctx, themes)]))
        else:
            blocks.append(ctx.t("themes.list_empty"))
        choices: list[Choice] = []
        if poll is not None:
            count = tally(ctx.session, poll).total
            blocks.append(
                ctx.t("themes.poll_running", closes=_when(ctx, poll.closes_at), votes=count)
            )
            choices.append(Choice("TUTUP VOTING", ctx.t("themes.close_choice")))
        elif themes:
            choices.append(Choice("VOTING TEMA", ctx.t("themes.open_choice")))
        ctx.say("\n\n".join(blocks), choices)


# --- VOTING TEMA: a coordinator opens a vote ---

ALL = "vt:all"
TOP = "vt:top"
PICK = "vt:pick"
OPEN = "vt:open"


@register
class OpenVoteDialog(Dialog):
    name = "themes_open_vote"
    keywords = ("VOTING TEMA", "BUKA VOTING", "OPEN VOTE", "THEME VOTE")
    action = ACTION
    help_key = "themes.open_help"
    menu_order = 152

    def start(self, ctx: Context, args: str) -> None:
        community = ctx.speaker.community_id
        poll = current_poll(ctx.session, community)
        if poll is not None:
            ctx.say(ctx.t("themes.error.poll_open", closes=_when(ctx, poll.closes_at)))
            return
        themes = open_themes(ctx.session, community)
        if not themes:
            ctx.say(ctx.t("themes.error.no_themes"))
            return
        ctx.begin(self.name, "which")
        ctx.data["themes"] = [th.id for th in themes[:LIST_LIMIT]]
        self._ask_which(ctx)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        if ctx.step == "which":
            return self._which(ctx, turn)
        if ctx.step == "numbers":
            return self._numbers(ctx, turn)
        if ctx.step == "confirm":
            return self._confirm(ctx, turn)
        return False

    def reprompt(self, ctx: Context) -> None:
        if ctx.step == "numbers":
            self._ask_numbers(ctx, again=True)
        elif ctx.step == "confirm":
            self._ask_confirm(ctx)
        else:
            self._ask_which(ctx)

    def _themes(self, ctx: Context) -> list[Theme]:
        """The themes listed when the dialog began, still open, in that order."""
        by_id = {th.id: th for th in open_themes(ctx.session, ctx.speaker.community_id)}
        return [by_id[i] for i in ctx.data.get("themes", []) if i in by_id]

    def _ask_which(self, ctx: Context) -> None:
        themes = self._themes(ctx)
        if len(themes) <= MAX_OPTIONS:
            first = Choice(ALL, ctx.t("themes.which_all", count=len(themes)))
        else:
            first = Choice(TOP, ctx.t("themes.which_top", count=MAX_OPTIONS))
        text = ctx.t("themes.which", count=len(themes), most=MAX_OPTIONS)
        ctx.ask(text, [first, Choice(PICK, ctx.t("themes.which_pick", most=MAX_OPTIONS))])

    def _which(self, ctx: Context, turn: Turn) -> bool:
        themes = self._themes(ctx)
        if turn.choice == ALL and len(themes) <= MAX_OPTIONS:
            chosen = themes
        elif turn.choice == TOP:
            chosen = most_supported(themes)
        elif turn.choice == PICK:
            ctx.goto("numbers")
            self._ask_numbers(ctx)
            return True
        else:
            return False
        ctx.data["chosen"] = [th.id for th in chosen]
        ctx.goto("confirm")
        self._ask_confirm(ctx)
        return True

    def _ask_numbers(self, ctx: Context, again: bool = False) -> None:
        themes = self._themes(ctx)
        lines = [ctx.t("themes.numbers_again" if again else "themes.numbers", most=MAX_OPTIONS)]
        lines += _theme_lines(ctx, themes)
        ctx.ask("\n".join(lines))

    def _numbers(self, ctx: Context, turn: Turn) -> bool:
        text = turn.text.strip()
        if turn.choice is not None or not text or not _NUMBER_LIST.fullmatch(text):
            return False
        themes = self._themes(ctx)
        picked = list(dict.fromkeys(int(n) for n in _NUMBERS.findall(text)))
        wrong = [n for n in picked if not 1 <= n <= len(themes)]
        if not picked:
            return False
        if wrong:
            ctx.ask(
                ctx.t(
                    "themes.numbers_wrong",
                    number=wrong[0],
                    range=choices_range(ctx.t, len(themes)),
                )
            )
            return True
        if len(picked) > MAX_OPTIONS:
            ctx.ask(ctx.t("themes.numbers_too_many", count=len(picked), most=MAX_OPTIONS))
            return True
        ctx.data["chosen"] = [themes[n - 1].id for n in picked]
        ctx.goto("confirm")
        self._ask_confirm(ctx)
        return True

    def _ask_confirm(self, ctx: Context) -> None:
        by_id = {th.id: th for th in self._themes(ctx)}
        chosen = [by_id[i] for i in ctx.data.get("chosen", []) if i in by_id]
        people = len(voters(ctx.session, ctx.speaker.community_id))
        days = vote_days()
        lines = [ctx.t("themes.confirm_header")]
        lines += [
            ctx.t("themes.confirm_line", number=i, title=th.text)
            for i, th in enumerate(chosen, start=1)
        ]
        lines += ["", ctx.t("themes.confirm", people=people, days=days)]
        ctx.ask(
            "\n".join(lines),
            [Choice(OPEN, ctx.t("themes.confirm_open")), Choice("BATAL", ctx.t("themes.cancel"))],
            cancel=None,
        )

    def _confirm(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice != OPEN:
            return False
        member = ctx.speaker.member
        try:
            opened = open_poll(
                ctx.session,
                ctx.speaker.community_id,
                ctx.data.get("chosen", []),
                now=ctx.now,
                days=vote_days(),
                by_member_id=member.id if member else None,
            )
        except ThemeError as error:
            ctx.finish()
            if error.code == "poll_open":
                poll = current_poll(ctx.session, ctx.speaker.community_id)
                assert poll is not None
                ctx.say(ctx.t("themes.error.poll_open", closes=_when(ctx, poll.closes_at)))
            else:
                ctx.say(error_text(ctx.t, error))
            return True
        ctx.finish()
        poll = opened.poll
        ctx.audit(ACTION, target=f"theme_poll:{poll.id}", options=list(poll.options), opened=True)
        ctx.say(
            ctx.t(
                "themes.opened",
                count=len(poll.options),
                people=opened.invited,
                closes=_when(ctx, poll.closes_at),
            )
        )
        return True


# --- PILIH TEMA: a member votes ---


@register
class VoteDialog(Dialog):
    name = "themes_vote"
    keywords = ("PILIH TEMA", "PILIH", "VOTE")

    def accepts(self, args: str) -> bool:
        return _numbers(args, 2) is not None

    def allowed(self, ctx: Context) -> bool:
        return _member(ctx) is not None

    def refuse(self, ctx: Context) -> None:
        ctx.say(ctx.t("themes.members_only"))

    def start(self, ctx: Context, args: str) -> None:
        member = _member(ctx)
        numbers = _numbers(args, 2)
        assert member is not None and numbers is not None
        community = ctx.speaker.community_id
        if len(numbers) == 2:  # the notice's payload: poll and theme
            poll = get_poll(ctx.session, community, numbers[0])
            suggestion_id = numbers[1]
        else:  # "PILIH 2": the second option of the vote open now
            poll = current_poll(ctx.session, community) or latest_poll(ctx.session, community)
            suggestion_id = -1
            if poll is not None and 1 <= numbers[0] <= len(poll.options):
                suggestion_id = poll.options[numbers[0] - 1]
        if poll is None:
            ctx.say(ctx.t("themes.error.no_poll"))
            return
        if not accepting(poll, ctx.now):
            ctx.say(
                ctx.t("themes.error.closed", closed=_when(ctx, poll.closed_at or poll.closes_at))
            )
            return
        if suggestion_id not in poll.options:
            ctx.say(
                ctx.t(
                    "themes.not_an_option",
                    number=numbers[-1],
                    range=choices_range(ctx.t, len(poll.options)),
                )
            )
            show_vote(ctx, poll, member)
            return
        try:
            done = vote(ctx.session, member, poll, suggestion_id, now=ctx.now)
        except ThemeError:  # closed meanwhile
            ctx.say(ctx.t("themes.error.closed", closed=_when(ctx, ctx.now)))
            return
        closes = _when(ctx, poll.closes_at)
        if done.unchanged:
            text = ctx.t("themes.vote_same", number=done.number, title=done.theme.text)
        elif done.previous is not None:
            text = ctx.t(
                "themes.vote_changed",
                number=done.number,
                title=done.theme.text,
                previous=done.previous.text,
                closes=closes,
            )
        else:
            text = ctx.t(
                "themes.vote_recorded", number=done.number, title=done.theme.text, closes=closes
            )
        ctx.say(text)


# --- TUTUP VOTING: a coordinator closes the vote ---


@register
class CloseVoteDialog(Dialog):
    name = "themes_close_vote"
    keywords = ("TUTUP VOTING", "CLOSE VOTE")
    action = ACTION
    help_key = "themes.close_help"
    menu_order = 153

    def start(self, ctx: Context, args: str) -> None:
        poll = current_poll(ctx.session, ctx.speaker.community_id)
        if poll is None:
            ctx.say(ctx.t("themes.error.no_poll"))
            return
        member = ctx.speaker.member
        close_poll(ctx.session, poll, now=ctx.now, by_member_id=member.id if member else None)
        ctx.audit(ACTION, target=f"theme_poll:{poll.id}", closed=True)
        result = tally(ctx.session, poll)
        others = [
            p
            for p in staff(ctx.session, poll.community_id, STAFF)
            if member is None or p.id != member.id
        ]
        closed = (
            ctx.t("themes.closed_by_hand", count=len(others))
            if others
            else ctx.t("themes.closed_by_hand_alone")
        )
        text = "\n\n".join([closed, result_text(ctx.t, result)])
        ctx.say(text, [Choice(p, label) for p, label in use_choices(ctx.t, result)])


# --- PAKAI TEMA: the winner becomes a meeting's title ---


@register
class UseThemeDialog(Dialog):
    name = "themes_use"
    keywords = (USE_WORD, "USE THEME")
    action = ACTION

    def accepts(self, args: str) -> bool:
        return not args.strip() or _numbers(args, 3) is not None

    def start(self, ctx: Context, args: str) -> None:
        numbers = _numbers(args, 3) or []
        community = ctx.speaker.community_id
        if len(numbers) < 2:  # PAKAI TEMA [poll]: the result again, with its choices
            self._result(ctx, numbers[0] if numbers else None)
            return
        poll = get_poll(ctx.session, community, numbers[0])
        suggestion = get_suggestion(ctx.session, community, numbers[1])
        if poll is None or suggestion is None or suggestion.id not in poll.options:
            ctx.say(ctx.t("themes.error.bad_theme"))
            return
        if suggestion.used_meeting_id is not None:
            used = get_meeting(ctx.session, community, suggestion.used_meeting_id)
            ctx.say(
                ctx.t(
                    "themes.already_used",
                    title=suggestion.text,
                    meeting=_event(ctx, used) if used else "-",
                )
            )
            return
        if len(numbers) == 3:
            meeting = get_meeting(ctx.session, community, numbers[2])
            if (
                meeting is None
                or not is_open(meeting)
                or aware(meeting.starts_at) <= aware(ctx.now)
            ):
                ctx.say(ctx.t("themes.error.not_open"))
                return
        else:
            coming = upcoming_meetings(ctx.session, community, ctx.now, limit=MEETING_CHOICES)
            if not coming:
                ctx.say(ctx.t("themes.no_meeting", title=suggestion.text))
                return
            if len(coming) > 1:
                choices = [
                    Choice(f"{USE_WORD} {poll.id} {suggestion.id} {m.id}", _event(ctx, m))
                    for m in coming
                ]
                ctx.say(ctx.t("themes.which_meeting", title=suggestion.text), choices)
                return
            meeting = coming[0]
        old = meeting.title
        try:
            use_theme(ctx.session, meeting, suggestion, now=ctx.now)
        except ThemeError as error:
            ctx.say(error_text(ctx.t, error))
            return
        ctx.audit(
            ACTION,
            target=f"meeting:{meeting.id}",
            theme=suggestion.id,
            poll=poll.id,
            old_title=old,
        )
        ctx.say(
            ctx.t("themes.used", title=meeting.title, when=_when(ctx, meeting.starts_at), old=old)
        )

    def _result(self, ctx: Context, poll_id: int | None) -> None:
        community = ctx.speaker.community_id
        if poll_id is not None:
            poll = get_poll(ctx.session, community, poll_id)
        else:
            poll = latest_closed_poll(ctx.session, community)
        if poll is None or poll.status != PollStatus.CLOSED:
            ctx.say(ctx.t("themes.no_result"))
            return
        result = tally(ctx.session, poll)
        ctx.say(result_text(ctx.t, result), [Choice(p, lb) for p, lb in use_choices(ctx.t, result)])
