"""``wlcc complaints``: list, show, status, publish, export, as a coordinator runs them (the
real command on the test database)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from cli.main import app
from storage.complaints import (
    NOTICE_KIND,
    Category,
    Complaint,
    Intake,
    Status,
    add_note,
    create_complaint,
    join_complaint,
)
from storage.db import Database
from storage.models import AuditLog, OutboxMessage
from tests.outbox_support import add_member
from wlcc.formatting import utcnow

runner = CliRunner()
SITI_PHONE = "+6281200000011"
INTERNAL = "CATATAN-INTERNAL-7731"


@pytest.fixture
def env(database_url: str, clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return database_url


@pytest.fixture
def tickets(env: str, db: Database) -> dict[str, str]:
    """Siti's leak with a pin in 23 Ilir (10 days old, joined by Ani), a smell by address in
    19 Ilir (today), a resolved excavation."""
    now = utcnow()
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", SITI_PHONE, kelurahan="23 Ilir")
        ani = add_member(session, "Ani", "+6281200000012", kelurahan="23 Ilir", language="en")
        leak = create_complaint(
            session,
            community_id=1,
            intake=Intake(
                category=Category.LEAK,
                description="Pipa bocor depan rumah",
                latitude=-2.991234,
                longitude=104.756789,
                kelurahan="23 Ilir",
                rt_rw="3/5",
            ),
            identity_id=None,
            member_id=siti.id,
            channel="whatsapp",
            now=now - timedelta(days=10),
        )
        join_complaint(session, leak, identity_id=None, member_id=ani.id)
        add_note(session, leak, INTERNAL, actor_member_id=None, actor_label="cli")
        smell = create_complaint(
            session,
            community_id=1,
            intake=Intake(
                category=Category.SMELL,
                description="Bau menyengat",
                address="Jl. Kenanga",
                kelurahan="19 Ilir",
            ),
            identity_id=None,
            member_id=siti.id,
            channel="telegram",
            now=now,
        )
        dug = create_complaint(
            session,
            community_id=1,
            intake=Intake(category=Category.EXCAVATION, description="Galian", kelurahan="24 Ilir"),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=now - timedelta(days=3),
        )
        dug.status = Status.RESOLVED
        dug.resolved_at = now
        session.add(dug)
        return {"leak": leak.code, "smell": smell.code, "dug": dug.code}


def wlcc(*args: str) -> Result:
    return runner.invoke(app, ["complaints", *args])


def said(result: Result) -> str:
    return " ".join(result.output.split())


def test_list_shows_open_tickets_by_age_and_kelurahan(tickets: dict[str, str]) -> None:
    result = wlcc("list")
    assert result.exit_code == 0, result.output
    text = said(result)
    assert tickets["leak"] in text and tickets["smell"] in text
    assert tickets["dug"] not in text  # resolved
    # Oldest first; the 10-day-old one is past its 3 working days.
    assert text.index(tickets["leak"]) < text.index(tickets["smell"])
    assert "OVERDUE" in text
    assert "23 Ilir 1 10" in text and "19 Ilir 1 0" in text
    assert SITI_PHONE not in result.output and "Siti" not in result.output


def test_list_filters(tickets: dict[str, str]) -> None:
    assert tickets["leak"] not in wlcc("list", "--kelurahan", "kel. 19 ilir").output
    assert tickets["smell"] not in wlcc("list", "--overdue").output
    assert tickets["dug"] in wlcc("list", "--status", "resolved").output
    assert tickets["leak"] not in wlcc("list", "--category", "smell").output
    bad = wlcc("list", "--status", "lost")
    assert bad.exit_code == 2 and "unknown status 'lost'" in said(bad)


def test_show_forgives_case_and_spacing(tickets: dict[str, str], db: Database) -> None:
    code = tickets["leak"]
    typed = code.lower().replace("-", " ")
    result = wlcc("show", typed)
    assert result.exit_code == 0, result.output
    text = said(result)
    assert code in text and "Pipa bocor" in text and "-2.991234, 104.756789" in text
    assert "reporters 2" in text and INTERNAL in text  # coordinators see internal notes
    assert "OVERDUE" in text
    assert SITI_PHONE not in result.output
    with db.transaction() as session:
        audit = session.exec(select(AuditLog).where(AuditLog.action == "complaint.view")).all()
        assert [a.target for a in audit] == [code]


def test_show_unknown_and_malformed_codes(tickets: dict[str, str]) -> None:
    result = wlcc("show", "AL-XXXXX")
    assert result.exit_code == 1 and "No ticket AL-XXXXX" in said(result)
    result = wlcc("show", "hello")
    assert result.exit_code == 1 and "is not a ticket code" in said(result)


def test_status_change_reaches_every_reporter(tickets: dict[str, str], db: Database) -> None:
    code = tickets["leak"]
    result = wlcc("status", code, "verified", "--note", "Sudah dicek ke lokasi")
    assert result.exit_code == 0, result.output
    assert f"{code}: received -> verified" in said(result)
    result = wlcc("status", code.lower(), "forwarded", "--to", "Dinas PUPR Kota Palembang")
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        complaint = session.exec(select(Complaint).where(Complaint.code == code)).one()
        assert complaint.status == Status.FORWARDED
        assert complaint.forwarded_to == "Dinas PUPR Kota Palembang"
        notices = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.kind) == NOTICE_KIND)
            .where(col(OutboxMessage.member_id).is_not(None))
            .where(col(OutboxMessage.key).like(f"complaint:{complaint.id}:event:%"))
        ).all()
    # Two changes, two reporters (Siti and Ani, who joined): four notices, each in her language.
    assert len(notices) == 4
    assert any("Sudah dicek ke lokasi" in n.text for n in notices)
    assert any("Dinas PUPR" in n.text for n in notices)
    assert INTERNAL not in " ".join(n.text for n in notices)


@pytest.mark.parametrize(
    "args, message",
    [
        (("forwarded",), "received: it can go to verified, rejected, duplicate"),
        (("received",), "is already received"),
        (("lost",), "unknown status 'lost'"),
        (("duplicate",), "duplicate needs --of"),
    ],
)
def test_impossible_changes_are_refused(
    tickets: dict[str, str], db: Database, args: tuple[str, ...], message: str
) -> None:
    result = wlcc("status", tickets["leak"], *args)
    assert result.exit_code == 1
    assert message in said(result)
    with db.transaction() as session:
        complaint = session.exec(select(Complaint).where(Complaint.code == tickets["leak"])).one()
        assert complaint.status == Status.RECEIVED


def test_forwarded_needs_to_whom(tickets: dict[str, str]) -> None:
    assert wlcc("status", tickets["leak"], "verified").exit_code == 0
    result = wlcc("status", tickets["leak"], "forwarded")
    assert result.exit_code == 1 and "forwarded needs --to" in said(result)


def test_a_duplicate_joins_the_open_ticket(tickets: dict[str, str], db: Database) -> None:
    result = wlcc("status", tickets["smell"], "duplicate", "--of", tickets["leak"])
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        smell = session.exec(select(Complaint).where(Complaint.code == tickets["smell"])).one()
        assert smell.status == Status.DUPLICATE


def test_publish_and_take_back(tickets: dict[str, str], db: Database) -> None:
    assert "public on Open311" in said(wlcc("publish", tickets["leak"]))
    with db.transaction() as session:
        assert session.exec(
            select(Complaint.public_description).where(Complaint.code == tickets["leak"])
        ).one()
    assert "private again" in said(wlcc("publish", tickets["leak"], "--off"))


def test_export_csv_has_no_personal_data(tickets: dict[str, str]) -> None:
    result = wlcc("export", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["code"] for r in rows] == [tickets["leak"], tickets["dug"], tickets["smell"]]
    leak = rows[0]
    assert leak["latitude"] == "-2.991234" and leak["longitude"] == "104.756789"
    assert leak["reporters"] == "2" and leak["rt_rw"] == "003/005"
    assert leak["description"] == "Pipa bocor depan rumah" and leak["description_public"] == "no"
    assert leak["overdue"].startswith("verify:")
    assert rows[2]["latitude"] == ""  # no pin
    assert SITI_PHONE not in result.output and "Siti" not in result.output
    assert "Ani" not in result.output and INTERNAL not in result.output


def test_export_filters(tickets: dict[str, str], tmp_path: Path) -> None:
    today = utcnow().date()
    out = tmp_path / "open.csv"
    result = wlcc(
        "export", "--status", "received,verified", "--kelurahan", "23 ilir", "-o", str(out)
    )
    assert result.exit_code == 0 and "1 tickets written" in said(result)
    assert [r["code"] for r in csv.DictReader(out.open())] == [tickets["leak"]]
    since = (today - timedelta(days=5)).isoformat()
    result = wlcc("export", "--from", since, "--category", "excavation")
    assert [r["code"] for r in csv.DictReader(io.StringIO(result.output))] == [tickets["dug"]]
    assert wlcc("export", "--from", "yesterday").exit_code == 2
    assert wlcc("export", "--from", "2026-12-10", "--to", "2026-12-01").exit_code == 2
    assert wlcc("export", "--format", "xlsx").exit_code == 2


def test_export_geojson_is_rfc7946(tickets: dict[str, str], db: Database) -> None:
    result = wlcc("export", "--format", "geojson")
    assert result.exit_code == 0, result.output
    collection = json.loads(result.output)
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    by_id = {f["id"]: f for f in collection["features"]}
    leak = by_id[tickets["leak"]]
    assert leak["type"] == "Feature"
    assert leak["geometry"] == {"type": "Point", "coordinates": [104.756789, -2.991234]}
    assert leak["properties"]["reporters"] == 2 and "latitude" not in leak["properties"]
    assert by_id[tickets["smell"]]["geometry"] is None
    assert SITI_PHONE not in result.output and INTERNAL not in result.output
    with db.transaction() as session:
        audit = session.exec(select(AuditLog).where(AuditLog.action == "complaint.export")).one()
        assert audit.channel == "cli"


def test_notices_plan_counts_the_escalations(tickets: dict[str, str]) -> None:
    result = runner.invoke(app, ["notices", "plan"])
    assert result.exit_code == 0, result.output
    assert "complaints flagged overdue" in result.output
    assert "overdue complaint digests to coordinators" in result.output
