"""Members: lookup by phone, registration, approval, opt-out, personal data and anonymisation."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Identity, Member, MemberStatus, Role
from wlcc.formatting import utcnow

NAME_MAX = 100
KELURAHAN_MAX = 64

ROLE_ALIASES = {
    "member": Role.MEMBER,
    "anggota": Role.MEMBER,
    "coordinator": Role.COORDINATOR,
    "koordinator": Role.COORDINATOR,
    "pengurus": Role.COORDINATOR,
    "treasurer": Role.TREASURER,
    "bendahara": Role.TREASURER,
    "admin": Role.ADMIN,
    "protection officer": Role.PROTECTION_OFFICER,
    "protection_officer": Role.PROTECTION_OFFICER,
    "petugas perlindungan": Role.PROTECTION_OFFICER,
}


class InvalidValue(ValueError):
    """A value a person typed or a CSV cell is not acceptable; ``code`` names why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def clean_name(raw: str) -> str:
    """A person's name as typed, tidied; InvalidValue('name.empty'|'name.too_long'|...)."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise InvalidValue("name.empty")
    if len(text) > NAME_MAX:
        raise InvalidValue("name.too_long")
    if not any(c.isalpha() for c in text):
        raise InvalidValue("name.no_letters")
    return text


def clean_kelurahan(raw: str) -> str | None:
    text = " ".join(raw.split())
    if not text:
        return None
    if len(text) > KELURAHAN_MAX:
        raise InvalidValue("kelurahan.too_long")
    return text


def parse_role(raw: str) -> str:
    role = ROLE_ALIASES.get(" ".join(raw.strip().lower().replace("-", " ").split()))
    if role is None:
        raise InvalidValue("role.unknown")
    return role


def first_name(member: Member) -> str:
    return first_name_of(member.name)


def first_name_of(name: str) -> str:
    """ "Nabila" of "Nabila Putri": how the bot calls her ("Bu Nabila")."""
    return name.split()[0] if name.split() else name


def members_on_phone(session: Session, community_id: int, phone: str) -> list[Member]:
    """Everyone (pending or active) reachable through this phone, in a stable order."""
    rows = session.exec(
        select(Member)
        .where(
            Member.community_id == community_id,
            Member.phone == phone,
            col(Member.status).in_([MemberStatus.ACTIVE, MemberStatus.PENDING]),
            col(Member.anonymised_at).is_(None),
        )
        .order_by(col(Member.id))
    )
    return list(rows)


def get_member(session: Session, member_id: int, community_id: int) -> Member | None:
    member = session.get(Member, member_id)
    if member is None or member.community_id != community_id:
        return None
    return member


def staff(session: Session, community_id: int, roles: tuple[str, ...]) -> list[Member]:
    return list(
        session.exec(
            select(Member)
            .where(
                Member.community_id == community_id,
                Member.status == MemberStatus.ACTIVE,
                col(Member.role).in_(roles),
                col(Member.anonymised_at).is_(None),
            )
            .order_by(col(Member.id))
        )
    )


def register(
    session: Session,
    *,
    community_id: int,
    name: str,
    phone: str,
    kelurahan: str | None,
    language: str | None,
    now: datetime | None = None,
) -> Member:
    """A self-registered person, pending until a coordinator approves."""
    now = now or utcnow()
    member = Member(
        community_id=community_id,
        name=name,
        name_key=name_key(name),
        phone=phone,
        kelurahan=kelurahan,
        role=Role.MEMBER,
        language=language,
        status=MemberStatus.PENDING,
        consent_at=now,
        consent_asked_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(member)
    session.flush()
    return member


def find_by_phone_and_name(
    session: Session, community_id: int, phone: str, name: str
) -> Member | None:
    return session.exec(
        select(Member).where(
            Member.community_id == community_id,
            Member.phone == phone,
            Member.name_key == name_key(name),
        )
    ).first()


def find_by_name(session: Session, community_id: int, query: str) -> list[Member]:
    """Members (not anonymised) a typed name may mean, forgiving case, extra spaces and a small
    typo: the whole name, else every typed word starting a word of
    the name in order ("siti", "ani les"), else the closest names."""
    wanted = name_key(query)
    if not wanted:
        return []
    members = [
        m
        for m in session.exec(
            select(Member)
            .where(Member.community_id == community_id, col(Member.anonymised_at).is_(None))
            .order_by(col(Member.id))
        )
        if m.name_key
    ]
    exact = [m for m in members if m.name_key == wanted]
    if exact:
        return exact
    words = wanted.split()

    def starts(key: str) -> bool:
        parts = key.split()
        i = 0
        for word in words:
            while i < len(parts) and not parts[i].startswith(word):
                i += 1
            if i == len(parts):
                return False
            i += 1
        return True

    prefix = [m for m in members if starts(m.name_key)]
    if prefix:
        return prefix
    keys = {m.name_key: m for m in members}
    close = difflib.get_close_matches(wanted, list(keys), n=5, cutoff=0.75)
    return [keys[k] for k in close]


def set_status(session: Session, member: Member, status: str, now: datetime | None = None) -> None:
    member.status = status
    member.updated_at = now or utcnow()
    session.add(member)


def set_opt_out(session: Session, member: Member, opted_out: bool, now: datetime) -> None:
    member.opted_out = opted_out
    member.opted_out_at = now if opted_out else None
    member.updated_at = now
    session.add(member)


def record_consent(session: Session, member: Member, given: bool, now: datetime) -> None:
    member.consent_asked_at = now
    if given:
        member.consent_at = now
    member.updated_at = now
    session.add(member)


def identities_of(session: Session, member: Member) -> list[Identity]:
    if not member.phone:
        return []
    return list(
        session.exec(
            select(Identity).where(Identity.phone == member.phone).order_by(col(Identity.id))
        )
    )


def anonymise(session: Session, member: Member, now: datetime) -> None:
    """Erase what identifies a person; the row stays so the ledger keeps its history."""
    assert member.id is not None
    for identity in identities_of(session, member):
        others = [
            m
            for m in members_on_phone(session, member.community_id, identity.phone or "")
            if m.id != member.id
        ]
        if not others:  # a family phone still used by others keeps its link
            identity.phone = None
            identity.display_name = None
            session.add(identity)
    member.name = f"Anggota #{member.id}"
    member.name_key = f"#anon-{member.id}"
    member.phone = None
    member.kelurahan = None
    member.rt_rw = None
    member.accessibility_note = None
    member.status = MemberStatus.INACTIVE
    member.opted_out = True
    member.anonymised_at = now
    member.updated_at = now
    session.add(member)


@dataclass(frozen=True)
class LinkedChannel:
    channel: str
    address: str


def linked_channels(session: Session, member: Member) -> list[LinkedChannel]:
    return [LinkedChannel(i.channel, i.address) for i in identities_of(session, member)]
