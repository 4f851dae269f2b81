"""CSV import and export of members: good files, broken files, re-imports, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from storage.identities import default_community
from storage.member_import import (
    ImportFileError,
    apply_import,
    export_members_csv,
    parse_members_csv,
)
from storage.models import Member

GOOD = (
    "name,phone,kelurahan,role,catatan\n"
    "Siti Aminah,0812-3456-7890,23 Ilir,member,extra columns are ignored\n"
    "Rina Wulandari,+62 812 0000 0002,24 Ilir,Coordinator,\n"
    "Fatimah,6281200000004,19 Ilir,anggota,\n"
    "Ani Lestari,081200000004,19 Ilir,member,\n"
    "\n"
    "Dewi Sartika,081200000005,,bendahara,\n"
)


def _community(session) -> int:
    community = default_community(session)
    assert community.id is not None
    return community.id


def test_good_file_parses_every_spelling_of_a_phone():
    plan = parse_members_csv(GOOD.encode())
    assert plan.errors == []
    assert [(r.name, r.phone, r.role) for r in plan.rows] == [
        ("Siti Aminah", "+6281234567890", "member"),
        ("Rina Wulandari", "+6281200000002", "coordinator"),
        ("Fatimah", "+6281200000004", "member"),
        ("Ani Lestari", "+6281200000004", "member"),
        ("Dewi Sartika", "+6281200000005", "treasurer"),
    ]
    assert plan.rows[4].kelurahan is None
    assert plan.shared_phones == {"+6281200000004": ["Fatimah", "Ani Lestari"]}


@pytest.mark.parametrize(
    "encoded",
    [
        ("\ufeff" + GOOD).encode("utf-8"),  # Excel's "CSV UTF-8" starts with a BOM
        GOOD.replace(",", ";").encode(),  # Indonesian spreadsheets export with semicolons
        GOOD.replace("\n", "\r\n").encode(),
    ],
    ids=["bom", "semicolon", "crlf"],
)
def test_spreadsheet_variants(encoded: bytes):
    plan = parse_members_csv(encoded)
    assert plan.errors == []
    assert len(plan.rows) == 5


def test_bad_rows_are_reported_by_line():
    data = (
        "name,phone,kelurahan,role\n"
        "Siti,0812-3456-7890,23 Ilir,member\n"
        ",081200000009,23 Ilir,member\n"
        "Budi,12345,23 Ilir,member\n"
        "Citra,081200000010,23 Ilir,ketua\n" + "X" * 500 + ",081200000011,23 Ilir,member\n"
        "🌸🌸🌸,081200000012,23 Ilir,member\n"
        "Siti,0812 3456 7890,23 Ilir,member\n"
    ).encode()
    plan = parse_members_csv(data)
    assert [(e.line, e.message) for e in plan.errors] == [
        (3, "name is empty"),
        (4, "phone '12345' is not a valid phone number"),
        (5, "unknown role (use member, coordinator, treasurer, admin, protection_officer)"),
        (6, "name is longer than 100 characters"),
        (7, "name has no letters"),
        (8, "same name and phone as line 2"),
    ]
    assert [r.name for r in plan.rows] == ["Siti"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"nama,hp\nSiti,0812\n", r"lacks column\(s\) name, phone, kelurahan, role"),
        (b"name,phone,role\nSiti,0812,member\n", r"lacks column\(s\) kelurahan"),
        ("name,phone,kelurahan,role\nSíti,0812,23,member\n".encode("cp1252"), "not UTF-8"),
        (b"\n\n", "empty"),
    ],
)
def test_unreadable_files_are_refused_whole(data: bytes, message: str):
    with pytest.raises(ImportFileError, match=message):
        parse_members_csv(data)


def test_import_is_idempotent_and_updates_changes(db):
    plan = parse_members_csv(GOOD.encode())
    with db.transaction() as session:
        first = apply_import(session, _community(session), plan.rows)
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)
    with db.transaction() as session:
        again = apply_import(session, _community(session), plan.rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    moved = parse_members_csv(
        GOOD.replace(
            "Siti Aminah,0812-3456-7890,23 Ilir", "Siti Aminah,0812-3456-7890,24 Ilir"
        ).encode()
    )
    with db.transaction() as session:
        changed = apply_import(session, _community(session), moved.rows)
        assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 4)
        members = session.exec(select(Member)).all()
        assert len(members) == 5
        assert {m.kelurahan for m in members if m.name == "Siti Aminah"} == {"24 Ilir"}


def test_export_round_trips(db):
    with db.transaction() as session:
        apply_import(session, _community(session), parse_members_csv(GOOD.encode()).rows)
        text = export_members_csv(session, _community(session))
    lines = text.splitlines()
    assert lines[0] == "name,phone,kelurahan,role,status"
    assert "Siti Aminah,+6281234567890,23 Ilir,member,active" in lines
    assert parse_members_csv(text.encode()).errors == []


def _wlcc(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env["DATABASE_URL"] = url
    wlcc = Path(sys.executable).parent / "wlcc"
    return subprocess.run(  # noqa: S603 (our own console command)
        [str(wlcc), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_import_reports_and_imports_nothing_until_clean(tmp_path, db, database_url):
    broken = tmp_path / "anggota.csv"
    broken.write_text(GOOD + "Budi,12345,23 Ilir,member\n", encoding="utf-8")
    result = _wlcc(["members", "import", str(broken)], tmp_path, database_url)
    assert result.returncode == 1
    assert "line 8: phone '12345' is not a valid phone number" in result.stderr
    assert "nothing was imported" in result.stderr
    with db.transaction() as session:
        assert session.exec(select(Member)).all() == []

    result = _wlcc(["members", "import", "--only-valid", str(broken)], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "Imported 5 new, 0 updated, 0 unchanged member(s); skipped 1 bad row(s)." in (
        " ".join(result.stdout.split())
    )
    assert "Shared family phone" in result.stdout

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = _wlcc(["members", "import", str(good)], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "0 new, 0 updated, 5 unchanged" in result.stdout

    result = _wlcc(["members", "export"], tmp_path, database_url)
    assert result.returncode == 0
    assert result.stdout.count("\n") == 6


def test_cli_import_missing_file_and_bad_encoding(tmp_path, database_url):
    result = _wlcc(["members", "import", str(tmp_path / "missing.csv")], tmp_path, database_url)
    assert result.returncode == 1
    assert "Cannot read" in result.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,phone,kelurahan,role\nSíti,0812,23,member\n".encode("cp1252"))
    result = _wlcc(["members", "import", str(latin)], tmp_path, database_url)
    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
