"""Complaints about the wastewater connection works: LAPOR, STATUS, the "is it fixed?" answer,
and KELUHAN for coordinators (storage/complaints.py keeps the tickets).

**LAPOR** (REPORT), open to anyone, member or resident, one question at a time:

1. the category (numbered);
2. the description: typed (kept up to ``MAX_DESCRIPTION`` characters; she is told when it was
   cut), or a voice note kept as the description (a ``media`` row);
3. the place: a shared location pin, or a typed address; the RT/RW and the kelurahan are read
   from it ("Jl. Mawar 3 RT 3 RW 5 23 Ilir"), and the kelurahan is asked when it is missing.
   A pin outside Palembang is accepted and flagged;
4. up to three photos (or SELESAI / skip); a document or a video gets a clear answer;
5. whether she may be contacted;
6. an open ticket of the same category nearby (about 100 m, or the same RT/RW and kelurahan)
   is offered to join instead;
7. a summary to confirm; then the ticket code and what happens next.

Photos and voice notes become ``media`` rows marked ``pending_fetch`` at once: the outbox
sender downloads them within seconds (platform links expire), checks their content and size
(``WLCC_COMPLAINT_MAX_PHOTO_MB``), and the summary says which could not be kept.

**STATUS <code>** shows anyone holding the code the public part: category, status, dates,
kelurahan. **SUDAH BERES / BELUM BERES <code>** are the answers to "is it really fixed?"
after a resolution: "belum" reopens the ticket. **KELUHAN** (coordinators): open tickets by
age, one opened, its status changed with a note, an internal note, the description public.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from conversations.engine import Context, Dialog, Turn, register
from storage.broadcasts import kelurahan_options
from storage.complaints import (
    FIXED_NO,
    FIXED_YES,
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    Category,
    Complaint,
    ComplaintRefused,
    Intake,
    Refusal,
    Status,
    add_note,
    allowed_next,
    answer_fixed,
    category_label,
    change_status,
    create_complaint,
    events,
    find_nearby,
    find_reporter,
    get_by_code,
    in_palembang,
    join_complaint,
    looks_like_code,
    normalize_code,
    normalize_kelurahan,
    normalize_rt_rw,
    open_complaints,
    photos,
    public_view,
    reporters,
    set_public_description,
    status_label,
    tickets_of,
    valid_pin,
)
from storage.media import create_intake_media
from storage.models import MediaFile
from wlcc.formatting import format_date, to_local
from wlcc.messages import Choice, Media
from wlcc.settings import get_settings

LAPOR = "complaint_new"
STATUS = "complaint_status"
FIXED = "complaint_fixed"
NOT_FIXED = "complaint_not_fixed"
KELUHAN = "complaint_triage"
TRIAGE_ACTION = "complaint.triage"
STEPS = ("category", "description", "location", "kelurahan", "photos", "contact")
PHOTO_TYPES = ("image/",)
VOICE_TYPES = ("audio/",)
_RT_RW = re.compile(r"\bRT\.?\s*0*(\d{1,3})\s*(?:/|,|\s)\s*(?:RW\.?\s*)?0*(\d{1,3})\b", re.I)
_KELURAHAN = re.compile(
    r"\bkel(?:urahan)?\.?\s+([A-Za-z0-9][\w ]{1,40}?)\s*(?:,|\.|$)|\b(\d{1,2}\s+(?:ilir|ulu))\b",
    re.I,
)
_DONE_WORDS = {"SELESAI", "SUDAH", "CUKUP", "LEWATI", "LEWAT", "SKIP", "DONE", "NO PHOTO", "TIDAK"}
LIST_LIMIT = 9


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _day(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return format_date(to_local(moment, ctx.zone).date(), ctx.t.lang)


def _kind(media: Media) -> str:
    """photo, voice, video or document, by the type the platform declared."""
    kind = (media.content_type or "").lower()
    if kind.startswith(PHOTO_TYPES):
        return "photo"
    if kind.startswith(VOICE_TYPES):
        return "voice"
    if kind.startswith("video/"):
        return "video"
    return "document"


def read_address(text: str) -> tuple[str | None, str | None]:
    """The RT/RW ("003/005") and the kelurahan ("23 Ilir") in a typed address, if there."""
    rt_rw = None
    found = _RT_RW.search(text)
    if found:
        rt_rw = normalize_rt_rw(f"{found.group(1)}/{found.group(2)}")
    kelurahan = None
    place = _KELURAHAN.search(text)
    if place:
        kelurahan = normalize_kelurahan(place.group(1) or place.group(2))
    return rt_rw, kelurahan


def explain_next(ctx: Context, code: str) -> str:
    """The code and what happens next, with the time limits the escalation counts
    (``WLCC_COMPLAINT_VERIFY_DAYS``, ``WLCC_COMPLAINT_RESPONSE_DAYS``)."""
    settings = get_settings()
    return ctx.t(
        "complaints.new.done",
        code=code,
        verify=settings.wlcc_complaint_verify_days,
        respond=settings.wlcc_complaint_response_days,
    )


def public_text(ctx: Context, complaint: Complaint) -> str:
    """What STATUS shows: the public part only (no description, no reporter, no note)."""
    view = public_view(ctx.session, complaint)
    lines = [
        ctx.t(
            "complaints.status.header",
            code=view.code,
            category=category_label(ctx.t, view.category),
            status=status_label(ctx.t, view.status),
        ),
        ctx.t("complaints.status.received_on", date=_day(ctx, view.created_at)),
    ]
    if view.verified_at:
        lines.append(ctx.t("complaints.status.verified_on", date=_day(ctx, view.verified_at)))
    if view.forwarded_at:
        lines.append(ctx.t("complaints.status.forwarded_on", date=_day(ctx, view.forwarded_at)))
    if view.resolved_at and view.status == Status.RESOLVED:
        lines.append(ctx.t("complaints.status.resolved_on", date=_day(ctx, view.resolved_at)))
    if view.status != Status.RECEIVED:
        lines.append(ctx.t("complaints.status.updated_on", date=_day(ctx, view.updated_at)))
    if view.kelurahan:
        lines.append(ctx.t("complaints.status.kelurahan", kelurahan=view.kelurahan))
    if view.reporter_count > 1:
        lines.append(ctx.t("complaints.status.reporters", count=view.reporter_count))
    if view.duplicate_of_code:
        lines.append(ctx.t("complaints.notice.duplicate_of", code=view.duplicate_of_code))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# LAPOR


@register
class NewComplaintDialog(Dialog):
    name = LAPOR
    keywords = ("LAPOR", "REPORT", "LAPORAN")
    menu_key = "complaints.new.menu"
    help_key = "complaints.new.help"
    menu_order = 210  # last in the menu and BANTUAN: the older numbers stay

    def accepts(self, args: str) -> bool:
        return True  # "lapor pipa bocor": the report starts, and its words are kept

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "category")
        words = " ".join(args.split())[:MAX_DESCRIPTION]
        if len(words) >= 3 and any(c.isalpha() for c in words):
            ctx.data["draft"] = words  # the description, once the category is known
        self._ask_category(ctx, False)

    def reprompt(self, ctx: Context) -> None:
        step = ctx.step or "category"
        if step == "confirm":
            self._summary(ctx)
        elif step == "nearby":
            self._offer_nearby(ctx)
        else:
            getattr(self, f"_ask_{step}")(ctx, True)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step or ""
        if step in STEPS or step in ("nearby", "confirm"):
            return bool(getattr(self, f"_on_{step}")(ctx, turn))
        return False

    # 1. category
    def _ask_category(self, ctx: Context, again: bool) -> None:
        ctx.goto("category")
        ctx.ask(
            ctx.t("complaints.new.ask_category_again" if again else "complaints.new.ask_category"),
            [Choice(f"cat:{c}", category_label(ctx.t, c)) for c in Category.ALL],
        )

    def _on_category(self, ctx: Context, turn: Turn) -> bool:
        category = (turn.choice or "").removeprefix("cat:")
        if category not in Category.ALL:
            return False
        ctx.data["category"] = category
        draft = ctx.data.pop("draft", None)
        if draft:
            ctx.data["description"] = draft
            self._after_description(ctx)
        else:
            self._ask_description(ctx, False)
        return True

    # 2. description
    def _ask_description(self, ctx: Context, again: bool) -> None:
        ctx.goto("description")
        ctx.ask(
            ctx.t(
                "complaints.new.ask_description_again"
                if again
                else "complaints.new.ask_description"
            )
        )

    def _on_description(self, ctx: Context, turn: Turn) -> bool:
        voice = [m for m in turn.media if _kind(m) == "voice"]
        if voice:
            media = create_intake_media(
                ctx.session,
                community_id=ctx.speaker.community_id,
                source_channel=ctx.speaker.channel,
                source_ref=voice[0].ref,
                content_type=voice[0].content_type,
                now=ctx.now,
            )
            ctx.data["voice"] = media.id
            ctx.media_received = True
            ctx.data["description"] = " ".join(turn.text.split())[:MAX_DESCRIPTION] or None
            ctx.say(ctx.t("complaints.new.voice_kept"))
            self._after_description(ctx)
            return True
        photos_sent = [m for m in turn.media if _kind(m) == "photo"]
        if photos_sent:
            # Kept for the photo question (nothing she sends is lost); the words come first.
            self._keep_photos(ctx, photos_sent)
            ctx.ask(ctx.t("complaints.new.description_photo_kept"))
            return True
        if turn.media:
            ctx.ask(ctx.t("complaints.new.description_not_media"))
            return True
        if turn.location is not None:
            if valid_pin(turn.location.latitude, turn.location.longitude):
                ctx.data["lat"] = turn.location.latitude
                ctx.data["lon"] = turn.location.longitude
            ctx.ask(ctx.t("complaints.new.description_first"))
            return True
        text = turn.text.strip()
        if not text or turn.choice is not None:
            ctx.ask(ctx.t("complaints.new.description_empty"))
            return True
        if len(text) > MAX_DESCRIPTION:
            ctx.say(ctx.t("complaints.new.description_cut", limit=MAX_DESCRIPTION))
            text = text[:MAX_DESCRIPTION]
        ctx.data["description"] = text
        ctx.data.pop("voice", None)
        self._after_description(ctx)
        return True

    def _after_description(self, ctx: Context) -> None:
        """The place next, unless she shared her location already."""
        if ctx.data.get("lat") is not None:
            if not in_palembang(ctx.data["lat"], ctx.data["lon"]):
                ctx.say(ctx.t("complaints.new.outside_palembang"))
            self._ask_kelurahan(ctx, False)
        else:
            self._ask_location(ctx, False)

    def _keep_photos(self, ctx: Context, sent: list[Media]) -> None:
        kept: list[int] = list(ctx.data.get("photos") or [])
        for media in sent[: max(0, MAX_PHOTOS - len(kept))]:
            row = create_intake_media(
                ctx.session,
                community_id=ctx.speaker.community_id,
                source_channel=ctx.speaker.channel,
                source_ref=media.ref,
                content_type=media.content_type,
                now=ctx.now,
            )
            assert row.id is not None
            kept.append(row.id)
            ctx.media_received = True
        ctx.data["photos"] = kept

    # 3. location
    def _ask_location(self, ctx: Context, again: bool) -> None:
        ctx.goto("location")
        ctx.ask(
            ctx.t("complaints.new.ask_location_again" if again else "complaints.new.ask_location")
        )

    def _on_location(self, ctx: Context, turn: Turn) -> bool:
        if turn.location is not None:
            lat, lon = turn.location.latitude, turn.location.longitude
            if not valid_pin(lat, lon):
                self._ask_location(ctx, True)
                return True
            ctx.data["lat"], ctx.data["lon"] = lat, lon
            if turn.location.address:
                ctx.data["address"] = turn.location.address[:300]
            if not in_palembang(lat, lon):
                ctx.say(ctx.t("complaints.new.outside_palembang"))
            # The kelurahan too, so that its coordinators hear of it (she may not know it).
            self._ask_kelurahan(ctx, False)
            return True
        text = " ".join(turn.text.split())
        if turn.media or not text or turn.choice is not None or text.isdigit():
            self._ask_location(ctx, True)
            return True
        rt_rw, kelurahan = read_address(text)
        ctx.data["address"] = text[:300]
        ctx.data["rt_rw"] = rt_rw
        ctx.data["kelurahan"] = kelurahan
        if kelurahan is None:
            self._ask_kelurahan(ctx, False)
        else:
            self._ask_photos(ctx, False)
        return True

    def _ask_kelurahan(self, ctx: Context, again: bool) -> None:
        ctx.goto("kelurahan")
        options = [name for name, _ in kelurahan_options(ctx.session, ctx.speaker.community_id)]
        ctx.ask(
            ctx.t(
                "complaints.new.ask_kelurahan_again" if again else "complaints.new.ask_kelurahan"
            ),
            [Choice(f"kel:{name}", name) for name in options[:LIST_LIMIT]]
            + [Choice("kel:", ctx.t("complaints.new.kelurahan_unknown"))],
        )

    def _on_kelurahan(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice is not None and turn.choice.startswith("kel:"):
            ctx.data["kelurahan"] = normalize_kelurahan(turn.choice.removeprefix("kel:"))
        else:
            text = " ".join(turn.text.split())
            if not text or text.isdigit() or turn.media or turn.location is not None:
                self._ask_kelurahan(ctx, True)
                return True
            ctx.data["kelurahan"] = normalize_kelurahan(text)
        self._ask_photos(ctx, False)
        return True

    # 4. photos
    def _ask_photos(self, ctx: Context, again: bool) -> None:
        ctx.goto("photos")
        count = len(ctx.data.get("photos") or [])
        key = "complaints.new.ask_photos" if count == 0 else "complaints.new.ask_more_photos"
        ctx.ask(
            ctx.t(key, limit=MAX_PHOTOS, count=count, left=MAX_PHOTOS - count),
            [
                Choice(
                    "photos:done",
                    ctx.t("complaints.new.photos_done" if count else "complaints.new.photos_skip"),
                )
            ],
        )

    def _on_photos(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == "photos:done" or (
            not turn.media and turn.text.strip().upper() in _DONE_WORDS
        ):
            self._ask_contact(ctx, False)
            return True
        if not turn.media:
            self._ask_photos(ctx, True)
            return True
        refused = next((_kind(m) for m in turn.media if _kind(m) != "photo"), None)
        self._keep_photos(ctx, [m for m in turn.media if _kind(m) == "photo"])
        kept: list[int] = list(ctx.data.get("photos") or [])
        if refused is not None:
            ctx.say(ctx.t(f"complaints.new.not_a_photo.{refused}"))
        if len(kept) >= MAX_PHOTOS:
            ctx.say(ctx.t("complaints.new.photos_full", limit=MAX_PHOTOS))
            self._ask_contact(ctx, False)
            return True
        self._ask_photos(ctx, False)
        return True

    # 5. contact
    def _ask_contact(self, ctx: Context, again: bool) -> None:
        ctx.goto("contact")
        ctx.ask(
            ctx.t("complaints.new.ask_contact"),
            [
                Choice("contact:yes", ctx.t("complaints.new.contact_yes")),
                Choice("contact:no", ctx.t("complaints.new.contact_no")),
            ],
        )

    def _on_contact(self, ctx: Context, turn: Turn) -> bool:
        answer = turn.choice or ""
        if answer not in ("contact:yes", "contact:no"):
            word = turn.text.strip().upper()
            answer = {"YA": "contact:yes", "BOLEH": "contact:yes", "YES": "contact:yes"}.get(
                word, "contact:no" if word in ("TIDAK", "JANGAN", "NO") else ""
            )
        if not answer:
            return False
        ctx.data["contact"] = answer == "contact:yes"
        if self._nearby(ctx):
            self._offer_nearby(ctx)
        else:
            self._summary(ctx)
        return True

    # 6. a nearby open ticket of the same category
    def _nearby(self, ctx: Context) -> list[Complaint]:
        data = ctx.data
        found = find_nearby(
            ctx.session,
            community_id=ctx.speaker.community_id,
            category=data["category"],
            latitude=data.get("lat"),
            longitude=data.get("lon"),
            rt_rw=data.get("rt_rw"),
            kelurahan=data.get("kelurahan"),
        )
        return [n.complaint for n in found]

    def _offer_nearby(self, ctx: Context) -> None:
        ctx.goto("nearby")
        found = self._nearby(ctx)
        if not found:
            self._summary(ctx)
            return
        lines = [ctx.t("complaints.new.nearby")]
        choices = []
        for complaint in found:
            lines.append(
                ctx.t(
                    "complaints.new.nearby_line",
                    code=complaint.code,
                    status=status_label(ctx.t, complaint.status),
                    date=_day(ctx, complaint.created_at),
                    count=complaint.reporter_count,
                )
            )
            choices.append(
                Choice(f"join:{complaint.id}", ctx.t("complaints.new.join", code=complaint.code))
            )
        choices.append(Choice("join:new", ctx.t("complaints.new.join_not")))
        ctx.ask("\n".join(lines), choices)

    def _on_nearby(self, ctx: Context, turn: Turn) -> bool:
        picked = turn.choice or ""
        if picked == "join:new":
            ctx.data["nearby_declined"] = True
            self._summary(ctx)
            return True
        if not picked.startswith("join:") or not picked[5:].isdigit():
            return False
        complaint = ctx.session.get(Complaint, int(picked[5:]))
        if (
            complaint is None
            or complaint.community_id != ctx.speaker.community_id
            or complaint.status not in Status.OPEN
        ):
            self._summary(ctx)
            return True
        member = ctx.speaker.member
        joined = join_complaint(
            ctx.session,
            complaint,
            identity_id=ctx.speaker.identity.id,
            member_id=member.id if member else None,
            now=ctx.now,
        )
        ctx.audit("complaint.join", target=complaint.code)
        ctx.finish()
        key = "complaints.new.joined" if joined else "complaints.new.already_joined"
        ctx.say(ctx.t(key, code=complaint.code, count=complaint.reporter_count))
        return True

    # 7. summary
    def _summary(self, ctx: Context) -> None:
        ctx.goto("confirm")
        data = ctx.data
        lines = [ctx.t("complaints.new.summary")]
        lines.append(
            ctx.t(
                "complaints.new.summary_category", category=category_label(ctx.t, data["category"])
            )
        )
        if data.get("voice"):
            lines.append(ctx.t("complaints.new.summary_voice"))
        if data.get("description"):
            text = data["description"]
            short = text if len(text) <= 200 else text[:200].rstrip() + "…"
            lines.append(ctx.t("complaints.new.summary_description", text=short))
        if data.get("lat") is not None:
            lines.append(ctx.t("complaints.new.summary_pin"))
        if data.get("address"):
            lines.append(ctx.t("complaints.new.summary_address", address=data["address"]))
        if data.get("rt_rw"):
            lines.append(ctx.t("complaints.new.summary_rt_rw", rt_rw=data["rt_rw"]))
        if data.get("kelurahan"):
            lines.append(ctx.t("complaints.new.summary_kelurahan", kelurahan=data["kelurahan"]))
        kept, lost = self._photo_state(ctx)
        lines.append(ctx.t("complaints.new.summary_photos", count=len(kept)))
        for reason in lost:
            lines.append(ctx.t(f"complaints.new.photo_lost.{reason}"))
        lines.append(
            ctx.t(
                "complaints.new.contact_yes" if data.get("contact") else "complaints.new.contact_no"
            )
        )
        ctx.ask(
            "\n".join(lines),
            [
                Choice("confirm:send", ctx.t("complaints.new.send")),
                Choice("BATAL", ctx.t("complaints.new.discard")),
            ],
        )

    def _photo_state(self, ctx: Context) -> tuple[list[int], list[str]]:
        """The photos still good, and why the others were not kept (too big, not a photo)."""
        kept: list[int] = []
        lost: list[str] = []
        for media_id in ctx.data.get("photos") or []:
            media = ctx.session.get(MediaFile, media_id)
            if media is None:
                continue
            if media.error:
                lost.append("too_big" if "large" in media.error else "not_photo")
            else:
                kept.append(media_id)
        return kept, lost

    def _on_confirm(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice != "confirm:send":
            return False
        data = ctx.data
        kept, _ = self._photo_state(ctx)
        member = ctx.speaker.member
        complaint = create_complaint(
            ctx.session,
            community_id=ctx.speaker.community_id,
            intake=Intake(
                category=data["category"],
                description=data.get("description"),
                voice_media_id=data.get("voice"),
                latitude=data.get("lat"),
                longitude=data.get("lon"),
                address=data.get("address"),
                rt_rw=data.get("rt_rw"),
                kelurahan=data.get("kelurahan") or (member.kelurahan if member else None),
                contact_ok=bool(data.get("contact")),
                photo_media_ids=kept,
            ),
            identity_id=ctx.speaker.identity.id,
            member_id=member.id if member else None,
            channel=ctx.speaker.channel,
            now=ctx.now,
        )
        ctx.finish()
        ctx.say(explain_next(ctx, complaint.code))
        return True


# ---------------------------------------------------------------------------------------------
# STATUS


@register
class ComplaintStatusDialog(Dialog):
    name = STATUS
    keywords = ("STATUS", "CEK LAPORAN")
    menu_key = None
    help_key = "complaints.status.help"
    help_always = True
    menu_order = 211

    def accepts(self, args: str) -> bool:
        # "STATUS AL-7K3Q9", or something meant as a code ("status al 7k3"); "status rumah
        # saya bagaimana" is a sentence, not this command.
        args = args.strip()
        return (
            not args
            or looks_like_code(args)
            or (len(args) <= 24 and any(c.isdigit() for c in args))
        )

    def start(self, ctx: Context, args: str) -> None:
        if args.strip():
            self._show(ctx, args)
            return
        member = ctx.speaker.member
        mine = tickets_of(
            ctx.session,
            identity_id=ctx.speaker.identity.id,
            member_id=member.id if member else None,
            limit=LIST_LIMIT,
        )
        if not mine:  # nothing of hers to pick: how to ask, and no question left open
            ctx.say(ctx.t("complaints.status.ask_code"))
            return
        ctx.begin(self.name, "code")
        ctx.ask(
            ctx.t("complaints.status.ask_code_mine"),
            [
                Choice(f"STATUS {c.code}", f"{c.code} ({category_label(ctx.t, c.category)})")
                for c in mine
            ],
        )

    def handle(self, ctx: Context, turn: Turn) -> bool:
        text = (turn.choice or turn.text).strip()
        if text.upper().startswith("STATUS "):
            text = text[7:]
        if not text:
            return False
        if turn.choice is None and not looks_like_code(text) and not any(c.isdigit() for c in text):
            return False  # words: perhaps another command (LAPOR); else asked again
        ctx.finish()
        self._show(ctx, text)
        return True

    def reprompt(self, ctx: Context) -> None:
        ctx.ask(ctx.t("complaints.status.not_a_code"))

    def _show(self, ctx: Context, text: str) -> None:
        code = normalize_code(text)
        complaint = get_by_code(ctx.session, ctx.speaker.community_id, text) if code else None
        if complaint is None and code is None:
            ctx.say(ctx.t("complaints.status.not_a_code"))
            return
        if complaint is None:
            ctx.say(ctx.t("complaints.status.unknown", code=code))
            return
        ctx.say(public_text(ctx, complaint))


# ---------------------------------------------------------------------------------------------
# "Is it really fixed?"


class _FixedAnswer(Dialog):
    """The base of the two answers; ``fixed`` says which one this is."""

    fixed: bool = True

    def accepts(self, args: str) -> bool:
        return looks_like_code(args)

    def start(self, ctx: Context, args: str) -> None:
        complaint = get_by_code(ctx.session, ctx.speaker.community_id, args)
        if complaint is None:
            ctx.say(ctx.t("complaints.status.unknown", code=normalize_code(args) or args))
            return
        member = ctx.speaker.member
        reporter = find_reporter(
            ctx.session,
            complaint,
            identity_id=ctx.speaker.identity.id,
            member_id=member.id if member else None,
        )
        if reporter is None:
            ctx.say(ctx.t("complaints.fixed.not_reporter", code=complaint.code))
            return
        if complaint.status != Status.RESOLVED:
            ctx.say(
                ctx.t(
                    "complaints.fixed.not_resolved",
                    code=complaint.code,
                    status=status_label(ctx.t, complaint.status),
                )
            )
            return
        answer_fixed(ctx.session, complaint, reporter, self.fixed, now=ctx.now)
        key = "complaints.fixed.thanks" if self.fixed else "complaints.fixed.reopened"
        ctx.say(ctx.t(key, code=complaint.code))


@register
class ComplaintFixedDialog(_FixedAnswer):
    name = FIXED
    keywords = (FIXED_YES, "FIXED")
    fixed = True


@register
class ComplaintNotFixedDialog(_FixedAnswer):
    name = NOT_FIXED
    keywords = (FIXED_NO, "NOT FIXED")
    fixed = False


# ---------------------------------------------------------------------------------------------
# KELUHAN (coordinators)


@register
class ComplaintTriageDialog(Dialog):
    name = KELUHAN
    keywords = ("KELUHAN", "COMPLAINTS")
    action = TRIAGE_ACTION
    menu_key = None  # coordinators type KELUHAN (each new ticket's notice says so)
    help_key = "complaints.triage.help"
    menu_order = 212

    def start(self, ctx: Context, args: str) -> None:
        ctx.begin(self.name, "list")
        self._list(ctx)

    def reprompt(self, ctx: Context) -> None:
        step = ctx.step or "list"
        if step == "list":
            self._list(ctx)
        elif step == "ticket":
            self._open(ctx)
        elif step == "status_note":
            self._ask_note(ctx)
        else:
            ctx.ask(ctx.t("dialog.not_understood"))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step or ""
        handler = getattr(self, f"_on_{step}", None)
        return bool(handler(ctx, turn)) if handler else False

    def _complaint(self, ctx: Context) -> Complaint | None:
        complaint = ctx.session.get(Complaint, ctx.data.get("id") or 0)
        if complaint is None or complaint.community_id != ctx.speaker.community_id:
            return None
        return complaint

    # the list
    def _list(self, ctx: Context) -> None:
        ctx.goto("list")
        tickets = open_complaints(ctx.session, ctx.speaker.community_id, limit=LIST_LIMIT)
        if not tickets:
            ctx.finish()
            ctx.say(ctx.t("complaints.triage.none"))
            return
        choices = []
        for c in tickets:
            days = max(
                0,
                (to_local(ctx.now, ctx.zone).date() - to_local(c.created_at, ctx.zone).date()).days,
            )
            choices.append(
                Choice(
                    f"ticket:{c.id}",
                    ctx.t(
                        "complaints.triage.line",
                        code=c.code,
                        category=category_label(ctx.t, c.category),
                        kelurahan=c.kelurahan or ctx.t("complaints.kelurahan_unknown"),
                        status=status_label(ctx.t, c.status),
                        days=days,
                    ),
                )
            )
        ctx.ask(ctx.t("complaints.triage.header", count=len(tickets)), choices)

    def _on_list(self, ctx: Context, turn: Turn) -> bool:
        picked = turn.choice or ""
        if picked.startswith("ticket:") and picked[7:].isdigit():
            ctx.data["id"] = int(picked[7:])
        else:
            code = normalize_code(turn.text)
            found = get_by_code(ctx.session, ctx.speaker.community_id, turn.text) if code else None
            if found is None:
                return False
            ctx.data["id"] = found.id
        self._open(ctx)
        return True

    # one ticket
    def _open(self, ctx: Context) -> None:
        complaint = self._complaint(ctx)
        if complaint is None:
            self._list(ctx)
            return
        ctx.goto("ticket")
        t = ctx.t
        lines = [
            t(
                "complaints.status.header",
                code=complaint.code,
                category=category_label(t, complaint.category),
                status=status_label(t, complaint.status),
            ),
            t("complaints.status.received_on", date=_day(ctx, complaint.created_at)),
        ]
        if complaint.description:
            lines.append(t("complaints.new.summary_description", text=complaint.description))
        if complaint.voice_media_id:
            lines.append(t("complaints.new.summary_voice"))
        if complaint.latitude is not None and complaint.longitude is not None:
            lines.append(
                t(
                    "complaints.triage.pin",
                    lat=f"{complaint.latitude:.5f}",
                    lon=f"{complaint.longitude:.5f}",
                )
            )
        if complaint.outside_palembang:
            lines.append(t("complaints.triage.outside"))
        if complaint.address:
            lines.append(t("complaints.new.summary_address", address=complaint.address))
        if complaint.rt_rw:
            lines.append(t("complaints.new.summary_rt_rw", rt_rw=complaint.rt_rw))
        if complaint.kelurahan:
            lines.append(t("complaints.new.summary_kelurahan", kelurahan=complaint.kelurahan))
        lines.append(t("complaints.new.summary_photos", count=len(photos(ctx.session, complaint))))
        lines.append(t("complaints.status.reporters", count=complaint.reporter_count))
        if complaint.forwarded_to:
            lines.append(t("complaints.notice.forwarded_to", to=complaint.forwarded_to))
        lines.append(
            t(
                "complaints.triage.public_yes"
                if complaint.public_description
                else "complaints.triage.public_no"
            )
        )
        for event in events(ctx.session, complaint)[-5:]:
            if event.internal:
                lines.append(
                    t(
                        "complaints.triage.event_note",
                        date=_day(ctx, event.created_at),
                        note=event.note or "",
                    )
                )
            elif event.note:
                lines.append(
                    t(
                        "complaints.triage.event_status",
                        date=_day(ctx, event.created_at),
                        status=status_label(t, event.to_status or ""),
                        note=event.note,
                    )
                )
        choices = [
            Choice(f"to:{status}", t("complaints.triage.to", status=status_label(t, status)))
            for status in allowed_next(complaint.status)
        ]
        choices.append(Choice("note", t("complaints.triage.add_note")))
        choices.append(
            Choice(
                "public",
                t(
                    "complaints.triage.make_private"
                    if complaint.public_description
                    else "complaints.triage.make_public"
                ),
            )
        )
        choices.append(Choice("list", t("complaints.triage.back")))
        ctx.ask("\n".join(lines), choices)

    def _on_ticket(self, ctx: Context, turn: Turn) -> bool:
        complaint = self._complaint(ctx)
        picked = turn.choice or ""
        if complaint is None or picked == "list":
            self._list(ctx)
            return True
        if picked == "note":
            ctx.goto("internal_note")
            ctx.ask(ctx.t("complaints.triage.ask_internal_note"))
            return True
        if picked == "public":
            set_public_description(
                ctx.session,
                complaint,
                not complaint.public_description,
                actor_member_id=ctx.speaker.member.id if ctx.speaker.member else None,
                channel=ctx.speaker.channel,
                now=ctx.now,
            )
            ctx.say(
                ctx.t(
                    "complaints.triage.public_done"
                    if complaint.public_description
                    else "complaints.triage.private_done",
                    code=complaint.code,
                )
            )
            self._open(ctx)
            return True
        if picked.startswith("to:"):
            status = picked[3:]
            ctx.data["to"] = status
            if status == Status.FORWARDED:
                ctx.goto("forward_to")
                ctx.ask(ctx.t("complaints.triage.ask_forward_to"))
            elif status == Status.DUPLICATE:
                ctx.goto("duplicate_of")
                ctx.ask(ctx.t("complaints.triage.ask_duplicate_of"))
            else:
                self._ask_note(ctx)
            return True
        return False

    def _on_forward_to(self, ctx: Context, turn: Turn) -> bool:
        text = " ".join(turn.text.split())
        if not text or turn.choice is not None:
            ctx.ask(ctx.t("complaints.triage.ask_forward_to"))
            return True
        ctx.data["forward_to"] = text[:200]
        self._ask_note(ctx)
        return True

    def _on_duplicate_of(self, ctx: Context, turn: Turn) -> bool:
        other = get_by_code(ctx.session, ctx.speaker.community_id, turn.text)
        if other is None:
            ctx.ask(
                ctx.t("complaints.status.unknown", code=normalize_code(turn.text) or turn.text[:24])
            )
            return True
        ctx.data["duplicate_of"] = other.id
        self._ask_note(ctx)
        return True

    def _ask_note(self, ctx: Context) -> None:
        ctx.goto("status_note")
        ctx.ask(
            ctx.t(
                "complaints.triage.ask_status_note",
                status=status_label(ctx.t, ctx.data.get("to") or ""),
            ),
            [Choice("no_note", ctx.t("complaints.triage.no_note"))],
        )

    def _on_status_note(self, ctx: Context, turn: Turn) -> bool:
        complaint = self._complaint(ctx)
        if complaint is None:
            self._list(ctx)
            return True
        note = None if turn.choice == "no_note" else " ".join(turn.text.split())
        if turn.choice is not None and turn.choice != "no_note":
            return False
        if turn.choice is None and (not note or note.isdigit()):
            self._ask_note(ctx)  # a number here is a slip, not a note for the reporters
            return True
        duplicate_of = None
        if ctx.data.get("duplicate_of"):
            duplicate_of = ctx.session.get(Complaint, ctx.data["duplicate_of"])
        to = ctx.data.get("to") or ""
        try:
            change_status(
                ctx.session,
                complaint,
                to,
                note=note,
                actor_member_id=ctx.speaker.member.id if ctx.speaker.member else None,
                channel=ctx.speaker.channel,
                forwarded_to=ctx.data.get("forward_to"),
                duplicate_of=duplicate_of,
                now=ctx.now,
            )
        except ComplaintRefused as refused:
            ctx.say(self._refusal(ctx, refused))
            self._open(ctx)
            return True
        for key in ("to", "forward_to", "duplicate_of"):
            ctx.data.pop(key, None)
        told = len([r for r in reporters(ctx.session, complaint) if r.member_id or r.identity_id])
        ctx.say(
            ctx.t(
                "complaints.triage.status_done",
                code=complaint.code,
                status=status_label(ctx.t, complaint.status),
                count=told,
            )
        )
        self._open(ctx)
        return True

    def _refusal(self, ctx: Context, refused: ComplaintRefused) -> str:
        details: dict[str, Any] = refused.details
        if refused.reason == Refusal.IMPOSSIBLE:
            return ctx.t(
                "complaints.refused.impossible",
                status=status_label(ctx.t, details.get("status") or ""),
            )
        return ctx.t(f"complaints.refused.{refused.reason}")

    def _on_internal_note(self, ctx: Context, turn: Turn) -> bool:
        complaint = self._complaint(ctx)
        text = " ".join(turn.text.split())
        if complaint is None:
            self._list(ctx)
            return True
        if not text or text.isdigit() or turn.choice is not None:
            ctx.ask(ctx.t("complaints.triage.ask_internal_note"))
            return True
        add_note(
            ctx.session,
            complaint,
            text,
            actor_member_id=ctx.speaker.member.id if ctx.speaker.member else None,
            channel=ctx.speaker.channel,
            now=ctx.now,
        )
        ctx.say(ctx.t("complaints.triage.note_done", code=complaint.code))
        self._open(ctx)
        return True
