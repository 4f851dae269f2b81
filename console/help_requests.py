"""The help path's call-back requests for protection officers: what PERMINTAAN TOLONG and
SELESAI <ref> do in the chat (conversations/help_path.py).

``safety.receive`` is the protection officers' alone: coordinators and admins are refused
(403, audited like any refusal). Nothing of a request leaves these two routes: the audit log
says only that an officer marked one handled, as the chat's does, and the pages are never
cached (console/templating.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bot.deps import DatabaseDep
from console.menu import menu_for
from console.security import ConsoleError, Form, Require, Staff, audit
from console.templating import render
from storage.help_requests import (
    HelpContact,
    HelpStatus,
    find_request,
    mark_handled,
    normalize_ref,
    open_requests,
)
from storage.permissions import SAFETY_RECEIVE
from wlcc.formatting import utcnow

router = APIRouter()

OfficerStaff = Annotated[Staff, Depends(Require(SAFETY_RECEIVE))]
OfficerForm = Annotated[tuple[Staff, FormData], Depends(Form(SAFETY_RECEIVE))]


@router.get("/console/help", response_class=HTMLResponse)
def help_requests(
    request: Request, staff: OfficerStaff, db: DatabaseDep, done: str | None = None
) -> HTMLResponse:
    handled: str | None = None
    with db.transaction() as session:
        waiting = [
            {
                "ref": r.ref,
                "call": r.contact == HelpContact.CALL,
                "phone": r.phone or "-",
                "safe_time": r.safe_time,
                "note": r.note,
                "when": r.sent_at or r.created_at,
            }
            for r in open_requests(session, staff.community_id)
        ]
        ref = normalize_ref(done) if done else None
        if ref is not None:
            found = find_request(session, staff.community_id, ref)
            if found is not None and found.status == HelpStatus.HANDLED:
                handled = ref
    return render(
        request,
        "help/list.html",
        staff.t,
        sections=menu_for(staff),
        waiting=waiting,
        handled=handled,
    )


@router.post("/console/help/{ref}/handled")
def handled(ref: str, posted: OfficerForm, db: DatabaseDep) -> Response:
    staff, _ = posted
    wanted = normalize_ref(ref)
    if wanted is None:
        raise ConsoleError(404, "console.help.unknown")
    with db.transaction() as session:
        found = find_request(session, staff.community_id, wanted)
        if found is None or found.status == HelpStatus.DRAFT:
            raise ConsoleError(404, "console.help.unknown")
        changed = mark_handled(session, found, staff.member_id, utcnow())
    if changed:
        # Which officer marked one handled, not which request (nor anything of it): as the chat.
        audit(db, staff, "safety.handled")
    return RedirectResponse(f"/console/help?done={wanted}", status_code=303)
