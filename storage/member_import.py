"""Member CSV import and export (``name,phone,kelurahan,role``).

Parsing checks the whole file first: every bad row is reported by its line number and nothing
is written unless the file is clean (or the caller asks for only the good rows). Importing the
same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from storage.members import (
    InvalidValue,
    clean_kelurahan,
    clean_name,
    name_key,
    parse_role,
)
from storage.models import Member, MemberStatus
from wlcc.formatting import utcnow
from wlcc.phones import to_e164

COLUMNS = ("name", "phone", "kelurahan", "role")
OPTIONAL_COLUMNS = ("rt_rw", "accessibility_note")
MAX_BYTES = 20 * 1024 * 1024

_REASONS = {
    "name.empty": "name is empty",
    "name.too_long": "name is longer than 100 characters",
    "name.no_letters": "name has no letters",
    "kelurahan.too_long": "kelurahan is longer than 64 characters",
    "role.unknown": "unknown role (use member, coordinator, treasurer, admin, protection_officer)",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, size). ``code`` and ``params``
    say why for a page in another language (the console): ``file.too_big`` (mb),
    ``file.not_utf8`` (byte), ``file.empty``, ``file.missing_columns`` (line, columns),
    ``file.not_csv`` (line), ``file.no_header``."""

    def __init__(self, message: str, code: str = "", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class MemberRow:
    line: int
    name: str
    phone: str
    kelurahan: str | None
    role: str
    rt_rw: str | None = None
    accessibility_note: str | None = None


@dataclass(frozen=True)
class RowError:
    """A bad row: ``message`` in English (the CLI's words); ``code`` and ``params`` say the
    same for a page in another language: a reason of :data:`_REASONS`, ``phone.invalid``
    (phone) or ``duplicate`` (first)."""

    line: int
    message: str
    code: str = field(default="", compare=False)
    params: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass
class ImportPlan:
    rows: list[MemberRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def shared_phones(self) -> dict[str, list[str]]:
        """Phones used by more than one name: family phones, reported but not an error."""
        names: dict[str, list[str]] = defaultdict(list)
        for row in self.rows:
            names[row.phone].append(row.name)
        return {phone: ns for phone, ns in names.items() if len(ns) > 1}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        mb = MAX_BYTES // (1024 * 1024)
        raise ImportFileError(f"the file is larger than {mb} MB", "file.too_big", mb=mb)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"the file is not UTF-8 (byte {exc.start}); in the spreadsheet choose "
            "'Save as CSV UTF-8'",
            "file.not_utf8",
            byte=exc.start,
        ) from None


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def parse_members_csv(data: bytes) -> ImportPlan:
    text = _decode(data)
    if not text.strip():
        raise ImportFileError("the file is empty", "file.empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header: list[str] | None = None
    plan = ImportPlan()
    seen: dict[tuple[str, str], int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in raw):
                    continue
                header = [cell.strip().lower() for cell in raw]
                missing = [c for c in COLUMNS if c not in header]
                if missing:
                    raise ImportFileError(
                        f"line {line}: the header lacks column(s) {', '.join(missing)}; "
                        f"expected {','.join(COLUMNS)}",
                        "file.missing_columns",
                        line=line,
                        columns=", ".join(missing),
                    )
                continue
            if not any(cell.strip() for cell in raw):
                continue
            cells = dict(zip(header, raw, strict=False))
            row_or_error = _parse_row(line, cells)
            if isinstance(row_or_error, RowError):
                plan.errors.append(row_or_error)
                continue
            key = (row_or_error.phone, name_key(row_or_error.name))
            if key in seen:
                plan.errors.append(
                    RowError(
                        line,
                        f"same name and phone as line {seen[key]}",
                        "duplicate",
                        {"first": seen[key]},
                    )
                )
                continue
            seen[key] = line
            plan.rows.append(row_or_error)
    except csv.Error as exc:
        raise ImportFileError(
            f"line {reader.line_num}: not valid CSV ({exc})", "file.not_csv", line=reader.line_num
        ) from None
    if header is None:
        raise ImportFileError("the file has no header line", "file.no_header")
    return plan


def _parse_row(line: int, cells: dict[str, str]) -> MemberRow | RowError:
    try:
        name = clean_name(cells.get("name", ""))
        kelurahan = clean_kelurahan(cells.get("kelurahan", ""))
        role = parse_role(cells.get("role", "") or "member")
    except InvalidValue as exc:
        return RowError(line, _REASONS.get(exc.code, exc.code), exc.code)
    raw_phone = cells.get("phone", "").strip()
    phone = to_e164(raw_phone)
    if phone is None:
        shown = raw_phone[:40] or "(empty)"
        return RowError(
            line, f"phone {shown!r} is not a valid phone number", "phone.invalid", {"phone": shown}
        )
    rt_rw = " ".join(cells.get("rt_rw", "").split())[:16] or None
    note = " ".join(cells.get("accessibility_note", "").split())[:200] or None
    return MemberRow(
        line=line,
        name=name,
        phone=phone,
        kelurahan=kelurahan,
        role=role,
        rt_rw=rt_rw,
        accessibility_note=note,
    )


def apply_import(
    session: Session,
    community_id: int,
    rows: Iterable[MemberRow],
    progress: Callable[[], None] | None = None,
) -> ImportResult:
    """Add the new rows, update the members whose row differs (same phone and folded name);
    the members are looked up a chunk of phones at a time, not one query a row."""
    rows = list(rows)
    existing = _existing(session, community_id, rows)
    created = updated = unchanged = 0
    now = utcnow()
    for row in rows:
        key = (row.phone, name_key(row.name))
        member = existing.get(key)
        if member is None:
            member = Member(
                community_id=community_id,
                name=row.name,
                name_key=name_key(row.name),
                phone=row.phone,
                kelurahan=row.kelurahan,
                role=row.role,
                rt_rw=row.rt_rw,
                accessibility_note=row.accessibility_note,
                status=MemberStatus.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            session.add(member)
            existing[key] = member  # a second row for her changes her, as a later import would
            created += 1
        elif _differs(member, row):
            member.kelurahan, member.role, member.name = row.kelurahan, row.role, row.name
            if row.rt_rw is not None:
                member.rt_rw = row.rt_rw
            if row.accessibility_note is not None:
                member.accessibility_note = row.accessibility_note
            member.updated_at = now
            session.add(member)
            updated += 1
        else:
            unchanged += 1
        if progress is not None:
            progress()
    session.flush()
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


LOOKUP_CHUNK = 500  # phones per lookup


def _existing(
    session: Session, community_id: int, rows: list[MemberRow]
) -> dict[tuple[str | None, str], Member]:
    """The community's members with the rows' phones, by (phone, folded name): the key
    :func:`storage.members.find_by_phone_and_name` looks up."""
    phones = sorted({row.phone for row in rows})
    found: dict[tuple[str | None, str], Member] = {}
    for start in range(0, len(phones), LOOKUP_CHUNK):
        chunk = phones[start : start + LOOKUP_CHUNK]
        for known in session.exec(
            select(Member).where(Member.community_id == community_id, col(Member.phone).in_(chunk))
        ):
            found[(known.phone, known.name_key)] = known
    return found


@dataclass(frozen=True)
class ImportPreview:
    """What :func:`apply_import` would do with these rows, nothing written: the new rows, the
    rows that change a member (with her as she is now) and how many change nothing."""

    created: list[MemberRow]
    updated: list[tuple[MemberRow, Member]]
    unchanged: int


def preview_import(session: Session, community_id: int, rows: list[MemberRow]) -> ImportPreview:
    """What :func:`apply_import` would do with these rows (the same lookup and comparison),
    writing nothing."""
    existing = _existing(session, community_id, rows)
    created: list[MemberRow] = []
    updated: list[tuple[MemberRow, Member]] = []
    unchanged = 0
    for row in rows:
        member = existing.get((row.phone, name_key(row.name)))
        if member is None:
            created.append(row)
        elif _differs(member, row):
            updated.append((row, member))
        else:
            unchanged += 1
    return ImportPreview(created=created, updated=updated, unchanged=unchanged)


def _differs(member: Member, row: MemberRow) -> bool:
    if (member.kelurahan, member.role, member.name) != (row.kelurahan, row.role, row.name):
        return True
    return (row.rt_rw is not None and row.rt_rw != member.rt_rw) or (
        row.accessibility_note is not None and row.accessibility_note != member.accessibility_note
    )


def export_members_csv(session: Session, community_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "status"])
    members = session.exec(
        select(Member)
        .where(Member.community_id == community_id, col(Member.anonymised_at).is_(None))
        .order_by(col(Member.id))
    )
    for m in members:
        writer.writerow([m.name, m.phone or "", m.kelurahan or "", m.role, m.status])
    return out.getvalue()
