"""Themes by need: members suggest themes (USUL), coordinators put up to nine to a vote, members
vote once (changeable until it closes), the result goes to coordinators and can become the next
meeting's title in one step. The tables are in storage/meetings.py.

Suggestions. A text of 1 to :data:`TEXT_LIMIT` characters with a letter in it. One that reads
the same as a theme already suggested and not yet used (case, spaces and punctuation aside, or
near-identical: a typo, a word more; :data:`SAME_SCORE`) is the same theme: a second member's
suggestion of it is stored with the first one's words and counts as her support (the list says
how many suggested it); the same member suggesting it again adds nothing. A theme is the group
of such rows, known by its oldest row (:attr:`Theme.id`), which polls offer.

Polls. One open poll per community at a time, on 1 to :data:`MAX_OPTIONS` themes in numbered
order, open for ``WLCC_THEME_VOTE_DAYS``. Every active member who has not opted out gets a
notice (outbox kind :data:`VOTE_KIND`, key ``theme_poll:<poll>:member:<member>``) with the
options as choices (payload ``PILIH TEMA <poll> <suggestion>``). A member's latest vote counts.
A poll closes at ``closes_at`` (:func:`close_due_polls`, run by the notice job) or by a
coordinator (:func:`close_poll`); closing it sends the counts once to every coordinator and
admin (kind :data:`RESULT_KIND`, key ``theme_poll:<poll>:result:member:<member>``) with the
winner (each of the tied ones on a tie) as a choice ``PAKAI TEMA <poll> <suggestion>``, which
:func:`use_theme` applies to a meeting.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.meetings import (
    TITLE_LIMIT,
    Meeting,
    ThemePoll,
    ThemeSuggestion,
    ThemeVote,
    aware,
    is_open,
)
from storage.members import staff
from storage.models import Member, MemberStatus, Role
from storage.ops import insert_ignore
from storage.outbox import Planned, enqueue, enqueue_many
from wlcc.formatting import format_datetime
from wlcc.i18n import Translator
from wlcc.settings import Settings, SettingsError, get_settings

TEXT_LIMIT = TITLE_LIMIT  # a theme becomes a meeting's title: 200 characters
MAX_OPTIONS = 9  # a vote offers at most this many themes (one digit each)
SAME_SCORE = 90  # rapidfuzz ratio of two normalised texts from which they are one theme
WORD_SCORE = 80  # ... and of two words, one a typo of the other
VOTE_KIND = "theme_vote"  # the outbox kind (and WhatsApp template) of the vote notice
RESULT_KIND = "theme_result"  # the result sent to coordinators
VOTE_WORD = "PILIH TEMA"  # "PILIH TEMA <poll> <suggestion>": a vote, as a choice's payload
USE_WORD = "PAKAI TEMA"  # "PAKAI TEMA <poll> <suggestion> [<meeting>]": use it as a title


class PollStatus:
    OPEN = "open"
    CLOSED = "closed"


class ThemeError(ValueError):
    """A refusal with a stable code, worded from the catalog (``themes.error.<code>``):
    ``empty``, ``no_letters``, ``too_long``, ``no_themes``, ``too_many``, ``bad_theme``,
    ``poll_open``, ``no_poll``, ``closed``, ``bad_option``, ``not_open`` (the meeting)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_text(t: Translator, error: ThemeError) -> str:
    return t(f"themes.error.{error.code}")


def vote_days(settings: Settings | None = None) -> int:
    """How long a vote stays open (``WLCC_THEME_VOTE_DAYS``)."""
    if settings is None:
        try:
            settings = get_settings()
        except SettingsError:  # the app does not start then; a dialog still needs a number
            return int(Settings.model_fields["wlcc_theme_vote_days"].default)
    return settings.wlcc_theme_vote_days


# --- suggestions ---


def clean_text(text: str) -> str:
    """Spaces folded, and a capital first letter (it may become a meeting's title)."""
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def theme_key(text: str) -> str:
    """Lower case, accents and punctuation gone, spaces folded: "Kompos!" is "kompos"."""
    text = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch))
    return " ".join(kept.split())


def same_theme(a: str, b: str) -> bool:
    """The same theme: equal once normalised, or near-identical: close as a whole
    (:data:`SAME_SCORE`), with the same numbers, and every word of the shorter one in the other
    or a typo of one of its words ("menjait" for "menjahit"; "kelas 1" is not "kelas 2")."""
    ka, kb = theme_key(a), theme_key(b)
    if ka == kb:
        return True
    if fuzz.ratio(ka, kb, score_cutoff=SAME_SCORE) < SAME_SCORE:
        return False
    short, other = sorted((ka.split(), kb.split()), key=len)
    if [w for w in short if w.isdigit()] != [w for w in other if w.isdigit()]:
        return False
    return all(
        word in other or any(fuzz.ratio(word, w) >= WORD_SCORE for w in other) for word in short
    )


@dataclass(frozen=True, slots=True)
class Theme:
    """One suggested theme not yet used: the rows that suggested it, grouped."""

    id: int  # its oldest row: what a poll offers and a vote names
    text: str
    member_ids: tuple[int, ...]  # who suggested it (distinct)
    first_at: datetime
    suggestion_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return max(len(self.member_ids), 1)


def open_themes(session: Session, community_id: int) -> list[Theme]:
    """The themes suggested and not yet used, newest first."""
    rows = session.exec(
        select(ThemeSuggestion)
        .where(
            ThemeSuggestion.community_id == community_id,
            col(ThemeSuggestion.used_meeting_id).is_(None),
        )
        .order_by(col(ThemeSuggestion.created_at), col(ThemeSuggestion.id))
    ).all()
    groups: dict[str, list[ThemeSuggestion]] = {}
    for row in rows:
        groups.setdefault(theme_key(row.text), []).append(row)
    themes = []
    for group in groups.values():
        first = group[0]
        assert first.id is not None
        members = tuple(dict.fromkeys(r.member_id for r in group if r.member_id is not None))
        themes.append(
            Theme(
                id=first.id,
                text=first.text,
                member_ids=members,
                first_at=aware(first.created_at),
                suggestion_ids=tuple(r.id for r in group if r.id is not None),
            )
        )
    return sorted(themes, key=lambda th: (th.first_at, th.id), reverse=True)


def most_supported(themes: Sequence[Theme], limit: int = MAX_OPTIONS) -> list[Theme]:
    """The ``limit`` themes most members suggested (the newer first among equals), in the
    order of the list they came from."""
    ranked = sorted(themes, key=lambda th: (-th.count, -th.first_at.timestamp(), -th.id))
    chosen = {th.id for th in ranked[:limit]}
    return [th for th in themes if th.id in chosen]


@dataclass(frozen=True, slots=True)
class Suggested:
    theme: Theme
    status: str  # "new", "supported" (another member's theme, her support counted), "already"


def suggest(session: Session, member: Member, text: str, *, now: datetime) -> Suggested:
    """Record her suggestion, or her support of the same theme suggested before."""
    assert member.id is not None
    text = clean_text(text)
    if not text:
        raise ThemeError("empty")
    if not any(ch.isalpha() for ch in text):
        raise ThemeError("no_letters")
    if len(text) > TEXT_LIMIT:
        raise ThemeError("too_long")
    themes = open_themes(session, member.community_id)
    same = next((th for th in themes if same_theme(th.text, text)), None)
    if same is not None and member.id in same.member_ids:
        return Suggested(same, "already")
    row = ThemeSuggestion(
        community_id=member.community_id,
        member_id=member.id,
        text=same.text if same is not None else text,  # one theme, one wording
        created_at=now,
    )
    session.add(row)
    session.flush()
    found = theme_of(session, member.community_id, same.id if same is not None else row.id or 0)
    assert found is not None
    return Suggested(found, "new" if same is None else "supported")


def theme_of(session: Session, community_id: int, suggestion_id: int) -> Theme | None:
    """The open theme a suggestion belongs to (None once used, or not of this community)."""
    return next(
        (th for th in open_themes(session, community_id) if suggestion_id in th.suggestion_ids),
        None,
    )


def get_suggestion(
    session: Session, community_id: int, suggestion_id: int
) -> ThemeSuggestion | None:
    row = session.get(ThemeSuggestion, suggestion_id)
    return row if row is not None and row.community_id == community_id else None


# --- polls ---


def current_poll(session: Session, community_id: int) -> ThemePoll | None:
    """The poll still open (not closed yet, even when its closing time has just passed)."""
    return session.exec(
        select(ThemePoll)
        .where(ThemePoll.community_id == community_id, ThemePoll.status == PollStatus.OPEN)
        .order_by(col(ThemePoll.id).desc())
    ).first()


def latest_poll(session: Session, community_id: int) -> ThemePoll | None:
    return session.exec(
        select(ThemePoll)
        .where(ThemePoll.community_id == community_id)
        .order_by(col(ThemePoll.id).desc())
    ).first()


def latest_closed_poll(session: Session, community_id: int) -> ThemePoll | None:
    return session.exec(
        select(ThemePoll)
        .where(ThemePoll.community_id == community_id, ThemePoll.status == PollStatus.CLOSED)
        .order_by(col(ThemePoll.closed_at).desc(), col(ThemePoll.id).desc())
    ).first()


def get_poll(session: Session, community_id: int, poll_id: int) -> ThemePoll | None:
    poll = session.get(ThemePoll, poll_id)
    return poll if poll is not None and poll.community_id == community_id else None


def accepting(poll: ThemePoll, now: datetime) -> bool:
    return poll.status == PollStatus.OPEN and aware(poll.closes_at) > aware(now)


def options(session: Session, poll: ThemePoll) -> list[ThemeSuggestion]:
    """The themes of a poll, in their numbered order."""
    rows = session.exec(
        select(ThemeSuggestion).where(col(ThemeSuggestion.id).in_(list(poll.options)))
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in poll.options if i in by_id]


def vote_choices(poll: ThemePoll, themes: Sequence[ThemeSuggestion]) -> list[tuple[str, str]]:
    """(payload, label) of each option: her button or number votes for it."""
    return [(f"{VOTE_WORD} {poll.id} {s.id}", s.text) for s in themes]


def voters(session: Session, community_id: int) -> list[Member]:
    """Who is asked to vote: active members who have not opted out."""
    return list(
        session.exec(
            select(Member)
            .where(
                Member.community_id == community_id,
                Member.status == MemberStatus.ACTIVE,
                col(Member.opted_out).is_(False),
                col(Member.anonymised_at).is_(None),
            )
            .order_by(col(Member.id))
        )
    )


@dataclass(frozen=True, slots=True)
class Opened:
    poll: ThemePoll
    invited: int  # notices planned


def open_poll(
    session: Session,
    community_id: int,
    theme_ids: Sequence[int],
    *,
    now: datetime,
    days: int,
    by_member_id: int | None = None,
) -> Opened:
    """Open a vote on these themes (in this order) and plan every member's notice."""
    if current_poll(session, community_id) is not None:
        raise ThemeError("poll_open")
    ids = list(dict.fromkeys(theme_ids))
    if not ids:
        raise ThemeError("no_themes")
    if len(ids) > MAX_OPTIONS:
        raise ThemeError("too_many")
    known = {th.id for th in open_themes(session, community_id)}
    if not set(ids) <= known:
        raise ThemeError("bad_theme")
    poll = ThemePoll(
        community_id=community_id,
        options=ids,
        status=PollStatus.OPEN,
        created_by_member_id=by_member_id,
        created_at=now,
        closes_at=aware(now) + timedelta(days=days),
    )
    session.add(poll)
    session.flush()
    return Opened(poll, invite(session, poll))


def vote_notice(t: Translator, poll: ThemePoll) -> str:
    return t(
        "themes.vote_notice",
        closes=format_datetime(poll.closes_at, t.lang),
        count=len(poll.options),
    )


def invite(session: Session, poll: ThemePoll) -> int:
    """Every voter's notice, in her language (each once: the key names poll and member)."""
    themes = options(session, poll)
    choices = tuple(vote_choices(poll, themes))
    planned = []
    for member in voters(session, poll.community_id):
        t = Translator(member.language)
        planned.append(
            Planned(
                key=f"theme_poll:{poll.id}:member:{member.id}",
                text=vote_notice(t, poll),
                member_id=member.id,
                choices=choices,
            )
        )
    return enqueue_many(session, planned, kind=VOTE_KIND, community_id=poll.community_id)


def vote_of(session: Session, poll_id: int, member_id: int) -> ThemeVote | None:
    return session.exec(
        select(ThemeVote).where(ThemeVote.poll_id == poll_id, ThemeVote.member_id == member_id)
    ).first()


@dataclass(frozen=True, slots=True)
class Voted:
    poll: ThemePoll
    theme: ThemeSuggestion
    number: int  # its place in the poll, from 1
    previous: ThemeSuggestion | None  # her vote before this one

    @property
    def unchanged(self) -> bool:
        return self.previous is not None and self.previous.id == self.theme.id


def vote(
    session: Session, member: Member, poll: ThemePoll, suggestion_id: int, *, now: datetime
) -> Voted:
    """Record her vote (the latest counts) while the poll is open."""
    assert member.id is not None and poll.id is not None
    if not accepting(poll, now):
        raise ThemeError("closed")
    if suggestion_id not in poll.options:
        raise ThemeError("bad_option")
    theme = session.get(ThemeSuggestion, suggestion_id)
    assert theme is not None
    values = {
        "poll_id": poll.id,
        "member_id": member.id,
        "suggestion_id": suggestion_id,
        "voted_at": now,
    }
    previous: ThemeSuggestion | None = None
    if insert_ignore(session, ThemeVote, values) is None:  # she voted before: change it
        row = vote_of(session, poll.id, member.id)
        assert row is not None
        previous = session.get(ThemeSuggestion, row.suggestion_id)
        if row.suggestion_id != suggestion_id:
            row.suggestion_id = suggestion_id
            row.voted_at = now
            session.add(row)
            session.flush()
    return Voted(poll, theme, poll.options.index(suggestion_id) + 1, previous)


@dataclass(frozen=True, slots=True)
class Tally:
    poll: ThemePoll
    counts: tuple[tuple[ThemeSuggestion, int], ...]  # every option in its order, with votes

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def winners(self) -> list[ThemeSuggestion]:
        """The option(s) with the most votes; several on a tie; none without votes."""
        top = max((n for _, n in self.counts), default=0)
        return [s for s, n in self.counts if top and n == top]


def tally(session: Session, poll: ThemePoll) -> Tally:
    votes: dict[int, int] = {}
    for row in session.exec(select(ThemeVote).where(ThemeVote.poll_id == poll.id)):
        votes[row.suggestion_id] = votes.get(row.suggestion_id, 0) + 1
    return Tally(poll, tuple((s, votes.get(s.id or 0, 0)) for s in options(session, poll)))


def use_choices(t: Translator, result: Tally) -> list[tuple[str, str]]:
    return [
        (f"{USE_WORD} {result.poll.id} {s.id}", t("themes.use_choice", title=s.text))
        for s in result.winners
    ]


def result_text(t: Translator, result: Tally) -> str:
    lines = [t("themes.result_header", total=result.total)]
    for number, (theme, count) in enumerate(result.counts, start=1):
        lines.append(t("themes.result_line", number=number, title=theme.text, count=count))
    winners = result.winners
    lines.append("")
    if not winners:
        lines.append(t("themes.result_no_votes"))
    elif len(winners) == 1:
        lines.append(t("themes.result_winner", title=winners[0].text))
    else:
        titles = ", ".join(f'"{s.text}"' for s in winners)
        lines.append(t("themes.result_tie", titles=titles))
    return "\n".join(lines)


def close_poll(
    session: Session, poll: ThemePoll, *, now: datetime, by_member_id: int | None = None
) -> bool:
    """Close it (once: a second closer, or the job after a coordinator, changes nothing) and
    send the result to the coordinators; True when this call closed it. ``by_member_id``: the
    coordinator who closed it by hand, who reads the result in her chat instead."""
    closed = session.execute(
        update(ThemePoll)
        .where(col(ThemePoll.id) == poll.id, col(ThemePoll.status) == PollStatus.OPEN)
        .values(status=PollStatus.CLOSED, closed_at=now)
    )
    session.refresh(poll)
    if not closed.rowcount:  # type: ignore[attr-defined]
        return False
    send_result(session, poll, skip_member_id=by_member_id)
    return True


def send_result(session: Session, poll: ThemePoll, *, skip_member_id: int | None = None) -> int:
    """The counts to every coordinator and admin, in her language, each once."""
    result = tally(session, poll)
    sent = 0
    for person in staff(session, poll.community_id, (Role.COORDINATOR, Role.ADMIN)):
        if person.id == skip_member_id:
            continue
        t = Translator(person.language)
        if enqueue(
            session,
            key=f"theme_poll:{poll.id}:result:member:{person.id}",
            kind=RESULT_KIND,
            community_id=poll.community_id,
            member_id=person.id,
            text=result_text(t, result),
            choices=use_choices(t, result),
        ):
            sent += 1
    return sent


def close_due_polls(session: Session, *, now: datetime) -> int:
    """Close every open poll whose time is up (the notice job calls it); how many closed."""
    due = session.exec(
        select(ThemePoll)
        .where(ThemePoll.status == PollStatus.OPEN, col(ThemePoll.closes_at) <= now)
        .order_by(col(ThemePoll.id))
    ).all()
    return sum(1 for poll in due if close_poll(session, poll, now=now))


# --- using the winner ---


def use_theme(
    session: Session, meeting: Meeting, suggestion: ThemeSuggestion, *, now: datetime
) -> int:
    """The theme becomes the meeting's title; every suggestion of it is marked used (it is
    offered no more). Returns how many suggestions were marked."""
    if not is_open(meeting):
        raise ThemeError("not_open")
    meeting.title = suggestion.text[:TEXT_LIMIT]
    meeting.updated_at = now
    session.add(meeting)
    key = theme_key(suggestion.text)
    marked = 0
    rows = session.exec(
        select(ThemeSuggestion).where(
            ThemeSuggestion.community_id == suggestion.community_id,
            col(ThemeSuggestion.used_meeting_id).is_(None),
        )
    )
    for row in rows:
        if row.id == suggestion.id or theme_key(row.text) == key:
            row.used_meeting_id = meeting.id
            session.add(row)
            marked += 1
    session.flush()
    return marked
