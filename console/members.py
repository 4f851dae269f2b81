"""The console's member pages: the list (search, filters, pages), one member, approving or
rejecting a registration, the CSV import (upload, preview, confirm) and the export.

Everything goes through the same storage operations as the chat and ``wlcc members``:
storage/member_search.py finds members, storage/member_import.py parses, previews and applies
an import (the CLI's validation: any bad row and nothing is imported), and
conversations/approval.py's :func:`decide_registration` approves or rejects and tells her
through the outbox, as SETUJUI and TOLAK do. Amounts are never shown here: the ledger pages
are for ``ledger.view``.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from bot.deps import DatabaseDep
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
from console.templating import download, render
from conversations.approval import decide_registration
from storage.member_import import (
    ImportFileError,
    ImportPlan,
    apply_import,
    export_members_csv,
    parse_members_csv,
    preview_import,
)
from storage.member_search import (
    PAGE_SIZE,
    MemberFilter,
    count_members,
    kelurahan_choices,
    pending_count,
    search_members,
)
from storage.members import get_member, identities_of, members_on_phone
from storage.models import Member, MemberStatus
from wlcc.formatting import utcnow

router = APIRouter()

ListStaff = Annotated[Staff, Depends(Require("member.list"))]
# Importing adds active members without a registration: the right to approve members.
ImportStaff = Annotated[Staff, Depends(Require("member.approve"))]
ImportForm = Annotated[tuple[Staff, FormData], Depends(Form("member.approve"))]
ApproveForm = Annotated[tuple[Staff, FormData], Depends(Form("member.approve"))]

MAX_UPLOAD = 1024 * 1024  # an uploaded CSV, bytes
MAX_SEARCH = 100
SHOWN_ROWS = 200  # rows of a preview or of an error report shown on the page
CHUNK = 400_000  # characters of the carried file per hidden field (a form field is <= 1 MB)
CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp"}

# Why a row or a file was refused: storage/member_import.py's codes -> catalog keys.
ROW_REASONS = {
    "name.empty": "console.members.why.name_empty",
    "name.too_long": "console.members.why.name_too_long",
    "name.no_letters": "console.members.why.name_no_letters",
    "kelurahan.too_long": "console.members.why.kelurahan_too_long",
    "role.unknown": "console.members.why.role_unknown",
    "phone.invalid": "console.members.why.phone_invalid",
    "duplicate": "console.members.why.duplicate",
}
FILE_REASONS = {
    "file.not_utf8": "console.members.file.not_utf8",
    "file.empty": "console.members.file.empty",
    "file.missing_columns": "console.members.file.missing_columns",
    "file.not_csv": "console.members.file.not_csv",
    "file.no_header": "console.members.file.no_header",
}


def _channel_names(staff: Staff, channels: list[str]) -> list[str]:
    return [
        staff.t("console.members.channel_simulator") if c == "simulator" else CHANNELS.get(c, c)
        for c in channels
    ]


def _status_word(staff: Staff, status: str) -> str:
    words = {
        MemberStatus.PENDING: staff.t("console.members.status_pending"),
        MemberStatus.ACTIVE: staff.t("console.members.status_active"),
        MemberStatus.INACTIVE: staff.t("console.members.status_inactive"),
    }
    return words.get(status, status)


def _member_id(raw_id: str) -> int:
    if not raw_id.isdigit() or len(raw_id) > 12:
        raise ConsoleError(404, "console.members.not_found")
    return int(raw_id)


def _found(member: Member | None) -> Member:
    if member is None or member.anonymised_at is not None:
        raise ConsoleError(404, "console.members.not_found")
    return member


def _member(db: DatabaseDep, staff: Staff, raw_id: str) -> Member:
    """The member of the URL, in the staff member's community, or a 404."""
    member_id = _member_id(raw_id)
    with db.transaction() as session:
        return _found(get_member(session, member_id, staff.community_id))


# --- the list -----------------------------------------------------------------------------

PLACES_TTL = 60.0  # seconds the kelurahan filter's choices are kept (a scan of all members)
_places_cache: dict[tuple[str, int], tuple[float, list[str]]] = {}


def _places(session: Session, community_id: int, wanted: str) -> list[str]:
    """The kelurahan filter's choices, read again at most every :data:`PLACES_TTL` seconds,
    and at once when a kelurahan asked for is not among them (it may be new)."""
    now = time.monotonic()
    key = (str(session.get_bind().engine.url), community_id)  # one cache per database
    cached = _places_cache.get(key)
    if cached is None or cached[0] <= now or (wanted and wanted not in cached[1]):
        cached = (now + PLACES_TTL, kelurahan_choices(session, community_id))
        _places_cache[key] = cached
    return cached[1]


@router.get("/console/members", response_class=HTMLResponse)
def member_list(request: Request, staff: ListStaff, db: DatabaseDep) -> HTMLResponse:
    query = request.query_params
    text = query.get("q", "").strip()
    if len(text) > MAX_SEARCH:
        raise ConsoleError(422, "console.error.too_long")
    status = query.get("status", "")
    if status and status not in MemberStatus.ALL:
        raise ConsoleError(404, "console.error.no_such_page")
    kelurahan = query.get("kelurahan", "")
    wanted = MemberFilter(text=text, kelurahan=kelurahan, status=status)
    with db.transaction() as session:
        places = _places(session, staff.community_id, kelurahan)
        if kelurahan and kelurahan not in places:
            raise ConsoleError(404, "console.error.no_such_page")
        total = count_members(session, staff.community_id, wanted)
        pages = pages_for(total, PAGE_SIZE)
        page = page_number(query.get("page"), pages)
        found = search_members(session, staff.community_id, wanted, page=page, total=total)
        waiting = pending_count(session, staff.community_id)
    rows = [
        {
            "member": m,
            "status": _status_word(staff, m.status),
            "channels": _channel_names(staff, found.channels.get(m.phone or "", [])),
        }
        for m in found.members
    ]
    keep = {k: v for k, v in (("q", text), ("kelurahan", kelurahan), ("status", status)) if v}

    def href(number: int) -> str:
        return "/console/members?" + urlencode({**keep, "page": number})

    return render(
        request,
        "members/list.html",
        staff.t,
        sections=menu_for(staff),
        rows=rows,
        total=found.total,
        page=page,
        pages=pages,
        q=text,
        kelurahan=kelurahan,
        status=status,
        places=places,
        statuses=[(s, _status_word(staff, s)) for s in MemberStatus.ALL],
        waiting=waiting,
        prev_href=href(page - 1) if page > 1 else None,
        next_href=href(page + 1) if page < pages else None,
        first_shown=(page - 1) * PAGE_SIZE + 1,
        last_shown=(page - 1) * PAGE_SIZE + len(rows),
        can_import=staff.can("member.approve"),
    )


# --- the export ---------------------------------------------------------------------------


@router.get("/console/members/export.csv")
def export_csv(staff: ListStaff, db: DatabaseDep) -> Response:
    with db.transaction() as session:
        text = export_members_csv(session, staff.community_id)
    count = text.count("\n") - 1
    audit(db, staff, "member.export", target="members.csv", detail={"count": count})
    stamp = utcnow().strftime("%Y%m%d")
    return download(text.encode("utf-8"), f"anggota-{stamp}.csv")


# --- the import ---------------------------------------------------------------------------


def _import_page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    plan: ImportPlan | None = None,
) -> HTMLResponse:
    errors = []
    if plan is not None:
        for e in plan.errors[:SHOWN_ROWS]:
            key = ROW_REASONS.get(e.code)
            errors.append({"line": e.line, "key": key, "params": e.params, "message": e.message})
    return render(
        request,
        "members/import.html",
        staff.t,
        status_code=status_code,
        sections=menu_for(staff),
        error=error,
        error_params=error_params or {},
        errors=errors,
        bad_count=len(plan.errors) if plan is not None else 0,
        shown=SHOWN_ROWS,
        max_kb=MAX_UPLOAD // 1024,
    )


@router.get("/console/members/import", response_class=HTMLResponse)
def import_form(request: Request, staff: ImportStaff) -> HTMLResponse:
    return _import_page(request, staff)


def _parse(request: Request, staff: Staff, data: bytes) -> ImportPlan | HTMLResponse:
    """The file's plan, or the 422 page that says what is wrong with it."""
    if len(data) > MAX_UPLOAD:
        return _import_page(
            request,
            staff,
            status_code=422,
            error="console.members.file.too_big",
            error_params={"kb": MAX_UPLOAD // 1024},
        )
    try:
        plan = parse_members_csv(data)
    except ImportFileError as exc:
        key = FILE_REASONS.get(exc.code, "console.members.file.unreadable")
        return _import_page(request, staff, status_code=422, error=key, error_params=exc.params)
    if plan.errors:
        return _import_page(
            request,
            staff,
            status_code=422,
            error="console.members.import.bad_rows",
            error_params={"count": len(plan.errors)},
            plan=plan,
        )
    if not plan.rows:
        return _import_page(request, staff, status_code=422, error="console.members.file.no_rows")
    return plan


def _carry(data: bytes) -> list[str]:
    """The file, compressed, in hidden fields of the confirm form (each under the 1 MB a form
    field may be)."""
    text = base64.urlsafe_b64encode(zlib.compress(data, 9)).decode("ascii")
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]


def _carried(form: FormData) -> bytes:
    """The file carried by the confirm form (422 when it was damaged)."""
    parts = form.getlist("file_part")
    if not parts or not all(isinstance(p, str) for p in parts):
        raise ConsoleError(422, "console.members.file.lost")
    try:
        packed = base64.urlsafe_b64decode("".join(str(p) for p in parts).encode("ascii"))
        inflate = zlib.decompressobj()
        data = inflate.decompress(packed, MAX_UPLOAD + 1)
    except (binascii.Error, ValueError, zlib.error, UnicodeEncodeError):
        raise ConsoleError(422, "console.members.file.lost") from None
    if len(data) > MAX_UPLOAD or inflate.unconsumed_tail or not inflate.eof:
        raise ConsoleError(422, "console.members.file.lost")
    return data


@router.post("/console/members/import", response_class=HTMLResponse)
def import_upload(request: Request, posted: ImportForm, db: DatabaseDep) -> HTMLResponse:
    """The uploaded file, checked as ``wlcc members import`` checks it, and what importing it
    would do: nothing is written until the staff member confirms. (A plain function: FastAPI
    runs it in a worker thread, so that parsing a big file does not hold up the webhooks.)"""
    staff, form = posted
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, staff, status_code=422, error="console.members.file.none")
    upload.file.seek(0)
    data = upload.file.read(MAX_UPLOAD + 1)
    found = _parse(request, staff, data)
    if isinstance(found, HTMLResponse):
        return found
    with db.transaction() as session:
        preview = preview_import(session, staff.community_id, found.rows)
    return render(
        request,
        "members/preview.html",
        staff.t,
        sections=menu_for(staff),
        filename=upload.filename[:200],
        created=preview.created[:SHOWN_ROWS],
        created_count=len(preview.created),
        updated=preview.updated[:SHOWN_ROWS],
        updated_count=len(preview.updated),
        unchanged=preview.unchanged,
        shared=found.shared_phones,
        shown=SHOWN_ROWS,
        parts=_carry(data),
    )


@router.post("/console/members/import/confirm", response_class=HTMLResponse)
def import_confirm(request: Request, posted: ImportForm, db: DatabaseDep) -> HTMLResponse:
    """The confirmed file, checked again (the members may have changed meanwhile), imported in
    one transaction, then audited."""
    staff, form = posted
    filename = field(form, "filename", 300)[:200]
    found = _parse(request, staff, _carried(form))
    if isinstance(found, HTMLResponse):
        return found
    with db.transaction() as session:
        result = apply_import(session, staff.community_id, found.rows)
    detail = {
        "file": filename,
        "rows": len(found.rows),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }
    audit(db, staff, "member.import", target="members.csv", detail=detail)
    return render(
        request,
        "members/imported.html",
        staff.t,
        sections=menu_for(staff),
        result=result,
        shared=found.shared_phones,
    )


# --- one member ---------------------------------------------------------------------------


def _member_page(
    request: Request,
    staff: Staff,
    db: DatabaseDep,
    member: Member,
    *,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    with db.transaction() as session:
        chats = identities_of(session, member)
        family = [
            m
            for m in members_on_phone(session, member.community_id, member.phone or "")
            if m.id != member.id
        ]
    chats = [i for i in chats if i.community_id == member.community_id]
    return render(
        request,
        "members/member.html",
        staff.t,
        status_code=status_code,
        sections=menu_for(staff),
        member=member,
        status_word=_status_word(staff, member.status),
        chats=[
            {"name": _channel_names(staff, [i.channel])[0], "identity": i}
            for i in sorted(chats, key=lambda i: (i.channel, i.id or 0))
        ],
        family=family,
        notice=notice,
        error=error,
        can_approve=staff.can("member.approve") and member.status == MemberStatus.PENDING,
        can_ledger=staff.can("ledger.view"),
    )


@router.get("/console/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request, member_id: str, staff: ListStaff, db: DatabaseDep
) -> HTMLResponse:
    member = _member(db, staff, member_id)
    notice = {
        "approved": "console.members.approved",
        "rejected": "console.members.rejected",
    }.get(request.query_params.get("done", ""))
    return _member_page(request, staff, db, member, notice=notice)


def _decide(
    request: Request, db: DatabaseDep, staff: Staff, member_id: str, approve: bool
) -> Response:
    """SETUJUI or TOLAK from the console: the registration's decision and her notice in one
    transaction, audited after it; a decision already taken is said, not taken again."""
    wanted = _member_id(member_id)
    with db.transaction() as session:
        member = _found(get_member(session, wanted, staff.community_id))
        pending = member.status == MemberStatus.PENDING
        if pending:
            decide_registration(session, member, approve, utcnow())
    if not pending:
        already = (
            "console.members.already_active"
            if member.status == MemberStatus.ACTIVE
            else "console.members.already_rejected"
        )
        return _member_page(request, staff, db, member, status_code=409, error=already)
    audit(db, staff, "member.approve" if approve else "member.reject", target=f"member:{wanted}")
    done = "approved" if approve else "rejected"
    return RedirectResponse(f"/console/members/{wanted}?done={done}", status_code=303)


@router.post("/console/members/{member_id}/approve")
def approve(request: Request, member_id: str, posted: ApproveForm, db: DatabaseDep) -> Response:
    staff, _ = posted
    return _decide(request, db, staff, member_id, approve=True)


@router.post("/console/members/{member_id}/reject")
def reject(request: Request, member_id: str, posted: ApproveForm, db: DatabaseDep) -> Response:
    staff, _ = posted
    return _decide(request, db, staff, member_id, approve=False)
