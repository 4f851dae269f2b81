"""The Open311 GeoReport v2 endpoints (bot/open311.py, storage/complaints_open311.py), checked
field by field against the specification, and for what they must never publish."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import insert
from sqlmodel import select
from starlette.testclient import TestClient

from storage.complaints import (
    Category,
    Complaint,
    Intake,
    Status,
    add_note,
    change_status,
    create_complaint,
    set_public_description,
)
from storage.db import Database
from storage.models import Community
from tests.outbox_support import add_member
from wlcc.formatting import utcnow

SITI_PHONE = "+6281200000011"
SECRET_NOTE = "CATATAN-INTERNAL-4411"
STREET = "Jl. Mawar No. 12 rumah Bu Siti"
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def tickets(client: TestClient, db: Database) -> dict[str, int]:
    """A forwarded leak with a pin (public description, a public and an internal note), a
    smell by address only, a resolved excavation, and one 120 days old."""
    now = utcnow()
    with db.transaction() as session:
        siti = add_member(session, "Siti Aminah", SITI_PHONE, kelurahan="23 Ilir")
        leak = create_complaint(
            session,
            community_id=1,
            intake=Intake(
                category=Category.LEAK,
                description="Pipa sambungan bocor, air limbah mengalir ke jalan",
                latitude=-2.9912345,
                longitude=104.7567891,
                address=STREET,
                rt_rw="3/5",
                kelurahan="23 Ilir",
            ),
            identity_id=None,
            member_id=siti.id,
            channel="whatsapp",
            now=now - timedelta(days=5),
        )
        change_status(session, leak, Status.VERIFIED, note="Sudah dicek", now=now - timedelta(4))
        change_status(
            session,
            leak,
            Status.FORWARDED,
            note="Diteruskan ke dinas",
            forwarded_to="Dinas PUPR Kota Palembang",
            now=now - timedelta(days=3),
        )
        add_note(session, leak, SECRET_NOTE, actor_member_id=None)
        set_public_description(session, leak, True, actor_member_id=None)
        smell = create_complaint(
            session,
            community_id=1,
            intake=Intake(
                category=Category.SMELL,
                description="Bau sekali dekat rumah Bu Siti",
                address=STREET,
                kelurahan="19 Ilir",
            ),
            identity_id=None,
            member_id=siti.id,
            channel="telegram",
            now=now - timedelta(days=1),
        )
        dug = create_complaint(
            session,
            community_id=1,
            intake=Intake(category=Category.EXCAVATION, description="Galian", kelurahan="24 Ilir"),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=now - timedelta(days=10),
        )
        change_status(session, dug, Status.VERIFIED, now=now - timedelta(days=9))
        change_status(session, dug, Status.RESOLVED, note="Sudah ditutup", now=now - timedelta(2))
        old = create_complaint(
            session,
            community_id=1,
            intake=Intake(category=Category.DIRTY, description="Kotor", kelurahan="23 Ilir"),
            identity_id=None,
            member_id=None,
            channel="cli",
            now=now - timedelta(days=120),
        )
        ids = {"leak": leak.id, "smell": smell.id, "dug": dug.id, "old": old.id}
        return {k: v for k, v in ids.items() if v is not None}


def _parse(content: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(content)  # noqa: S314 (the app's own answer, in a test)


def _get(client: TestClient, path: str, **params: str) -> Any:
    response = client.get(f"/open311/v2/{path}", params=params)
    return response


def _no_personal_data(text: str) -> None:
    for secret in (SITI_PHONE, "Siti", "Aminah", SECRET_NOTE, "Mawar", "No. 12", "AL-", "BU-"):
        assert secret not in text, secret


# --- services ---


def test_services_json(client: TestClient) -> None:
    response = _get(client, "services.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    services = response.json()
    assert [s["service_code"] for s in services] == [
        "leak", "excavation", "dirty", "smell", "other",
    ]  # fmt: skip
    for service in services:
        assert list(service) == [
            "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
        ]  # fmt: skip
        assert service["metadata"] is False and service["type"] == "realtime"
        assert service["group"] == "sanitasi" and service["service_name"] and service["keywords"]
    assert services[0]["service_name"] == "Sambungan bocor atau tersumbat"


def test_services_xml(client: TestClient) -> None:
    response = _get(client, "services.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = _parse(response.content)
    assert root.tag == "services"
    first = root.findall("service")[0]
    assert first.findtext("service_code") == "leak"
    assert first.findtext("metadata") == "false" and first.findtext("type") == "realtime"


# --- requests ---


def test_requests_default_window_and_fields(client: TestClient, tickets: dict[str, int]) -> None:
    response = _get(client, "requests.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    found = response.json()
    # The last 90 days, newest first: the 120-day-old one is left out.
    assert [r["service_request_id"] for r in found] == [
        str(tickets["smell"]), str(tickets["leak"]), str(tickets["dug"]),
    ]  # fmt: skip
    for record in found:
        assert list(record) == REQUEST_FIELDS
        assert record["status"] in ("open", "closed")
        assert W3C.match(record["requested_datetime"]) and W3C.match(record["updated_datetime"])
        for nothing in ("service_notice", "expected_datetime", "address_id", "zipcode"):
            assert record[nothing] is None
        assert record["media_url"] is None  # no photo is ever published
    smell, leak, dug = found
    assert leak == {
        "service_request_id": str(tickets["leak"]),
        "status": "open",
        "status_notes": "Diteruskan ke dinas",
        "service_name": "Sambungan bocor atau tersumbat",
        "service_code": "leak",
        "description": "Pipa sambungan bocor, air limbah mengalir ke jalan",  # made public
        "agency_responsible": "Dinas PUPR Kota Palembang",
        "service_notice": None,
        "requested_datetime": leak["requested_datetime"],
        "updated_datetime": leak["updated_datetime"],
        "expected_datetime": None,
        "address": "RT 003/RW 005, Kelurahan 23 Ilir, Palembang",
        "address_id": None,
        "zipcode": None,
        "lat": -2.991,
        "long": 104.757,
        "media_url": None,
    }
    assert leak["requested_datetime"].endswith("+07:00")
    # Not made public: no description; no pin: no position; the street never.
    assert smell["description"] is None and smell["lat"] is None and smell["long"] is None
    assert smell["address"] == "Kelurahan 19 Ilir, Palembang" and smell["status_notes"] is None
    assert dug["status"] == "closed" and dug["status_notes"] == "Sudah ditutup"
    assert dug["agency_responsible"] is None
    _no_personal_data(response.text)


def test_the_updated_datetime_of_a_closed_ticket_is_when_it_closed(
    client: TestClient, tickets: dict[str, int], db: Database
) -> None:
    with db.transaction() as session:
        dug = session.get(Complaint, tickets["dug"])
        assert dug is not None and dug.resolved_at is not None
        resolved = (
            dug.resolved_at.replace(tzinfo=UTC)
            if dug.resolved_at.tzinfo is None
            else dug.resolved_at
        )
        add_note(session, dug, "later", actor_member_id=None)  # touches updated_at
    [record] = _get(client, f"requests/{tickets['dug']}.json").json()
    assert datetime.fromisoformat(record["updated_datetime"]) == resolved.replace(microsecond=0)


def test_filters(client: TestClient, tickets: dict[str, int]) -> None:
    def ids(**params: str) -> list[str]:
        response = _get(client, "requests.json", **params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids(status="closed") == [str(tickets["dug"])]
    assert ids(status="open") == [str(tickets["smell"]), str(tickets["leak"])]
    assert ids(status="open,closed") == ids()
    assert ids(service_code="smell,excavation") == [str(tickets["smell"]), str(tickets["dug"])]
    # service_request_id overrides the rest, the default window included.
    assert ids(service_request_id=f"{tickets['old']},{tickets['leak']}", status="closed") == [
        str(tickets["leak"]), str(tickets["old"]),
    ]  # fmt: skip
    now = utcnow()
    start = (now - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=2)).astimezone().isoformat(timespec="seconds")
    assert ids(start_date=start, end_date=end) == [str(tickets["leak"])]
    # One end alone spans 90 days from (or up to) it.
    early = (now - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=early) == [str(tickets["old"])]
    assert ids(end_date=(now - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [
        str(tickets["old"])
    ]
    # An empty parameter is an absent one.
    assert ids(status="", service_code="", start_date="") == ids()
    # Paging (an extension).
    assert ids(page_size="2") == [str(tickets["smell"]), str(tickets["leak"])]
    assert ids(page_size="2", page="2") == [str(tickets["dug"])]
    assert ids(page_size="2", page="3") == []


@pytest.mark.parametrize(
    "params, words",
    [
        ({"start_date": "2026-12-01"}, "start_date must be a W3C datetime"),
        ({"start_date": "2026-12-01T00:00:00"}, "with its time zone"),
        ({"end_date": "kemarin"}, "end_date must be a W3C datetime"),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "may not span more than 90 days",
        ),
        (
            {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},
            "end_date is before start_date",
        ),
        ({"status": "pending"}, "status must be open or closed"),
        ({"service_code": "pothole"}, "unknown service_code 'pothole'"),
        ({"service_request_id": "AL-7K3Q9"}, "service_request_id must be ticket numbers"),
        ({"service_request_id": ",".join(str(i) for i in range(1, 102))}, "at most 100"),
        ({"page": "0"}, "page must be a whole number"),
        ({"page_size": "1001"}, "page_size must be a whole number from 1 to 1000"),
        ({"page_size": "-5"}, "page_size"),
        ({"start_date": "\x00"}, "start_date"),
    ],
)
def test_bad_filters_are_400_in_the_error_format(
    client: TestClient, params: dict[str, str], words: str
) -> None:
    response = _get(client, "requests.json", **params)
    assert response.status_code == 400
    [error] = response.json()
    assert list(error) == ["code", "description"]
    assert error["code"] == 400 and words in error["description"]


def test_errors_in_xml(client: TestClient) -> None:
    response = _get(client, "requests.xml", status="pending")
    assert response.status_code == 400
    root = _parse(response.content)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "400"
    assert "open or closed" in (root.findtext("error/description") or "")


def test_requests_xml(client: TestClient, tickets: dict[str, int]) -> None:
    response = _get(client, "requests.xml")
    assert response.status_code == 200
    root = _parse(response.content)
    assert root.tag == "service_requests"
    first = root.findall("request")[0]
    assert [child.tag for child in first] == REQUEST_FIELDS
    assert first.findtext("service_request_id") == str(tickets["smell"])
    description = first.find("description")
    assert description is not None and description.text is None  # null: an empty element
    _no_personal_data(response.text)


def test_one_request(client: TestClient, tickets: dict[str, int]) -> None:
    response = _get(client, f"requests/{tickets['leak']}.json")
    assert response.status_code == 200
    [record] = response.json()
    assert record["service_request_id"] == str(tickets["leak"]) and record["lat"] == -2.991
    # Older than 90 days is still there by its number.
    assert _get(client, f"requests/{tickets['old']}.json").json()[0]["status"] == "open"
    xml = _parse(_get(client, f"requests/{tickets['leak']}.xml").content)
    assert xml.findtext("request/service_code") == "leak"


@pytest.mark.parametrize("ticket", ["999999", "AL-7K3Q9", "abc", "1" * 30])
def test_unknown_request_is_404(client: TestClient, tickets: dict[str, int], ticket: str) -> None:
    response = _get(client, f"requests/{ticket}.json")
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404 and "not found" in error["description"]


def test_the_code_is_not_a_way_in(
    client: TestClient, tickets: dict[str, int], db: Database
) -> None:
    with db.transaction() as session:
        code = session.get(Complaint, tickets["leak"]).code  # type: ignore[union-attr]
    assert _get(client, f"requests/{code}.json").status_code == 404
    assert code not in _get(client, "requests.json").text


def test_unknown_format_is_404(client: TestClient) -> None:
    response = _get(client, "requests.csv")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404


def test_jurisdictions(client: TestClient, tickets: dict[str, int], db: Database) -> None:
    with db.transaction() as session:
        slug = session.exec(select(Community.slug).where(Community.id == 1)).one()
    assert _get(client, "requests.json", jurisdiction_id=slug).status_code == 200
    response = _get(client, "requests.json", jurisdiction_id="elsewhere.example")
    assert response.status_code == 404 and "jurisdiction_id" in response.json()[0]["description"]
    with db.transaction() as session:
        session.execute(insert(Community), [{"slug": "wlcc-lain", "name": "WLCC lain"}])
    # Two communities: it must be said which.
    response = _get(client, "requests.json")
    assert response.status_code == 400 and "jurisdiction_id" in response.json()[0]["description"]
    assert _get(client, "services.json").status_code == 400
    other = _get(client, "requests.json", jurisdiction_id="wlcc-lain")
    assert other.status_code == 200 and other.json() == []
    assert (
        _get(client, f"requests/{tickets['leak']}.json", jurisdiction_id="wlcc-lain").status_code
        == 404
    )


def test_nothing_personal_in_any_answer(client: TestClient, tickets: dict[str, int]) -> None:
    bodies = [
        _get(client, path).text
        for path in (
            "requests.json",
            "requests.xml",
            *(f"requests/{i}.json" for i in tickets.values()),
            *(f"requests/{i}.xml" for i in tickets.values()),
        )
    ]
    for body in bodies:
        _no_personal_data(body)
        json_or_xml = body.lstrip()
        assert json_or_xml.startswith(("[", "<?xml"))
    # The reporter's own words about her house stay private until published.
    assert "Bu Siti" not in " ".join(bodies)
    assert json.loads(bodies[0])  # not empty
