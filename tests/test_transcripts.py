"""Conversation transcripts: every ``tests/transcripts/*.txt`` replayed against the real router.

The format is described in ``tests/transcripts/README.md``. Each transcript runs on SQLite and,
when TEST_DATABASE_URL is set, on PostgreSQL; the bot's lines must match exactly.

``WLCC_UPDATE_TRANSCRIPTS=1 pytest tests/test_transcripts.py`` rewrites the bot lines from what
the bot actually says (everything else in the file is kept), so a wording change is reviewed as a
diff of the transcripts.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import os
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, func, select

from bot.render import TELEGRAM_TEXT_LIMIT, WHATSAPP_TEXT_LIMIT, numbered_text, split_text
from handlers.router import Router
from storage.conversations import offer_choices
from storage.db import Database
from storage.identities import default_community
from storage.ledger import EntryAction, LedgerEntry, LedgerRefused, append_entry
from storage.loans import open_loan
from storage.meetings import MeetingError, MeetingKind, create_meeting
from storage.meetings_roles import plan_roles
from storage.member_import import COLUMNS, ImportFileError, apply_import, parse_members_csv
from storage.members import find_by_phone_and_name
from storage.models import Identity, Member, OutboxMessage
from wlcc.i18n import Translator, choices_hint
from wlcc.messages import Choice, Inbound, Location, Media, Outbound, SharedContact
from wlcc.settings import Settings

TRANSCRIPTS = Path(__file__).parent / "transcripts"
UPDATE = os.environ.get("WLCC_UPDATE_TRANSCRIPTS", "").strip() not in ("", "0")

# Monday 7 December 2026, 08.00 WIB: a fixed clock keeps dates in replies stable.
START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
# Time that passes between two messages when the transcript does not say otherwise.
STEP = timedelta(seconds=10)
DEFAULT_PHONE = "+6281234567890"
DEFAULT_TELEGRAM_ID = "7000001"
DEFAULT_NAME = "Siti"
WIB = ZoneInfo("Asia/Jakarta")
# The notice job's settings in transcripts: the defaults, whatever the environment says.
NOTICE_SETTINGS = Settings(_env_file=None)
CHANNELS = ("whatsapp", "telegram", "simulator")
SEPARATOR = "---"
# Directives that are steps: the bot lines under them are what they show.
STEP_DIRECTIVES = ("retry", "outbox")
# Flags after the four CSV columns of "@ member".
MEMBER_FLAGS = ("consented",)

# What [suara], [video] and [dokumen] send: (file extension, declared type).
_FILES = {
    "suara": ("ogg", "audio/ogg"),
    "video": ("mp4", "video/mp4"),
    "dokumen": ("pdf", "application/pdf"),
}
_SPECIAL = re.compile(
    r"^\[(lokasi|foto|suara|video|dokumen|kontak|tombol)(?:\s+([^\]]*))?\]\s*(.*)$"
)
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class TranscriptError(Exception):
    """The transcript file itself is malformed (or asks for something impossible)."""


# --- the file ---


@dataclass
class Step:
    """A message from the person (``>``), a re-delivery (``@ retry``) or a look at the proactive
    messages (``@ outbox``), with the bot's lines."""

    line_no: int
    source: str  # the line as written
    expected: list[str] = field(default_factory=list)  # the bot lines below it, as written


@dataclass
class Directive:
    line_no: int
    source: str
    name: str
    arg: str


Item = str | Step | Directive  # a str is a comment or blank line, kept as it is


def is_bot_line(line: str) -> bool:
    return line == "<" or line.startswith("< ") or line == SEPARATOR


def parse(text: str, name: str = "<transcript>") -> list[Item]:
    items: list[Item] = []
    open_step: Step | None = None  # the step whose bot lines may follow
    for line_no, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{line_no}"
        if is_bot_line(line):
            if open_step is None:
                raise TranscriptError(f"{where}: a bot line must follow a '>' line directly")
            open_step.expected.append(line)
            continue
        open_step = None
        if line.startswith(">"):
            open_step = Step(line_no, line)
            items.append(open_step)
        elif line.startswith("@"):
            name_, _, arg = line[1:].strip().partition(" ")
            if not name_:
                raise TranscriptError(f"{where}: empty directive")
            if name_ in STEP_DIRECTIVES:
                if arg.strip():
                    raise TranscriptError(f"{where}: @ {name_} takes nothing after it")
                open_step = Step(line_no, line)
                items.append(open_step)
            else:
                items.append(Directive(line_no, line, name_, arg.strip()))
        elif line.startswith("<"):
            raise TranscriptError(f"{where}: write bot lines as '< text' (or '<' when empty)")
        elif not line.strip() or line.startswith("#"):
            items.append(line)
        else:
            raise TranscriptError(f"{where}: unknown line {line!r}; lines start with #, @, > or <")
    return items


def bot_lines(messages: list[list[str]]) -> list[str]:
    """The file lines for what the bot sent in one turn: messages separated by '---'."""
    lines: list[str] = []
    for i, message in enumerate(messages):
        if i:
            lines.append(SEPARATOR)
        lines += [f"< {line}" if line else "<" for line in message]
    return lines


def render_file(items: list[Item], actual: dict[int, list[str]] | None = None) -> str:
    """The transcript text; with ``actual`` (line number -> bot lines) the bot lines replaced."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Directive):
            out.append(item.source)
        else:
            out.append(item.source)
            out += actual.get(item.line_no, []) if actual is not None else item.expected
    return "\n".join(out) + "\n"


# --- what the person reads ---


def render_replies(replies: list[Outbound], channel: str) -> list[list[str]]:
    """Each message the person receives, as lines, the way the channel shows it."""
    messages: list[list[str]] = []
    for reply in replies:
        if channel == "telegram":
            if reply.delete_message:  # the bot deleted her message (her PIN) first
                messages.append(["[pesan Anda dihapus]"])
            # Photos go first as messages of their own; choices are buttons under the last part.
            messages += [[f"[foto: {m.ref}]"] for m in reply.media]
            chunks = split_text(reply.text, TELEGRAM_TEXT_LIMIT) or [""]
            parts = [chunk.split("\n") for chunk in chunks]
            parts[-1] += [f"[{choice.label}]" for choice in reply.choices]
            if reply.request_contact:
                parts[-1].append(f"[{reply.request_contact}] (tombol kirim kontak)")
            messages += parts
        else:
            # WhatsApp: choices as a numbered list; media attached to the first part.
            chunks = split_text(numbered_text(reply), WHATSAPP_TEXT_LIMIT) or [""]
            parts = [chunk.split("\n") for chunk in chunks]
            parts[0] = [f"[foto: {m.ref}]" for m in reply.media] + parts[0]
            messages += parts
    return messages


# --- playing it ---


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(text)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Player:
    """One simulated world: a clock, the person speaking now, and the router."""

    def __init__(self, router: Router, name: str) -> None:
        self.router = router
        self.name = name
        self.now = START
        self.started = False
        self.channel = "whatsapp"
        self.phone = DEFAULT_PHONE
        self.telegram_id = DEFAULT_TELEGRAM_ID
        self.sender_name: str | None = DEFAULT_NAME
        self.counter = 0
        self.last: Inbound | None = None
        # speaker -> label -> payload of every button shown so far (old ones stay pressable)
        self.buttons: dict[str, dict[str, str]] = {}
        self.outbox_seen = 0  # the last outbox row "@ outbox" has shown

    # the person speaking now
    @property
    def address(self) -> str:
        return self.telegram_id if self.channel == "telegram" else self.phone

    @property
    def speaker(self) -> str:
        return f"{self.channel}:{self.address}"

    def directive(self, d: Directive) -> None:
        where = f"{self.name}:{d.line_no}"
        if d.name == "phone":
            if not re.fullmatch(r"\+\d{8,15}", d.arg):
                raise TranscriptError(f"{where}: @ phone wants an E.164 number like +6281234567890")
            self.phone = d.arg
        elif d.name == "telegram-id":
            if not d.arg.isdigit():
                raise TranscriptError(f"{where}: @ telegram-id wants a number")
            self.telegram_id = d.arg
        elif d.name == "channel":
            if d.arg not in CHANNELS:
                raise TranscriptError(f"{where}: @ channel is one of {', '.join(CHANNELS)}")
            self.channel = d.arg
        elif d.name == "name":
            self.sender_name = d.arg or None
        elif d.name == "wait":
            try:
                self.now += parse_duration(d.arg)
            except ValueError:
                raise TranscriptError(f"{where}: @ wait wants e.g. 45s, 31m, 2h or 3d") from None
            self.started = False  # the next message comes exactly this long after the last
        elif d.name == "clock":
            try:
                moment = datetime.fromisoformat(d.arg)
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise TranscriptError(f"{where}: @ clock wants e.g. 2026-12-12T09:00+07:00")
            self.now = moment.astimezone(UTC)
            self.started = False
        elif d.name == "member":
            self.add_member(d.arg, where)
        elif d.name == "meeting":
            self.add_meeting(d.arg, where)
        elif d.name == "entry":
            self.add_entry(d.arg, where)
        elif d.name == "loan":
            self.add_loan(d.arg, where)
        elif d.name == "notices":
            self.plan_notices(where)
        elif d.name == "roles":  # the notice job's step for roles alone (storage.meetings_roles)
            with self.router.db.transaction() as session:
                plan_roles(session, now=self.now, settings=NOTICE_SETTINGS)
        else:
            raise TranscriptError(f"{where}: unknown directive @ {d.name}")

    def add_member(self, arg: str, where: str) -> None:
        """``@ member Name, phone, kelurahan, role[, consented]``: one CSV row, imported the way
        ``wlcc members import`` imports it (again: nothing changes)."""
        usage = f"{where}: write @ member Siti Aminah, +6281234567890, 23 Ilir, member[, consented]"
        fields = [cell.strip() for cell in next(csv.reader([arg]), [])]
        flags: set[str] = set()
        while len(fields) > len(COLUMNS) and fields[-1].lower() in MEMBER_FLAGS:
            flags.add(fields.pop().lower())
        if len(fields) != len(COLUMNS):
            raise TranscriptError(usage)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([COLUMNS, fields])
        try:
            plan = parse_members_csv(out.getvalue().encode("utf-8"))
        except ImportFileError as exc:
            raise TranscriptError(f"{usage} ({exc})") from None
        if plan.errors:
            raise TranscriptError(f"{where}: {plan.errors[0].message}")
        (row,) = plan.rows
        with self.router.db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            apply_import(session, community.id, plan.rows)
            member = find_by_phone_and_name(session, community.id, row.phone, row.name)
            assert member is not None
            if "consented" in flags and member.consent_at is None:
                # She already agreed to the privacy notice (e.g. on paper at a meeting).
                member.consent_at = member.consent_asked_at = self.now
                session.add(member)

    def add_entry(self, arg: str, where: str) -> None:
        """``@ entry +6281234567890, Siti Aminah, wajib, 50000[, deposit][, 2026-12-01]``: one
        ledger entry of hers, as the treasurer records it (signed whole rupiah; the action
        defaults to deposit, the day to the transcript's); ``@ entry phone, name, wajib,
        koreksi`` reverses her latest entry of that kind."""
        usage = (
            f"{where}: write @ entry +6281234567890, Siti Aminah, wajib, 50000"
            "[, deposit|withdrawal|loan|repayment][, 2026-12-01] (or koreksi for the amount)"
        )
        cells = [cell.strip() for cell in next(csv.reader([arg]), [])]
        if len(cells) < 4:
            raise TranscriptError(usage)
        phone, name, kind, amount = cells[:4]
        action = cells[4] if len(cells) > 4 else EntryAction.DEPOSIT
        day = date.fromisoformat(cells[5]) if len(cells) > 5 else self.now.astimezone(WIB).date()
        with self.router.db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            member = find_by_phone_and_name(session, community.id, phone, name)
            if member is None or member.id is None:
                raise TranscriptError(f"{where}: no member {name} with phone {phone}")
            reverses = None
            if amount == "koreksi":
                reverses = session.exec(
                    select(LedgerEntry)
                    .where(LedgerEntry.member_id == member.id, LedgerEntry.kind == kind)
                    .order_by(col(LedgerEntry.id).desc())
                ).first()
                if reverses is None:
                    raise TranscriptError(f"{where}: {name} has no {kind} entry to reverse")
                action, value = EntryAction.REVERSAL, -reverses.amount
            elif re.fullmatch(r"-?\d+", amount):
                value = int(amount)
            else:
                raise TranscriptError(usage)
            append_entry(
                session,
                community_id=community.id,
                member_id=member.id,
                kind=kind,
                action=action,
                amount=value,
                channel="cli",
                occurred_on=day,
                reverses_id=None if reverses is None else reverses.id,
                now=self.now,
            )

    def add_loan(self, arg: str, where: str) -> None:
        """``@ loan +6281234567890, Siti Aminah, 1000000, 1.5, 10, 2026-10-05``: a loan the
        treasurer opened for her (principal in rupiah, interest in % a month, months, the day
        it was paid out), with its schedule; its receipt is not shown by ``@ outbox``."""
        usage = f"{where}: write @ loan +6281234567890, Siti Aminah, 1000000, 1.5, 10, 2026-10-05"
        cells = [cell.strip() for cell in next(csv.reader([arg]), [])]
        if len(cells) != 6:
            raise TranscriptError(usage)
        phone, name, principal, rate, months, start = cells
        with self.router.db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            member = find_by_phone_and_name(session, community.id, phone, name)
            if member is None or member.id is None:
                raise TranscriptError(f"{where}: no member {name} with phone {phone}")
            try:
                open_loan(
                    session,
                    community_id=community.id,
                    member_id=member.id,
                    principal=int(principal),
                    rate=rate,
                    months=int(months),
                    start=date.fromisoformat(start),
                    channel="cli",
                    now=self.now,
                    settings=NOTICE_SETTINGS,
                )
            except (ValueError, LedgerRefused) as exc:
                raise TranscriptError(f"{usage} ({exc})") from None
            session.flush()
            self.outbox_seen = max(
                self.outbox_seen,
                session.exec(select(func.max(OutboxMessage.id))).one() or 0,
            )

    def add_meeting(self, arg: str, where: str) -> None:
        """``@ meeting Title, 2026-12-12 09:00[, 12:00[, Place]][, kind=pelatihan][, seats=2]
        [, kelurahan=23 Ilir][, code=MAWAR7]``: a meeting the coordinators planned (times in
        WIB; ``code``: its code word of the day, otherwise a random one)."""
        usage = (
            f"{where}: write @ meeting Title, 2026-12-12 09:00, 12:00, Place"
            " (then kind=, seats=, kelurahan=, code= if needed)"
        )
        cells = [cell.strip() for cell in next(csv.reader([arg]), [])]
        options = dict(c.split("=", 1) for c in cells if "=" in c)
        fields = [c for c in cells if "=" not in c]
        if len(fields) < 2 or not set(options) <= {"kind", "seats", "kelurahan", "code"}:
            raise TranscriptError(usage)
        try:
            start = datetime.fromisoformat(fields[1]).replace(tzinfo=WIB)
            end = None
            if len(fields) > 2 and fields[2]:
                end = datetime.combine(start.date(), time.fromisoformat(fields[2]), WIB)
        except ValueError:
            raise TranscriptError(usage) from None
        with self.router.db.transaction() as session:
            community = default_community(session)
            assert community.id is not None
            try:
                meeting = create_meeting(
                    session,
                    community_id=community.id,
                    title=fields[0],
                    starts_at=start,
                    ends_at=end,
                    place=fields[3] if len(fields) > 3 else None,
                    kind=options.get("kind", MeetingKind.MEETING),
                    seats=int(options["seats"]) if "seats" in options else None,
                    kelurahan=[options["kelurahan"]] if "kelurahan" in options else [],
                    now=self.now,
                )
            except MeetingError as exc:
                raise TranscriptError(f"{where}: the meeting was refused ({exc.code})") from None
            if "code" in options:
                meeting.checkin_code = options["code"]
                session.add(meeting)

    def plan_notices(self, where: str) -> None:
        """``@ notices``: the scheduler's notice job runs once at the transcript's clock (what
        it plans shows under the next ``@ outbox``)."""
        from storage.meetings_notices import plan_all

        with self.router.db.transaction() as session:
            plan_all(session, now=self.now, settings=NOTICE_SETTINGS)

    def _tick(self) -> datetime:
        if self.started:
            self.now += STEP
        self.started = True
        return self.now

    def inbound(self, text: str, where: str) -> Inbound:
        self.counter += 1
        received_at = self._tick()
        platform_id = {
            "telegram": str(100000 + self.counter),
            "whatsapp": f"SM{self.counter:032x}",
            "simulator": f"sim-{self.counter}",
        }[self.channel]
        payload: str | None = None
        contact: SharedContact | None = None
        location: Location | None = None
        media: tuple[Media, ...] = ()
        special = _SPECIAL.match(text)
        if special:
            kind, arg, text = special.group(1), (special.group(2) or "").strip(), special.group(3)
            if kind == "lokasi":
                try:
                    lat, lon = (float(x) for x in arg.split())
                except ValueError:
                    raise TranscriptError(f"{where}: write [lokasi -2.9761 104.7754]") from None
                location = Location(lat, lon)
            elif kind == "foto":
                ref = (
                    f"photo-file-{self.counter}"
                    if self.channel == "telegram"
                    else f"https://media.example.test/photo-{self.counter}.jpg"
                )
                media = (Media(ref, "image/jpeg"),)
            elif kind in _FILES:  # a voice note, a video or a document (a PDF)
                extension, content_type = _FILES[kind]
                ref = (
                    f"{kind}-file-{self.counter}"
                    if self.channel == "telegram"
                    else f"https://media.example.test/{kind}-{self.counter}.{extension}"
                )
                media = (Media(ref, content_type),)
            elif kind == "kontak":
                phone, _, whose = arg.partition(" ")
                own = whose.strip() != "orang lain"
                user_id = int(self.telegram_id) if self.channel == "telegram" else None
                if user_id is not None and not own:
                    user_id += 1
                contact = SharedContact(phone=phone, first_name=self.sender_name, user_id=user_id)
            else:  # tombol: press the button (or WhatsApp quick reply) with this label
                buttons = self.buttons.get(self.speaker, {})
                if arg not in buttons:
                    labels = ", ".join(buttons) or "none"
                    raise TranscriptError(f"{where}: no button {arg!r} was shown (shown: {labels})")
                payload = buttons[arg]
        return Inbound(
            channel=self.channel,
            address=self.address,
            sender_id=self.address,
            platform_id=platform_id,
            received_at=received_at,
            text=text,
            payload=payload,
            contact=contact,
            location=location,
            media=media,
            sender_name=self.sender_name,
            phone=None if self.channel == "telegram" else self.phone,
            message_id=str(self.counter) if self.channel == "telegram" else None,
        )

    def outbox(self) -> list[str]:
        """The proactive messages planned since the last ``@ outbox``, to whom, as numbered
        lists (the way WhatsApp shows them)."""
        messages: list[list[str]] = []
        with self.router.db.transaction() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id) > self.outbox_seen)
                .order_by(col(OutboxMessage.id))
            ).all()
            for row in rows:
                assert row.id is not None
                self.outbox_seen = row.id
                recipient, language = _recipient(session, row)
                choices = tuple(Choice(payload, label) for payload, label in row.choices)
                # As the sender words it (bot/sender._outbound): a reply keeps its own hint.
                hint = (row.render or {}).get("hint")
                if hint is None and choices:
                    hint = choices_hint(Translator(language), len(choices))
                text = numbered_text(Outbound(row.text, choices, hint=hint))
                member = session.get(Member, row.member_id) if row.member_id else None
                if row.choices and member is not None and member.phone:
                    # Delivered to her phone: a number she types now answers its choices.
                    chat = Identity(
                        community_id=row.community_id,
                        channel="whatsapp",
                        address=member.phone,
                        phone=member.phone,
                    )
                    offer_choices(session, chat, row.choices, self.now)
                elif row.choices and row.identity_id is not None:
                    # To one chat (a resident who reported a problem): the same, on that chat.
                    identity = session.get(Identity, row.identity_id)
                    if identity is not None:
                        offer_choices(session, identity, row.choices, self.now)
                messages.append(
                    [f"[pesan untuk {recipient}]"]
                    + [f"[foto: {ref}]" for ref in row.media]
                    + text.split("\n")
                )
        return bot_lines(messages)

    def step(self, step: Step) -> list[str]:
        where = f"{self.name}:{step.line_no}"
        if step.source.startswith("@") and step.source[1:].strip() == "outbox":
            return self.outbox()
        if step.source.startswith("@"):
            if self.last is None:
                raise TranscriptError(f"{where}: @ retry needs an earlier message")
            # The platform delivers the same message again (same id), a little later.
            retried = dataclasses.replace(self.last, received_at=self._tick())
            replies = self.router.handle(retried)
            if replies is not None:
                raise AssertionError(f"{where}: a re-delivered message was processed again")
            return []
        text = step.source[1:].removeprefix(" ")
        inbound = self.inbound(text, where)
        self.last = inbound
        replies = self.router.handle(inbound)
        if replies is None:
            raise AssertionError(f"{where}: a new message was taken for a platform retry")
        buttons = self.buttons.setdefault(self.speaker, {})
        for reply in replies:
            buttons.update((choice.label, choice.payload) for choice in reply.choices)
        return bot_lines(render_replies(replies, inbound.channel))


def _recipient(session: Session, row: OutboxMessage) -> tuple[str, str | None]:
    """Whom an outbox row is for, as the transcript names them, and their language."""
    if row.member_id is not None:
        member = session.get(Member, row.member_id)
        if member is not None:
            return member.name, member.language
    if row.identity_id is not None:
        identity = session.get(Identity, row.identity_id)
        if identity is not None:
            channel = {"whatsapp": "WhatsApp", "telegram": "Telegram"}.get(
                identity.channel, identity.channel
            )
            return f"{channel} {identity.address}", identity.language
    return "?", None


def play(items: list[Item], router: Router, name: str) -> str:
    """Run the transcript and return it with the bot lines the bot actually said."""
    player = Player(router, name)
    actual: dict[int, list[str]] = {}
    for item in items:
        if isinstance(item, Directive):
            player.directive(item)
        elif isinstance(item, Step):
            actual[item.line_no] = player.step(item)
    return render_file(items, actual)


def run_transcript(source: str, db: Database, name: str) -> str:
    # Ticket codes come from ``secrets``; here from a draw seeded by the file's name, so that a
    # transcript shows the same codes at every run.
    with mock.patch("storage.complaints._pick", random.Random(name).choice):
        return play(parse(source, name), Router(db), name)


# --- the tests ---

FILES = sorted(TRANSCRIPTS.glob("*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(path: Path, db: Database) -> None:
    source = path.read_text(encoding="utf-8")
    actual = run_transcript(source, db, path.name)
    if actual == source:
        return
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    diff = "".join(
        difflib.unified_diff(
            source.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{path.name} (transcript)",
            tofile=f"{path.name} (bot on {db.dialect})",
        )
    )
    pytest.fail(
        f"The bot's replies differ from {path.relative_to(TRANSCRIPTS.parent.parent)}:\n\n{diff}\n"
        "If the change is intended, update the transcripts and review the diff:\n"
        "    WLCC_UPDATE_TRANSCRIPTS=1 pytest tests/test_transcripts.py",
        pytrace=False,
    )


def test_transcripts_exist() -> None:
    assert FILES, f"no transcripts in {TRANSCRIPTS}"


# --- the runner itself ---


def test_parse_keeps_the_file_as_written() -> None:
    text = (
        "# Judul\n"
        "@ phone +6281111111111\n"
        "\n"
        "> halo\n"
        "< satu\n"
        "<\n"
        "< dua\n"
        "---\n"
        "< tiga\n"
        "@ retry\n"
        "@ wait 31m\n"
        "> [lokasi -2.97 104.76]\n"
    )
    items = parse(text)
    assert render_file(items) == text
    steps = [i for i in items if isinstance(i, Step)]
    assert [s.expected for s in steps] == [["< satu", "<", "< dua", "---", "< tiga"], [], []]
    directives = [(d.name, d.arg) for d in items if isinstance(d, Directive)]
    assert directives == [("phone", "+6281111111111"), ("wait", "31m")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("< halo\n", "must follow a '>' line"),
        ("> halo\n\n< menu\n", "must follow a '>' line"),
        ("> halo\n# catatan\n< menu\n", "must follow a '>' line"),
        ("halo\n", "unknown line"),
        ("> halo\n<menu\n", "write bot lines as '< text'"),
        ("@\n", "empty directive"),
    ],
)
def test_parse_rejects_malformed_lines(text: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=re.escape(message)):
        parse(text, "x.txt")


def test_bot_lines_separate_messages() -> None:
    assert bot_lines([["a", "", "b"], ["c"]]) == ["< a", "<", "< b", "---", "< c"]


def test_render_replies_per_channel() -> None:
    reply = Outbound(
        "Pilih:", (Choice("a", "Satu"), Choice("b", "Dua")), hint="Balas dengan angka."
    )
    assert render_replies([reply], "whatsapp") == [
        ["Pilih:", "", "1. Satu", "2. Dua", "", "Balas dengan angka."]
    ]
    assert render_replies([reply], "telegram") == [["Pilih:", "[Satu]", "[Dua]"]]
    contact = Outbound("Kirim nomor Anda.", request_contact="Kirim nomor saya")
    assert render_replies([contact], "telegram") == [
        ["Kirim nomor Anda.", "[Kirim nomor saya] (tombol kirim kontak)"]
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("45s", timedelta(seconds=45)),
        ("31m", timedelta(minutes=31)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_bot_line_is_a_difference(db: Database) -> None:
    source = "> menu\n< Ini bukan menunya.\n"
    actual = run_transcript(source, db, "x.txt")
    assert actual != source
    assert actual.startswith("> menu\n< Menu utama.")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_directive_is_an_error(db: Database) -> None:
    with pytest.raises(TranscriptError, match="unknown directive"):
        run_transcript("@ tunggu 5m\n> halo\n", db, "x.txt")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pressing_a_button_that_is_not_shown_is_an_error(db: Database) -> None:
    with pytest.raises(TranscriptError, match="no button 'English' was shown"):
        run_transcript("> [tombol English]\n", db, "x.txt")


def test_parse_outbox_is_a_step_with_bot_lines() -> None:
    items = parse("> daftar\n@ outbox\n< [pesan untuk Rina]\n< Halo\n")
    steps = [i for i in items if isinstance(i, Step)]
    assert [(s.source, s.expected) for s in steps] == [
        ("> daftar", []),
        ("@ outbox", ["< [pesan untuk Rina]", "< Halo"]),
    ]
    with pytest.raises(TranscriptError, match="takes nothing after it"):
        parse("@ outbox Rina\n", "x.txt")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_member_directive_imports_once(db: Database) -> None:
    row = "@ member Siti Aminah, 0812-3456-7890, 24 Ilir, anggota, consented\n"
    run_transcript(row + row + "@ member Ani, +6281234567890, , member\n", db, "x.txt")
    with db.transaction() as session:
        members = session.exec(select(Member).order_by(col(Member.id))).all()
        assert [(m.name, m.phone, m.kelurahan, m.role) for m in members] == [
            ("Siti Aminah", "+6281234567890", "24 Ilir", "member"),
            ("Ani", "+6281234567890", None, "member"),
        ]
        assert members[0].consent_at is not None
        assert members[1].consent_at is None  # asked on her first message


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "line, message",
    [
        ("@ member Siti Aminah, +6281234567890, 24 Ilir", "write @ member"),
        ("@ member Siti, +6281234567890, 24 Ilir, member, setuju", "write @ member"),
        ("@ member Siti, 12345, 24 Ilir, member", "not a valid phone number"),
        ("@ member Siti, +6281234567890, 24 Ilir, ketua", "unknown role"),
        ("@ member 🌸, +6281234567890, 24 Ilir, member", "name has no letters"),
    ],
)
def test_member_directive_rejects_bad_rows(db: Database, line: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        run_transcript(line + "\n", db, "x.txt")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_outbox_shows_each_planned_message_once(db: Database) -> None:
    source = (
        "@ member Rina Wulandari, +6281200000002, 23 Ilir, coordinator, consented\n"
        "@ outbox\n"
        "> daftar\n> Ani Lestari\n> 2\n> 1\n"
        "@ outbox\n"
        "@ outbox\n"
    )
    actual = run_transcript(source, db, "x.txt")
    shown = actual.split("> 1\n", 1)[1]
    assert shown.startswith("< Terima kasih, Bu Ani!")
    first, second = shown.split("@ outbox\n")[1:]
    assert first.startswith("< [pesan untuk Rina Wulandari]\n< Pendaftar baru: Ani Lestari")
    choices = "< 1. Setujui Ani Lestari\n< 2. Tolak Ani Lestari\n<\n"
    choices += "< Balas dengan angka 1 atau 2.\n"
    assert choices in first
    assert second == ""
