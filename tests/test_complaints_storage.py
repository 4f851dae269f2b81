"""Complaints storage (storage/complaints.py): codes, the lifecycle and its refusals, nearby
duplicates (pin and RT/RW), joining, notices to every reporter in her language and to the
coordinators of the kelurahan, the public view; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from storage.complaints import (
    CODE_ALPHABET,
    NOTICE_KIND,
    Category,
    Complaint,
    ComplaintEvent,
    ComplaintRefused,
    Intake,
    Refusal,
    Status,
    add_note,
    answer_fixed,
    change_status,
    create_complaint,
    find_nearby,
    find_reporter,
    get_by_code,
    haversine_m,
    join_complaint,
    new_code,
    normalize_code,
    normalize_kelurahan,
    normalize_rt_rw,
    public_view,
    reporters,
)
from storage.db import Database
from storage.models import Identity, OutboxMessage
from tests.outbox_support import COMMUNITY, add_member

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
# A street corner in 23 Ilir.
LAT, LON = -2.9850, 104.7540


def _identity(session, address: str, language: str | None = None) -> Identity:
    identity = Identity(
        community_id=COMMUNITY,
        channel="whatsapp",
        address=address,
        phone=address,
        language=language,
    )
    session.add(identity)
    session.flush()
    return identity


def _file(session, identity: Identity | None = None, **kw: Any) -> Complaint:
    values: dict[str, Any] = {
        "category": Category.LEAK,
        "description": "Pipa bocor di depan rumah",
    }
    values.update(kw)
    return create_complaint(
        session,
        community_id=COMMUNITY,
        intake=Intake(**values),
        identity_id=identity.id if identity else None,
        member_id=None,
        channel="whatsapp",
        now=NOW,
    )


def test_codes_have_the_prefix_and_no_look_alikes(db: Database) -> None:
    for banned in "0O1IL5S2Z8B":
        assert banned not in CODE_ALPHABET
    with db.transaction() as s:
        codes = {new_code(s, Category.LEAK) for _ in range(200)}
        assert len(codes) == 200
        for code in codes:
            assert re.fullmatch(r"AL-[34679ACDEFGHJKMNPQRTUVWXY]{5}", code), code
        assert new_code(s, Category.EXCAVATION).startswith("GJ-")


def test_normalize_code_forgives_case_spaces_and_dashes() -> None:
    assert normalize_code("al-7k3q9") == "AL-7K3Q9"
    assert normalize_code(" AL 7K3 Q9 ") == "AL-7K3Q9"
    assert normalize_code("al7k3q9") == "AL-7K3Q9"
    assert normalize_code("AL--7K3-Q9") == "AL-7K3Q9"
    assert normalize_code("AL-7K3") is None
    assert normalize_code("hello there") is None
    assert normalize_code("") is None


def test_location_helpers() -> None:
    assert normalize_rt_rw("RT 3 RW 5") == "003/005"
    assert normalize_rt_rw("rt03/rw005") == "003/005"
    assert normalize_rt_rw("3") is None
    assert normalize_kelurahan("kel. 23   ilir") == "23 Ilir"
    assert normalize_kelurahan("Kelurahan 24 Ilir") == "24 Ilir"
    assert 110 < haversine_m(LAT, LON, LAT + 0.001, LON) < 112


def test_create_lookup_and_public_view(db: Database) -> None:
    with db.transaction() as s:
        who = _identity(s, "+6281200000001")
        complaint = _file(s, who, latitude=LAT, longitude=LON, kelurahan="23 ilir")
        code = complaint.code
        assert complaint.status == Status.RECEIVED
        assert complaint.outside_palembang is False
        assert complaint.reporter_count == 1
    with db.transaction() as s:
        found = get_by_code(s, COMMUNITY, code.lower().replace("-", " "))
        assert found is not None and found.code == code
        view = public_view(s, found)
        assert view.kelurahan == "23 Ilir"
        assert not hasattr(view, "description")
        assert get_by_code(s, COMMUNITY, "AL-33333") is None
        assert get_by_code(s, COMMUNITY + 1, code) is None


def test_outside_palembang_is_kept_and_flagged(db: Database) -> None:
    with db.transaction() as s:
        complaint = _file(s, latitude=-6.2, longitude=106.8)  # Jakarta
        assert complaint.outside_palembang is True


def test_a_complaint_needs_words_and_a_place(db: Database) -> None:
    with db.transaction() as s:
        with pytest.raises(ValueError):
            _file(s, description="   ", latitude=LAT, longitude=LON)
        with pytest.raises(ValueError):
            _file(s)  # no pin, no address
        with pytest.raises(ValueError):
            _file(s, category="nonsense", latitude=LAT, longitude=LON)


def test_lifecycle_and_refusals(db: Database) -> None:
    with db.transaction() as s:
        c = _file(s, latitude=LAT, longitude=LON)
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, c, Status.RESOLVED, now=NOW)
        assert refused.value.reason == Refusal.IMPOSSIBLE
        assert Status.VERIFIED in refused.value.details["allowed"]
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, c, Status.RECEIVED, now=NOW)
        assert refused.value.reason == Refusal.SAME_STATUS
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, c, "done", now=NOW)
        assert refused.value.reason == Refusal.UNKNOWN_STATUS
        change_status(s, c, Status.VERIFIED, note="Sudah kami lihat", now=NOW)
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, c, Status.FORWARDED, now=NOW)
        assert refused.value.reason == Refusal.NEED_FORWARDED_TO
        change_status(s, c, Status.FORWARDED, forwarded_to="Dinas PUPR", now=NOW)
        change_status(s, c, Status.IN_PROGRESS, now=NOW)
        change_status(s, c, Status.RESOLVED, now=NOW)
        assert c.verified_at and c.forwarded_at and c.resolved_at
        assert c.forwarded_to == "Dinas PUPR"
        other = _file(s, latitude=LAT, longitude=LON)
        change_status(s, other, Status.REJECTED, note="Bukan pekerjaan IPAL", now=NOW)
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, other, Status.VERIFIED, now=NOW)
        assert refused.value.reason == Refusal.CLOSED


def test_nearby_by_pin_and_by_rt_rw(db: Database) -> None:
    with db.transaction() as s:
        near = _file(s, latitude=LAT, longitude=LON)
        _file(s, latitude=LAT + 0.003, longitude=LON)  # about 330 m north
        _file(s, category=Category.SMELL, latitude=LAT, longitude=LON)  # another category
        closed = _file(s, latitude=LAT, longitude=LON + 0.0001)
        change_status(s, closed, Status.REJECTED, now=NOW)
        addressed = _file(s, address="Jl. Mawar 3", rt_rw="RT 3 RW 5", kelurahan="23 Ilir")
        found = find_nearby(
            s, community_id=COMMUNITY, category=Category.LEAK, latitude=LAT + 0.0005, longitude=LON
        )
        assert [n.complaint.id for n in found] == [near.id]
        assert found[0].meters is not None and 50 < found[0].meters < 60
        by_area = find_nearby(
            s, community_id=COMMUNITY, category=Category.LEAK, rt_rw="3/5", kelurahan="kel 23 ilir"
        )
        assert [n.complaint.id for n in by_area] == [addressed.id]
        assert (
            find_nearby(
                s, community_id=COMMUNITY, category=Category.LEAK, rt_rw="3/6", kelurahan="23 Ilir"
            )
            == []
        )
        assert (
            find_nearby(
                s, community_id=COMMUNITY + 1, category=Category.LEAK, latitude=LAT, longitude=LON
            )
            == []
        )


def test_every_reporter_hears_every_change_in_her_language(db: Database) -> None:
    with db.transaction() as s:
        siti = _identity(s, "+6281200000001", "id")
        jane = _identity(s, "+6281200000002", "en")
        c = _file(s, siti, latitude=LAT, longitude=LON)
        assert join_complaint(s, c, identity_id=jane.id, member_id=None, now=NOW) is True
        assert join_complaint(s, c, identity_id=jane.id, member_id=None, now=NOW) is False
        assert c.reporter_count == 2
        add_note(s, c, "Kontraktor: CV Maju, nomor pengawas 0812", actor_member_id=None)
        change_status(s, c, Status.VERIFIED, note="Sudah kami lihat", now=NOW)
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == NOTICE_KIND)).all()
        by_identity = {r.identity_id or 0: r for r in rows if r.identity_id is not None}
        assert set(by_identity) == {siti.id, jane.id}
        assert "Sudah dicek pengurus" in by_identity[siti.id or 0].text
        assert "Checked by the coordinators" in by_identity[jane.id or 0].text
        for row in rows:
            assert "CV Maju" not in row.text  # the internal note stays inside
            assert "+62812" not in row.text
        keys = {r.key for r in rows}
        assert len(keys) == len(rows)


def test_resolved_asks_and_no_reopens(db: Database) -> None:
    with db.transaction() as s:
        add_member(s, "Bu Koordinator", "+6281300000001", kelurahan="23 Ilir", role="coordinator")
        siti = _identity(s, "+6281200000001")
        c = _file(s, siti, latitude=LAT, longitude=LON, kelurahan="23 Ilir")
        change_status(s, c, Status.VERIFIED, now=NOW)
        change_status(s, c, Status.IN_PROGRESS, now=NOW)
        change_status(s, c, Status.RESOLVED, note="Pipa diganti", now=NOW)
        asked = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.identity_id == siti.id)
            .order_by(col(OutboxMessage.id).desc())
        ).first()
        assert asked is not None and "benar-benar sudah beres" in asked.text
        assert "BELUM BERES " + c.code in asked.text or asked.choices
        reporter = find_reporter(s, c, identity_id=siti.id, member_id=None)
        assert reporter is not None
        event = answer_fixed(s, c, reporter, False, now=NOW + timedelta(days=1))
        assert event is not None and c.status == Status.IN_PROGRESS
        assert c.reopened_at is not None
        told = s.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).contains(":reopen:"))
        ).all()
        assert len(told) == 1 and c.code in told[0].text


def test_new_ticket_goes_to_the_coordinators_of_its_kelurahan(db: Database) -> None:
    with db.transaction() as s:
        k23 = add_member(s, "Bu Ani", "+6281300000001", kelurahan="23 Ilir", role="coordinator")
        k24 = add_member(s, "Bu Rina", "+6281300000002", kelurahan="24 Ilir", role="coordinator")
        _file(s, latitude=LAT, longitude=LON, kelurahan="23 ILIR")
        _file(s, latitude=LAT, longitude=LON)  # kelurahan unknown: everyone
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.key).contains(":new:"))).all()
        assert sorted(r.member_id or 0 for r in rows) == sorted(
            [k23.id or 0, k23.id or 0, k24.id or 0]
        )


def test_duplicate_moves_the_reporters(db: Database) -> None:
    with db.transaction() as s:
        a, b = _identity(s, "+6281200000001"), _identity(s, "+6281200000002")
        first = _file(s, a, latitude=LAT, longitude=LON)
        second = _file(s, b, latitude=LAT, longitude=LON)
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, second, Status.DUPLICATE, now=NOW)
        assert refused.value.reason == Refusal.NEED_DUPLICATE_OF
        with pytest.raises(ComplaintRefused) as refused:
            change_status(s, second, Status.DUPLICATE, duplicate_of=second, now=NOW)
        assert refused.value.reason == Refusal.BAD_DUPLICATE_OF
        change_status(s, second, Status.DUPLICATE, duplicate_of=first, now=NOW)
        assert {r.identity_id for r in reporters(s, first)} == {a.id, b.id}
        assert first.reporter_count == 2
        assert public_view(s, second).duplicate_of_code == first.code
        history = s.exec(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == second.id)
        ).all()
        assert [e.to_status for e in history] == [Status.RECEIVED, Status.DUPLICATE]
