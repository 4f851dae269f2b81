"""Announcements from the console: what UMUMKAN does in the chat (conversations/broadcast.py).

Write the text (and, if wanted, attach one photo), pick the audience among the chat's choices
(everyone, one kelurahan, one role, one answer to the next meeting), see how many will get it and
the message exactly as they will, then send. Sending is storage/broadcasts.py's
``create_broadcast``: one outbox row per member, so the sender's rules (opt-out, rates, the
WhatsApp window) apply to each message, and the author gets the chat's progress and summary.

The preview carries a one-time token; the broadcast keeps it (``author_label``
``console:<token>``), so a second click on "Kirim" (or a form posted again) opens the broadcast
made by the first instead of sending it twice. ``/console/broadcasts/{id}`` shows its progress
from the outbox, refreshing itself every few seconds while messages wait, with a stop button
(UMUMKAN HENTIKAN) while it is being sent.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Table, func
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from bot.deps import DatabaseDep
from bot.media import PHOTO_KINDS, sniff
from console.menu import menu_for
from console.security import (
    ConsoleError,
    Form,
    Require,
    Staff,
    audit,
    field,
    page_number,
    pages_for,
)
from console.templating import render
from storage.broadcasts import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    Audience,
    broadcast_counts,
    content_problem,
    count_audience,
    create_broadcast,
    kelurahan_options,
    role_options,
    stop_broadcast,
    text_length,
)
from storage.db import Database
from storage.media import create_media, store_media
from storage.meetings import (
    NO_ANSWER,
    Answer,
    get_meeting,
    headcount,
    next_meeting,
    rsvp_audience_value,
)
from storage.models import (
    Broadcast,
    BroadcastStatus,
    MediaFile,
    Member,
    OutboxMessage,
    OutboxStatus,
)
from storage.outbox import Reason
from wlcc.formatting import utcnow
from wlcc.i18n import Translator

router = APIRouter()

ACTION = "broadcast.send"
STOP_ACTION = "broadcast.stop"  # audited as the chat and the CLI do
SendStaff = Annotated[Staff, Depends(Require(ACTION))]
SendForm = Annotated[tuple[Staff, FormData], Depends(Form(ACTION))]

PER_PAGE = 20
FAILURES_SHOWN = 100
REFRESH_SECONDS = 5
SOURCE = "console"  # the media rows of photos uploaded here (their bytes are stored at once)
LABEL_PREFIX = "console:"  # author_label of a broadcast sent here: "console:<token>"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_ID = 2**31 - 1  # larger ids cannot exist (and PostgreSQL would refuse to compare them)


# --- the audience choices (the chat's, with the same storage functions) ---


@dataclass(frozen=True)
class Option:
    """One audience to choose: its form value ("kind|value"), its words and its size."""

    value: str
    label: str
    count: int


def _encode(audience: Audience) -> str:
    return f"{audience.kind}|{audience.value or ''}"


def _decode(raw: str) -> Audience:
    kind, _, value = raw.partition("|")
    return Audience(kind or "all", value or None)


def audience_label(session: Session, community_id: int, t: Translator, audience: Audience) -> str:
    """The audience in words, as the chat's confirmation says it."""
    if audience.kind == "kelurahan":
        return t("broadcast.audience_kelurahan", name=audience.value or "-")
    if audience.kind == "role":
        return t("broadcast.audience_role", role=t(f"broadcast.role.{audience.value}"))
    if audience.kind == "rsvp":
        meeting_id, _, rest = (audience.value or "").partition(":")
        meeting = (
            get_meeting(session, community_id, int(meeting_id)) if meeting_id.isdigit() else None
        )
        answer = rest.partition(":")[0]
        if answer not in (*Answer.ALL, NO_ANSWER):
            return t("broadcast.audience_all")
        return t(f"broadcast.audience_rsvp.{answer}", title=meeting.title if meeting else "-")
    return t("broadcast.audience_all")


def audience_options(session: Session, staff: Staff) -> list[tuple[str, list[Option]]]:
    """The chat's audiences, grouped as it asks them: (group heading key, options)."""
    t, community = staff.t, staff.community_id
    everyone = count_audience(session, community, Audience("all"))
    groups: list[tuple[str, list[Option]]] = [
        (
            "console.broadcasts.group_all",
            [Option(_encode(Audience("all")), t("console.broadcasts.everyone"), everyone.total)],
        )
    ]
    places = [
        Option(_encode(Audience("kelurahan", name)), name, n)
        for name, n in kelurahan_options(session, community)
    ]
    if places:
        groups.append(("console.broadcasts.group_kelurahan", places))
    roles = [
        Option(_encode(Audience("role", role)), t(f"broadcast.role.{role}"), n)
        for role, n in role_options(session, community)
    ]
    if roles:
        groups.append(("console.broadcasts.group_role", roles))
    meeting = next_meeting(session, community, utcnow())
    if meeting is not None:
        count = headcount(session, meeting)
        given = {Answer.YES: count.yes, Answer.MAYBE: count.maybe, Answer.NO: count.no}
        given[NO_ANSWER] = count.none
        answers = [
            Option(
                _encode(Audience("rsvp", rsvp_audience_value(meeting, answer))),
                t(f"broadcast.audience_rsvp.{answer}", title=meeting.title),
                n,
            )
            for answer, n in given.items()
            if n
        ]
        if answers:
            groups.append(("console.broadcasts.group_rsvp", answers))
    return groups


# --- the draft: what the compose form and the preview carry ---


@dataclass
class Draft:
    text: str = ""
    audience: str = _encode(Audience("all"))
    media_id: int | None = None
    media_token: str | None = None


def _draft(form: FormData) -> Draft:
    raw_media = field(form, "media_id", 12)
    return Draft(
        text=field(form, "text", TEXT_LIMIT * 8).replace("\r\n", "\n"),
        audience=field(form, "audience", 400) or _encode(Audience("all")),
        media_id=int(raw_media) if raw_media.isdigit() and int(raw_media) <= MAX_ID else None,
    )


def _own_photo(session: Session, staff: Staff, media_id: int | None) -> MediaFile | None:
    """A photo uploaded at this console for this community (any other id is ignored)."""
    if media_id is None:
        return None
    media = session.get(MediaFile, media_id)
    if (
        media is None
        or media.community_id != staff.community_id
        or media.source_channel != SOURCE
        or media.data is None
    ):
        return None
    return media


def _compose_page(
    request: Request,
    db: Database,
    staff: Staff,
    draft: Draft,
    *,
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with db.transaction() as session:
        groups = audience_options(session, staff)
        photo = _own_photo(session, staff, draft.media_id)
    draft.media_id = photo.id if photo is not None else None
    draft.media_token = photo.token if photo is not None else None
    return render(
        request,
        "broadcasts/compose.html",
        staff.t,
        status_code=status_code,
        sections=menu_for(staff),
        draft=draft,
        groups=groups,
        error=error,
        error_params=error_params or {},
        text_limit=TEXT_LIMIT,
        caption_limit=CAPTION_LIMIT,
    )


class DraftProblem(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _check(session: Session, staff: Staff, draft: Draft) -> tuple[Audience, int, int]:
    """The draft's audience and its (reachable, opted-out) counts; DraftProblem when the text or
    the audience cannot go out, as the chat refuses them."""
    photo = _own_photo(session, staff, draft.media_id)
    problem = content_problem(draft.text, photo is not None)
    if problem is not None:
        code, limit = problem
        if code == "empty":
            raise DraftProblem("console.broadcasts.error_empty")
        raise DraftProblem(
            "console.broadcasts.error_too_long", length=text_length(draft.text), limit=limit
        )
    audience = _decode(draft.audience)
    offered = {o.value for _, options in audience_options(session, staff) for o in options}
    if draft.audience not in offered:
        raise DraftProblem("console.broadcasts.error_audience")
    count = count_audience(session, staff.community_id, audience)
    if count.reachable == 0:
        raise DraftProblem("console.broadcasts.error_nobody")
    return audience, count.reachable, count.opted_out


async def _upload(db: Database, staff: Staff, form: FormData, draft: Draft) -> None:
    """A photo posted with the form: checked by its content, kept (bytes and all) as a media
    row of this community, and put in the draft in place of an earlier one."""
    if form.get("remove_photo") == "1":
        draft.media_id = None
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return
    data = await upload.read()
    if not data:
        return
    kind = sniff(data)
    if kind not in PHOTO_KINDS:
        raise DraftProblem("console.broadcasts.error_photo")
    digest = hashlib.sha256(data).hexdigest()
    now = utcnow()
    with db.transaction() as session:
        media = create_media(
            session,
            community_id=staff.community_id,
            source_channel=SOURCE,
            source_ref=f"{SOURCE}:{digest}",
            content_type=kind,
            now=now,
        )
        assert media.id is not None
        store_media(session, media.id, data, kind, now)
        draft.media_id = media.id


# --- pages ---


@router.get("/console/broadcasts", response_class=HTMLResponse)
def broadcast_list(
    request: Request, staff: SendStaff, db: DatabaseDep, page: str | None = None
) -> HTMLResponse:
    with db.transaction() as session:
        total = session.exec(
            select(func.count())
            .select_from(Broadcast)
            .where(Broadcast.community_id == staff.community_id)
        ).one()
        pages = pages_for(int(total), PER_PAGE)
        number = page_number(page, pages)
        rows = list(
            session.exec(
                select(Broadcast)
                .where(Broadcast.community_id == staff.community_id)
                .order_by(col(Broadcast.id).desc())
                .offset((number - 1) * PER_PAGE)
                .limit(PER_PAGE)
            )
        )
        items = [
            {
                "broadcast": row,
                "audience": audience_label(
                    session, staff.community_id, staff.t, Audience.from_json(row.audience)
                ),
                "excerpt": row.text if len(row.text) <= 80 else row.text[:79] + "…",
            }
            for row in rows
        ]
    return render(
        request,
        "broadcasts/list.html",
        staff.t,
        sections=menu_for(staff),
        items=items,
        page=number,
        pages=pages,
    )


@router.get("/console/broadcasts/new", response_class=HTMLResponse)
def compose(request: Request, staff: SendStaff, db: DatabaseDep) -> HTMLResponse:
    return _compose_page(request, db, staff, Draft())


@router.post("/console/broadcasts/new", response_class=HTMLResponse)
def compose_again(request: Request, posted: SendForm, db: DatabaseDep) -> HTMLResponse:
    """Back from the preview to the form, with what was written."""
    staff, form = posted
    return _compose_page(request, db, staff, _draft(form))


@router.post("/console/broadcasts/preview", response_class=HTMLResponse)
async def preview(request: Request, posted: SendForm, db: DatabaseDep) -> HTMLResponse:
    staff, form = posted
    draft = _draft(form)
    try:
        await _upload(db, staff, form, draft)
        with db.transaction() as session:
            audience, reachable, opted_out = _check(session, staff, draft)
            label = audience_label(session, staff.community_id, staff.t, audience)
            photo = _own_photo(session, staff, draft.media_id)
    except DraftProblem as problem:
        return _compose_page(
            request,
            db,
            staff,
            draft,
            error=problem.key,
            error_params=problem.params,
            status_code=422,
        )
    draft.media_token = photo.token if photo is not None else None
    return render(
        request,
        "broadcasts/preview.html",
        staff.t,
        sections=menu_for(staff),
        draft=draft,
        audience_label=label,
        reachable=reachable,
        opted_out=opted_out,
        token=secrets.token_urlsafe(18),
    )


def _sent_with(session: Session, community_id: int, token: str) -> Broadcast | None:
    return session.exec(
        select(Broadcast).where(
            Broadcast.community_id == community_id,
            Broadcast.author_label == f"{LABEL_PREFIX}{token}",
        )
    ).first()


@router.post("/console/broadcasts/send")
def send(request: Request, posted: SendForm, db: DatabaseDep) -> Response:
    staff, form = posted
    token = field(form, "token", 64)
    if not TOKEN.match(token):
        raise ConsoleError(422, "console.broadcasts.error_token")
    draft = _draft(form)
    created: Broadcast | None = None
    audience: Audience | None = None
    try:
        # One confirmation at a time per token: a double click waits for the first, then finds
        # the broadcast it made.
        with db.transaction(lock_key=f"console-broadcast:{token}") as session:
            earlier = _sent_with(session, staff.community_id, token)
            if earlier is not None:
                return RedirectResponse(f"/console/broadcasts/{earlier.id}", status_code=303)
            audience, _, _ = _check(session, staff, draft)
            photo = _own_photo(session, staff, draft.media_id)
            created = create_broadcast(
                session,
                community_id=staff.community_id,
                text=draft.text,
                audience=audience,
                now=utcnow(),
                author_member_id=staff.member_id,
                author_label=f"{LABEL_PREFIX}{token}",
                media_id=photo.id if photo is not None else None,
            )
    except DraftProblem as problem:
        return _compose_page(
            request,
            db,
            staff,
            draft,
            error=problem.key,
            error_params=problem.params,
            status_code=422,
        )
    assert created is not None and created.id is not None and audience is not None
    audit(
        db,
        staff,
        ACTION,
        target=f"broadcast:{created.id}",
        detail={"recipients": created.total, "audience": audience.as_json()},
    )
    return RedirectResponse(f"/console/broadcasts/{created.id}", status_code=303)


def _find(session: Session, staff: Staff, broadcast_id: int) -> Broadcast:
    found = session.get(Broadcast, broadcast_id) if 0 < broadcast_id <= MAX_ID else None
    if found is None or found.community_id != staff.community_id:
        raise ConsoleError(404, "console.broadcasts.not_found")
    return found


def _author(member: Member | None, broadcast: Broadcast) -> str:
    if member is not None:
        return member.name
    label = broadcast.author_label or ""
    return label if label and not label.startswith(LABEL_PREFIX) else "-"


def _failures(session: Session, broadcast_id: int) -> list[dict[str, Any]]:
    """The first messages that failed or were skipped: to whom, and why in plain words."""
    table: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(table.c.status, table.c.reason, Member.name)
        .select_from(table)
        .outerjoin(Member, col(Member.id) == table.c.member_id)
        .where(
            table.c.broadcast_id == broadcast_id,
            table.c.status.in_((OutboxStatus.FAILED, OutboxStatus.SKIPPED)),
        )
        .order_by(table.c.id)
        .limit(FAILURES_SHOWN)
    )
    return [
        {
            "status": str(status),
            "reason": reason if reason in Reason.ALL else Reason.REJECTED,
            "name": name or "-",
        }
        for status, reason, name in rows
    ]


@router.get("/console/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def progress(
    request: Request, broadcast_id: int, staff: SendStaff, db: DatabaseDep
) -> HTMLResponse:
    with db.transaction() as session:
        broadcast = _find(session, staff, broadcast_id)
        counts = broadcast_counts(session, broadcast_id)
        label = audience_label(
            session, staff.community_id, staff.t, Audience.from_json(broadcast.audience)
        )
        author = (
            session.get(Member, broadcast.author_member_id)
            if broadcast.author_member_id is not None
            else None
        )
        photo = session.get(MediaFile, broadcast.media_id) if broadcast.media_id else None
        failures = _failures(session, broadcast_id)
    reasons = [
        {
            "status": status,
            "reason": reason if reason in Reason.ALL else Reason.REJECTED,
            "count": n,
        }
        for (status, reason), n in sorted(counts.reasons.items(), key=lambda kv: -kv[1])
    ]
    running = broadcast.status == BroadcastStatus.SENDING or counts.waiting > 0
    return render(
        request,
        "broadcasts/progress.html",
        staff.t,
        sections=menu_for(staff),
        broadcast=broadcast,
        counts=counts,
        audience_label=label,
        author=_author(author, broadcast),
        photo_token=photo.token if photo is not None else None,
        reasons=reasons,
        failures=failures,
        failures_shown=FAILURES_SHOWN,
        refresh=REFRESH_SECONDS if running else None,
        can_stop=broadcast.status == BroadcastStatus.SENDING,
    )


@router.post("/console/broadcasts/{broadcast_id}/stop")
def stop(broadcast_id: int, posted: SendForm, db: DatabaseDep) -> Response:
    staff, _ = posted
    skipped: int | None = None
    with db.transaction() as session:
        broadcast = _find(session, staff, broadcast_id)
        if broadcast.status == BroadcastStatus.SENDING:
            skipped = stop_broadcast(session, broadcast, utcnow())
    if skipped is not None:
        audit(
            db, staff, STOP_ACTION, target=f"broadcast:{broadcast_id}", detail={"skipped": skipped}
        )
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}", status_code=303)
