"""UMUMKAN: a coordinator announces something to all members or to a group.

Write the text (or send one photo with a caption), pick the audience, see how many will get it
and the message exactly as they will, then send or cancel. Progress and a summary come back as
messages while the sender delivers (storage.broadcasts); ``UMUMKAN STATUS`` shows the latest
broadcast's figures, ``UMUMKAN HENTIKAN`` (or the button under a progress message, or the
older ``HENTIKAN UMUMKAN``) stops the ones running. The opt-out words BERHENTI / STOP are the
members' own and are not used here.

A text longer than one message allows (1,600 characters, 1,024 under a photo) is refused, not
split: the coordinator shortens it, and every member reads one whole message.
"""

from __future__ import annotations

from conversations.engine import Context, Dialog, Turn, register
from storage.broadcasts import (
    STOP_KEYWORD,
    Audience,
    broadcast_counts,
    content_problem,
    count_audience,
    create_broadcast,
    kelurahan_options,
    latest_broadcast,
    role_options,
    running_broadcasts,
    stop_broadcast,
    summary_text,
    text_length,
)
from storage.media import create_media
from storage.meetings import (
    NO_ANSWER,
    Answer,
    get_meeting,
    headcount,
    next_meeting,
    rsvp_audience_value,
)
from wlcc.messages import Choice, Media

NAME = "broadcast"
ACTION = "broadcast.send"
SEND = "bc:send"
CANCEL = "BATAL"  # the global cancel word: a button and a typed BATAL do the same
STATUS_WORDS = ("STATUS", "LAPORAN", "HASIL")
GROUP_STEPS = ("kelurahan", "role", "rsvp")


def _audience_label(ctx: Context, audience: Audience) -> str:
    if audience.kind == "kelurahan":
        return ctx.t("broadcast.audience_kelurahan", name=audience.value or "-")
    if audience.kind == "role":
        return ctx.t("broadcast.audience_role", role=ctx.t(f"broadcast.role.{audience.value}"))
    if audience.kind == "rsvp":
        meeting_id, _, rest = (audience.value or "").partition(":")
        meeting = get_meeting(ctx.session, ctx.speaker.community_id, int(meeting_id or 0))
        answer = rest.partition(":")[0]
        return ctx.t(f"broadcast.audience_rsvp.{answer}", title=meeting.title if meeting else "-")
    return ctx.t("broadcast.audience_all")


def _rsvp_options(ctx: Context) -> list[tuple[str, int]]:
    """The answers to the next meeting as audiences ("12:yes"), with how many gave each."""
    meeting = next_meeting(ctx.session, ctx.speaker.community_id, ctx.now)
    if meeting is None:
        return []
    count = headcount(ctx.session, meeting)
    given = {Answer.YES: count.yes, Answer.MAYBE: count.maybe, Answer.NO: count.no}
    given[NO_ANSWER] = count.none
    return [(rsvp_audience_value(meeting, answer), n) for answer, n in given.items() if n]


@register
class BroadcastDialog(Dialog):
    name = NAME
    keywords = ("UMUMKAN", "BROADCAST")
    action = ACTION
    menu_key = "broadcast.menu"
    help_key = "broadcast.help"
    menu_order = 50

    def accepts(self, args: str) -> bool:
        return not args.strip() or args.strip().upper() in STATUS_WORDS

    def start(self, ctx: Context, args: str) -> None:
        if args.strip().upper() in STATUS_WORDS:
            self._status(ctx)
            return
        ctx.begin(self.name, "compose")
        running = running_broadcasts(ctx.session, ctx.speaker.community_id)
        if running:
            ctx.say(ctx.t("broadcast.still_running", id=running[-1].id))
        ctx.ask(ctx.t("broadcast.ask_content"))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        step = ctx.step
        if step == "compose":
            return self._compose(ctx, turn)
        if step == "audience":
            return self._audience(ctx, turn)
        if step in GROUP_STEPS:
            return self._group(ctx, turn)
        if step == "confirm":
            return self._confirm(ctx, turn)
        return False

    def reprompt(self, ctx: Context) -> None:
        if ctx.step == "compose":
            ctx.ask(ctx.t("broadcast.ask_content"))
        elif ctx.step == "confirm":
            self._ask_confirm(ctx, again=True)
        elif ctx.step in GROUP_STEPS:
            self._ask_group(ctx, ctx.step, again=True)
        else:
            self._ask_audience(ctx, again=True)

    # --- 1. what ---
    def _compose(self, ctx: Context, turn: Turn) -> bool:
        photo = turn.media[0] if turn.media else None
        if photo is not None and photo.content_type and not photo.content_type.startswith("image/"):
            ctx.ask(ctx.t("broadcast.photo_only"))
            return True
        text = turn.text.strip()
        problem = content_problem(text, photo is not None)
        if problem is not None:
            code, limit = problem
            if code == "empty":
                ctx.ask(ctx.t("broadcast.empty"))
            else:
                ctx.ask(ctx.t("broadcast.too_long", length=text_length(text), limit=limit))
            return True
        ctx.data["text"] = text
        if photo is not None:
            ctx.data["photo"] = [photo.ref, photo.content_type or "image/jpeg", ctx.speaker.channel]
        ctx.goto("audience")
        self._ask_audience(ctx)
        return True

    # --- 2. to whom ---
    def _ask_audience(self, ctx: Context, again: bool = False) -> None:
        everyone = count_audience(ctx.session, ctx.speaker.community_id, Audience("all"))
        choices = [
            Choice("aud:all", ctx.t("broadcast.audience_all_choice", count=everyone.total)),
            Choice("aud:kelurahan", ctx.t("broadcast.audience_kelurahan_choice")),
            Choice("aud:role", ctx.t("broadcast.audience_role_choice")),
        ]
        meeting = next_meeting(ctx.session, ctx.speaker.community_id, ctx.now)
        if meeting is not None:
            choices.append(
                Choice("aud:rsvp", ctx.t("broadcast.audience_rsvp_choice", title=meeting.title))
            )
        ctx.ask(
            ctx.t("broadcast.ask_audience_again" if again else "broadcast.ask_audience"), choices
        )

    def _audience(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice == "aud:all":
            self._preview(ctx, Audience("all"))
            return True
        if turn.choice in ("aud:kelurahan", "aud:role", "aud:rsvp"):
            step = turn.choice.removeprefix("aud:")
            community = ctx.speaker.community_id
            if step == "kelurahan":
                options = kelurahan_options(ctx.session, community)
            elif step == "role":
                options = role_options(ctx.session, community)
            else:
                options = _rsvp_options(ctx)
            if not options:
                ctx.say(ctx.t("broadcast.no_group"))
                self._ask_audience(ctx)
                return True
            ctx.data["options"] = [name for name, _ in options]
            ctx.data["counts"] = [n for _, n in options]
            ctx.goto(step)
            self._ask_group(ctx, step)
            return True
        # Kinds of audience added later (e.g. by RSVP answer) become one more choice here.
        return False

    def _ask_group(self, ctx: Context, step: str, again: bool = False) -> None:
        names: list[str] = ctx.data.get("options", [])
        counts: list[int] = ctx.data.get("counts", [])
        choices = []
        for i, (name, count) in enumerate(zip(names, counts, strict=False)):
            if step == "kelurahan":
                label = name
            elif step == "rsvp":  # "12:yes"
                label = ctx.t(f"broadcast.rsvp.{name.split(':')[1]}")
            else:
                label = ctx.t(f"broadcast.role.{name}")
            choices.append(
                Choice(f"grp:{i}", ctx.t("broadcast.option_count", name=label, count=count))
            )
        key = {"kelurahan": "broadcast.ask_kelurahan", "rsvp": "broadcast.ask_rsvp"}.get(
            step, "broadcast.ask_role"
        )
        ctx.ask(ctx.t("broadcast.ask_group_again" if again else key), choices)

    def _group(self, ctx: Context, turn: Turn) -> bool:
        names: list[str] = ctx.data.get("options", [])
        if not turn.choice or not turn.choice.startswith("grp:"):
            return False
        index = turn.choice.removeprefix("grp:")
        if not index.isdigit() or int(index) >= len(names):
            return False
        self._preview(ctx, Audience(ctx.step or "all", names[int(index)]))
        return True

    # --- 3. check and send ---
    def _preview(self, ctx: Context, audience: Audience) -> None:
        count = count_audience(ctx.session, ctx.speaker.community_id, audience)
        if count.reachable == 0:
            ctx.say(ctx.t("broadcast.no_audience"))
            ctx.goto("audience")
            self._ask_audience(ctx)
            return
        ctx.data["audience"] = audience.as_json()
        ctx.goto("confirm")
        ctx.say(ctx.t("broadcast.preview_intro"))
        photo = ctx.data.get("photo")
        media = (Media(photo[0], photo[1]),) if photo else ()
        ctx.say(ctx.data.get("text", ""), media=media)
        self._ask_confirm(ctx)

    def _ask_confirm(self, ctx: Context, again: bool = False) -> None:
        audience = Audience.from_json(ctx.data.get("audience") or {})
        count = count_audience(ctx.session, ctx.speaker.community_id, audience)
        lines = [
            ctx.t(
                "broadcast.confirm",
                count=count.reachable,
                audience=_audience_label(ctx, audience),
            )
        ]
        if count.opted_out:
            lines.append(ctx.t("broadcast.confirm_opted_out", count=count.opted_out))
        if again:
            lines = [ctx.t("broadcast.confirm_again")]
        ctx.ask(
            "\n".join(lines),
            [
                Choice(SEND, ctx.t("broadcast.send_choice")),
                Choice(CANCEL, ctx.t("broadcast.cancel_choice")),
            ],
            cancel=None,  # "2. Batal" is there already (and 0 cancels too)
        )

    def _confirm(self, ctx: Context, turn: Turn) -> bool:
        if turn.choice != SEND:
            return False
        if not ctx.require(ACTION, target="broadcast"):  # the role may have changed meanwhile
            ctx.finish()
            return True
        audience = Audience.from_json(ctx.data.get("audience") or {})
        community = ctx.speaker.community_id
        if count_audience(ctx.session, community, audience).reachable == 0:
            ctx.say(ctx.t("broadcast.no_audience"))
            ctx.goto("audience")
            self._ask_audience(ctx)
            return True
        media_id = None
        photo = ctx.data.get("photo")
        if photo:
            media = create_media(
                ctx.session,
                community_id=community,
                source_channel=photo[2],
                source_ref=photo[0],
                content_type=photo[1],
                now=ctx.now,
            )
            media_id = media.id
        member = ctx.speaker.member
        broadcast = create_broadcast(
            ctx.session,
            community_id=community,
            text=ctx.data.get("text", ""),
            audience=audience,
            now=ctx.now,
            author_member_id=member.id if member else None,
            author_identity_id=ctx.speaker.identity.id,
            media_id=media_id,
        )
        ctx.audit(
            ACTION,
            target=f"broadcast:{broadcast.id}",
            recipients=broadcast.total,
            audience=audience.as_json(),
        )
        ctx.finish()
        ctx.say(ctx.t("broadcast.started", id=broadcast.id, count=broadcast.total))
        return True

    # --- UMUMKAN STATUS (also typed as UMUMKAN LAPORAN or UMUMKAN HASIL) ---
    def _status(self, ctx: Context) -> None:
        _status(ctx)


def _status(ctx: Context) -> None:
    broadcast = latest_broadcast(ctx.session, ctx.speaker.community_id)
    if broadcast is None or broadcast.id is None:
        ctx.say(ctx.t("broadcast.none_yet"))
        return
    ctx.say(summary_text(ctx.t, broadcast, broadcast_counts(ctx.session, broadcast.id)))


@register
class BroadcastStatusDialog(Dialog):
    """UMUMKAN STATUS: the figures of the latest broadcast (its own line in BANTUAN)."""

    name = "broadcast_status"
    keywords = ("UMUMKAN STATUS", "BROADCAST STATUS")
    action = ACTION
    help_key = "broadcast.help_status"
    menu_order = 51

    def start(self, ctx: Context, args: str) -> None:
        _status(ctx)

    def handle(self, ctx: Context, turn: Turn) -> bool:
        return False


@register
class StopBroadcastDialog(Dialog):
    """UMUMKAN HENTIKAN: stop every broadcast of the community that is still being sent."""

    name = "broadcast_stop"
    # UMUMKAN HENTIKAN beside UMUMKAN STATUS; the older order (the progress button's payload,
    # STOP_KEYWORD) still works.
    keywords = (
        "UMUMKAN HENTIKAN",
        STOP_KEYWORD,
        "HENTIKAN PENGUMUMAN",
        "BROADCAST STOP",
        "HALT BROADCAST",
    )
    action = ACTION
    help_key = "broadcast.help_stop"
    menu_order = 52

    def start(self, ctx: Context, args: str) -> None:
        running = running_broadcasts(ctx.session, ctx.speaker.community_id)
        if not running:
            ctx.say(ctx.t("broadcast.stop_none"))
            return
        for broadcast in running:
            skipped = stop_broadcast(ctx.session, broadcast, ctx.now)
            ctx.audit("broadcast.stop", target=f"broadcast:{broadcast.id}", skipped=skipped)
            ctx.say(ctx.t("broadcast.stopped", id=broadcast.id, skipped=skipped))

    def handle(self, ctx: Context, turn: Turn) -> bool:
        return False
