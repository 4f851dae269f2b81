"""Chat identities (a Telegram chat, a WhatsApp number) and the community they write to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, select

from storage.models import DEFAULT_COMMUNITY_SLUG, Community, Identity
from wlcc.formatting import utcnow

TOUCH_PRECISION = timedelta(minutes=1)
# Built once: every message looks its chat up; building the statement costs more than running it.
_BY_ADDRESS = select(Identity).where(
    Identity.channel == bindparam("channel"), Identity.address == bindparam("address")
)


class CommunityMissing(RuntimeError):
    pass


def default_community(session: Session) -> Community:
    community = session.exec(
        select(Community).where(Community.slug == DEFAULT_COMMUNITY_SLUG)
    ).first()
    if community is None:
        community = session.exec(select(Community).order_by(Community.id)).first()  # type: ignore[arg-type]
    if community is None:
        raise CommunityMissing("no community exists: run `wlcc db upgrade`")
    return community


def touch_identity(
    session: Session,
    *,
    channel: str,
    address: str,
    phone: str | None = None,
    display_name: str | None = None,
    now: datetime | None = None,
) -> Identity:
    """The identity for a chat address, created on first contact; records the last message time."""
    identity = session.exec(_BY_ADDRESS, params={"channel": channel, "address": address}).first()
    now = now or utcnow()
    if identity is None:
        community = default_community(session)
        assert community.id is not None
        identity = Identity(
            community_id=community.id,
            channel=channel,
            address=address,
            phone=phone,
            display_name=(display_name or None) and display_name[:200],
            first_seen_at=now,
        )
        identity.last_inbound_at = now
        session.add(identity)
        session.flush()
        return identity
    if phone and identity.phone != phone:
        identity.phone = phone
    if identity.unreachable:  # she wrote: the platform's refusal is over
        identity.unreachable = False
    last = identity.last_inbound_at
    # Minute precision is enough (WhatsApp's 24-hour window); most messages then write nothing.
    if last is None or now - last >= TOUCH_PRECISION or now < last:
        identity.last_inbound_at = now
    return identity


def set_language(session: Session, identity: Identity, language: str) -> None:
    identity.language = language
    session.add(identity)
