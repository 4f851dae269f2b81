"""The console's member pages: the list (search, filters, pages), one member, approving and
rejecting a registration, the CSV import (upload, preview, confirm) and the export, as a
coordinator and an admin; the other roles are refused, and a bad request changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from storage.db import Database
from storage.member_import import export_members_csv
from storage.members import anonymise
from storage.models import AuditLog, Community, Member, MemberStatus, OutboxMessage
from tests.console_support import Console, add_staff
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import utcnow

STAFF = ("coordinator", "admin")
OTHERS = ("treasurer", "protection_officer")
HEADER = "name,phone,kelurahan,role\n"
CSV = "text/csv"
MONEY = re.compile(r"(?<![A-Za-z0-9_-])Rp\s?\d")  # an amount (not "Rp" inside a random CSRF token)


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    """A few members: a family phone, a pending registration, one in another kelurahan."""
    with db.transaction() as session:
        found = {
            "siti": add_member(session, "Siti Aminah", phone(1), kelurahan="24 Ilir", telegram="1"),
            "fatimah": add_member(
                session, "Fatimah", phone(2), kelurahan="19 Ilir", whatsapp=True, telegram="2"
            ),
            "ani": add_member(session, "Ani Lestari", phone(2), kelurahan="19 Ilir"),
            "nur": add_member(
                session, "Nur Hasanah", phone(3), kelurahan="23 Ilir", status=MemberStatus.PENDING
            ),
        }
        session.flush()
        return {name: m.id for name, m in found.items() if m.id is not None}


def logged_in(db: Database, client: TestClient, role: str) -> Console:
    add_staff(db, role)
    return Console(client).login(db, role)


def names_on(page: Any) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/console/members/\d+">([^<]+)</a></th>', page.text)


def member(db: Database, member_id: int) -> Member:
    with db.transaction() as session:
        found = session.get(Member, member_id)
        assert found is not None
        return found


def audits(db: Database, action: str) -> list[AuditLog]:
    with db.transaction() as session:
        return list(
            session.exec(
                select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
            )
        )


def members_count(db: Database) -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(Member)).one()


def upload(console: Console, content: bytes, name: str = "anggota.csv", **kw: Any) -> Any:
    return console.post("/console/members/import", files={"file": (name, content, CSV)}, **kw)


# --- the list -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_the_list_shows_each_member_with_words(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    page = console.get("/console/members")
    assert page.status_code == 200
    assert names_on(page)[:4] == ["Siti Aminah", "Fatimah", "Ani Lestari", "Nur Hasanah"]
    assert len(names_on(page)) == 5  # and the staff member herself
    assert "Ada 5 anggota" in page.text
    row = page.text[page.text.index("Fatimah</a>") :].split("</tr>")[0]
    assert "+6281200000002" in row and "19 Ilir" in row and "anggota" in row
    assert '<span class="status">aktif</span>' in row
    assert "Telegram, WhatsApp" in row
    pending = page.text[page.text.index("Nur Hasanah</a>") :].split("</tr>")[0]
    assert "menunggu persetujuan" in pending and "belum ada" in pending  # no chat yet
    assert "1 pendaftaran menunggu persetujuan" in page.text
    assert "<caption>" in page.text and 'scope="col"' in page.text
    assert 'class="table-wrap"' in page.text
    assert 'href="/console/members"' in page.text  # the menu
    assert not MONEY.search(page.text)  # no money on the member pages


@pytest.mark.parametrize(
    "query",
    [
        "0812-0000-0002",
        "+62 812 0000 0002",
        "6281200000002",
        "081200000002",
        "0002",
        "812-0000-0002",
    ],
)
def test_search_by_phone_in_any_form(
    db: Database, client: TestClient, people: dict[str, int], query: str
) -> None:
    console = logged_in(db, client, "coordinator")
    page = console.client.get("/console/members", params={"q": query})
    assert page.status_code == 200
    assert names_on(page) == ["Fatimah", "Ani Lestari"]
    assert "Ada 2 anggota" in page.text


def test_search_by_name_kelurahan_and_status(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    get = console.client.get
    assert names_on(get("/console/members", params={"q": "siti"})) == ["Siti Aminah"]
    assert names_on(get("/console/members", params={"q": "  ANI  les "})) == ["Ani Lestari"]
    assert names_on(get("/console/members", params={"q": "hasan"})) == ["Nur Hasanah"]
    assert names_on(get("/console/members", params={"q": "%"})) == []
    nobody = get("/console/members", params={"q": "zzz"})
    assert nobody.status_code == 200 and "Tidak ada anggota yang cocok" in nobody.text
    assert names_on(get("/console/members", params={"kelurahan": "19 Ilir"})) == [
        "Fatimah",
        "Ani Lestari",
    ]
    assert names_on(get("/console/members", params={"status": "pending"})) == ["Nur Hasanah"]
    both = get("/console/members", params={"kelurahan": "19 Ilir", "q": "fat", "status": "active"})
    assert names_on(both) == ["Fatimah"]
    assert names_on(get("/console/members", params={"kelurahan": "24 Ilir", "q": "fat"})) == []


def test_a_bad_filter_is_a_404_or_422(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    get = console.client.get
    assert get("/console/members", params={"status": "gone"}).status_code == 404
    assert get("/console/members", params={"kelurahan": "Atlantis"}).status_code == 404
    too_long = get("/console/members", params={"q": "x" * 101})
    assert too_long.status_code == 422
    assert too_long.headers["content-type"].startswith("text/html")


def test_pages_of_fifty_and_out_of_range_is_a_404(db: Database, client: TestClient) -> None:
    console = logged_in(db, client, "admin")  # member 1
    with db.transaction() as session:
        for n in range(119):
            add_member(session, f"Anggota Uji {n:03d}", phone(100 + n), kelurahan="26 Ilir")
    first = console.get("/console/members")
    assert len(names_on(first)) == 50
    assert "Ada 120 anggota. Ditampilkan nomor 1 sampai 50." in first.text
    assert "Halaman 1 dari 3" in first.text
    assert 'href="/console/members?page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    last = console.get("/console/members?page=3")
    assert last.status_code == 200
    assert names_on(last)[-1] == "Anggota Uji 118" and len(names_on(last)) == 20
    assert (
        'href="/console/members?page=2" rel="prev"' in last.text and 'rel="next"' not in last.text
    )
    for bad in ("4", "0", "-1", "abc", "99999999999999999999"):
        page = console.get(f"/console/members?page={bad}")
        assert page.status_code == 404, bad
        assert "di luar jangkauan" in page.text
    # The filter is kept in the pager's links.
    filtered = console.client.get("/console/members", params={"kelurahan": "26 Ilir", "q": "uji"})
    assert "Ada 119 anggota" in filtered.text
    assert 'href="/console/members?q=uji&amp;kelurahan=26+Ilir&amp;page=2"' in filtered.text
    # An empty result is one page, not a 404.
    assert (
        console.client.get("/console/members", params={"q": "zzz", "page": "1"}).status_code == 200
    )


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_are_refused_every_member_page(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    home = console.get("/console/")
    assert 'href="/console/members"' not in home.text  # not in her menu
    for path in (
        "/console/members",
        f"/console/members/{people['siti']}",
        "/console/members/export.csv",
        "/console/members/import",
    ):
        page = console.get(path)
        assert page.status_code == 403, path
        assert "bukan untuk peran Anda" in page.text
    for path in (f"/console/members/{people['nur']}/approve", "/console/members/import"):
        assert console.post(path).status_code == 403
    assert member(db, people["nur"]).status == MemberStatus.PENDING
    refused = [a for a in audits(db, "member.list") + audits(db, "member.approve") if not a.allowed]
    assert len(refused) == 6


def test_logged_out_pages_go_to_the_login(client: TestClient) -> None:
    page = client.get("/console/members?status=pending", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/members%3Fstatus%3Dpending"


# --- one member ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_a_members_page(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    page = console.get(f"/console/members/{people['fatimah']}")
    assert page.status_code == 200
    assert "<h1>Fatimah</h1>" in page.text
    assert "+6281200000002" in page.text and "19 Ilir" in page.text
    assert "<li>Telegram" in page.text and "<li>WhatsApp" in page.text
    assert f'href="/console/members/{people["ani"]}">Ani Lestari' in page.text  # family phone
    assert "Setujui" not in page.text  # she is active already
    ledger = f'href="/console/ledger/members/{people["fatimah"]}"'
    assert (ledger in page.text) == (role == "admin")  # ledger.view: treasurer and admin only
    assert not MONEY.search(page.text)
    pending = console.get(f"/console/members/{people['nur']}")
    assert "menunggu persetujuan" in pending.text
    assert f'action="/console/members/{people["nur"]}/approve"' in pending.text
    assert f'action="/console/members/{people["nur"]}/reject"' in pending.text
    assert 'name="csrf"' in pending.text


def test_unknown_other_community_and_erased_members_are_404(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    with db.transaction() as session:
        other = Community(slug="lain", name="Lain")
        session.add(other)
        session.flush()
        assert other.id is not None
        stranger = Member(community_id=other.id, name="Orang Lain", name_key="orang lain")
        session.add(stranger)
        erased = session.get(Member, people["siti"])
        assert erased is not None
        anonymise(session, erased, utcnow())
        session.flush()
        stranger_id = stranger.id
    for path in (
        "/console/members/999999",
        f"/console/members/{stranger_id}",
        f"/console/members/{people['siti']}",
        "/console/members/abc",
        "/console/members/99999999999999999999999",
    ):
        page = console.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
    assert "Anggota #" not in console.get("/console/members").text  # not listed either
    assert console.post(f"/console/members/{stranger_id}/approve").status_code == 404


# --- approving and rejecting --------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_approve_a_registration_tells_her_and_is_audited(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    nur = people["nur"]
    answer = console.post(f"/console/members/{nur}/approve")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/members/{nur}?done=approved"
    assert member(db, nur).status == MemberStatus.ACTIVE
    done = console.get(answer.headers["location"])
    assert "Pendaftaran Nur Hasanah disetujui" in done.text
    with db.transaction() as session:
        [notice] = session.exec(select(OutboxMessage).where(OutboxMessage.member_id == nur)).all()
    assert notice.kind == "membership" and notice.key == f"member:{nur}:approved"
    assert "Nur" in notice.text
    [entry] = audits(db, "member.approve")
    assert entry.allowed and entry.channel == "console" and entry.target == f"member:{nur}"
    # Again: said clearly, nothing done twice.
    again = console.post(f"/console/members/{nur}/approve")
    assert again.status_code == 409
    assert "Nur Hasanah sudah menjadi anggota aktif. Tidak ada yang diubah." in again.text
    rejected = console.post(f"/console/members/{nur}/reject")
    assert rejected.status_code == 409
    assert member(db, nur).status == MemberStatus.ACTIVE
    assert len(audits(db, "member.approve")) == 1 and audits(db, "member.reject") == []
    with db.transaction() as session:
        assert (
            len(session.exec(select(OutboxMessage).where(OutboxMessage.member_id == nur)).all())
            == 1
        )


def test_reject_a_registration(db: Database, client: TestClient, people: dict[str, int]) -> None:
    console = logged_in(db, client, "coordinator")
    nur = people["nur"]
    answer = console.post(f"/console/members/{nur}/reject")
    assert answer.status_code == 303
    assert member(db, nur).status == MemberStatus.INACTIVE
    assert "ditolak" in console.get(answer.headers["location"]).text
    with db.transaction() as session:
        [notice] = session.exec(select(OutboxMessage).where(OutboxMessage.member_id == nur)).all()
    assert notice.key == f"member:{nur}:rejected"
    assert [a.target for a in audits(db, "member.reject")] == [f"member:{nur}"]
    again = console.post(f"/console/members/{nur}/approve")
    assert again.status_code == 409
    assert "sudah ditolak sebelumnya" in again.text
    assert member(db, nur).status == MemberStatus.INACTIVE


def test_approve_needs_the_csrf_token_and_a_known_member(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    nur = people["nur"]
    for token in ("", "forged"):
        assert console.post(f"/console/members/{nur}/approve", csrf=token).status_code == 403
    assert console.client.post(f"/console/members/{nur}/approve").status_code in (403, 422)
    assert member(db, nur).status == MemberStatus.PENDING
    assert audits(db, "member.approve") == []
    assert console.post("/console/members/999999/approve").status_code == 404
    assert console.post("/console/members/x/reject").status_code == 404
    assert console.get(f"/console/members/{nur}/approve").status_code in (404, 405)


# --- the export ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_export_is_the_clis_csv_and_audited(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    answer = console.get("/console/members/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="anggota-')
    with db.transaction() as session:
        expected = export_members_csv(session, COMMUNITY)
    assert answer.text == expected
    assert answer.text.splitlines()[0] == "name,phone,kelurahan,role,status"
    assert "Nur Hasanah,+6281200000003,23 Ilir,member,pending" in answer.text
    [entry] = audits(db, "member.export")
    assert entry.channel == "console" and entry.detail == {"count": 5}


# --- the import ---------------------------------------------------------------------------

GOOD = (
    HEADER + "Siti Aminah,0812-0000-0001,24 Ilir,member\n"  # unchanged
    "Fatimah,+62 812 0000 0002,20 Ilir,member\n"  # moved: changed
    "Rahma Dewi,081200000009,26 Ilir,anggota\n"  # new
    "Sari Rahma,6281200000009,26 Ilir,koordinator\n"  # new, on the same family phone
)


@pytest.mark.parametrize("role", STAFF)
def test_import_previews_then_imports_on_confirm(
    db: Database, client: TestClient, people: dict[str, int], role: str
) -> None:
    console = logged_in(db, client, role)
    form = console.get("/console/members/import")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and '<label for="file">' in form.text
    before = members_count(db)
    preview = upload(console, GOOD.encode())
    assert preview.status_code == 200, preview.text
    assert "2 anggota baru, 1 diubah, 1 tetap sama" in preview.text
    assert "Rahma Dewi" in preview.text and "pengurus" in preview.text
    assert "+6281200000009 dipakai oleh Rahma Dewi, Sari Rahma" in preview.text
    assert members_count(db) == before  # nothing yet
    assert audits(db, "member.import") == []
    parts = re.findall(r'name="file_part" value="([^"]+)"', preview.text)
    assert parts
    csrf = re.search(r'name="csrf" value="([^"]+)"', preview.text)
    assert csrf is not None
    done = console.client.post(
        "/console/members/import/confirm",
        data={"csrf": csrf.group(1), "filename": "anggota.csv", "file_part": parts},
    )
    assert done.status_code == 200, done.text
    assert "Selesai: 2 anggota baru, 1 diubah, 1 tetap sama." in done.text
    assert members_count(db) == before + 2
    assert member(db, people["fatimah"]).kelurahan == "20 Ilir"
    with db.transaction() as session:
        sari = session.exec(select(Member).where(Member.name == "Sari Rahma")).one()
    assert sari.role == "coordinator" and sari.status == MemberStatus.ACTIVE
    [entry] = audits(db, "member.import")
    assert entry.channel == "console"
    assert entry.detail == {
        "file": "anggota.csv",
        "rows": 4,
        "created": 2,
        "updated": 1,
        "unchanged": 1,
    }
    # The new kelurahan is a filter at once.
    place = console.client.get("/console/members", params={"kelurahan": "26 Ilir"})
    assert names_on(place) == ["Rahma Dewi", "Sari Rahma"]
    # The same file again changes nothing: no button to press.
    again = upload(console, GOOD.encode())
    assert "0 anggota baru, 0 diubah, 4 tetap sama" in again.text
    assert "file_part" not in again.text


def test_a_bad_row_reports_each_line_and_imports_nothing(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    before = members_count(db)
    bad = (
        HEADER + "Rahma Dewi,081200000009,26 Ilir,member\n"
        ",081200000010,26 Ilir,member\n"
        "Ratna,12345,26 Ilir,member\n"
        "Rahma Dewi,0812-0000-0009,26 Ilir,member\n"
        "Yuni,081200000011,26 Ilir,ketua\n"
        "1234,081200000012,26 Ilir,member\n"
    )
    page = upload(console, bad.encode())
    assert page.status_code == 422
    assert "Ada 5 baris yang salah" in page.text
    assert "Tidak ada anggota yang dimasukkan atau diubah." in page.text
    report = dict(re.findall(r'<td class="num">(\d+)</td>\s*<td>([^<]+)</td>', page.text))
    assert report == {
        "3": "nama kosong",
        "4": "nomor HP &#34;12345&#34; tidak bisa dibaca",
        "5": "nama dan nomor HP sama dengan baris 2",
        "6": "peran tidak dikenal (pakai member, coordinator, treasurer, admin atau "
        "protection_officer)",
        "7": "nama tidak berisi huruf",
    }
    assert members_count(db) == before
    assert audits(db, "member.import") == []
    assert 'type="file"' in page.text  # the form again, to upload the fixed file


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "bukan CSV UTF-8"),
        ("name;phone\nSiti;0812\n".encode("latin-1"), "judul kolom kurang: kelurahan, role"),
        (b"name,phone,kelurahan,role\nSiti \xe9,0812\n", "bukan CSV UTF-8"),
        (b"", "Pilih dulu file CSV"),
        (b"\n\n  \n", "File ini kosong"),
        (HEADER.encode(), "hanya berisi judul kolom"),
        (b"Hello, this is a letter.\nNot a table at all.\n", "judul kolom kurang"),
        (HEADER.encode() + b"x" * (1024 * 1024), "lebih besar dari 1024 KB"),
    ],
)
def test_a_malformed_or_oversized_file_is_a_422(
    db: Database, client: TestClient, people: dict[str, int], content: bytes, says: str
) -> None:
    console = logged_in(db, client, "admin")
    before = members_count(db)
    page = upload(console, content, name="data.csv" if content else "")
    assert page.status_code == 422
    assert says in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert members_count(db) == before
    assert audits(db, "member.import") == []


def test_a_very_big_upload_and_a_request_without_a_file_are_422s(
    db: Database, client: TestClient
) -> None:
    console = logged_in(db, client, "coordinator")
    huge = upload(console, HEADER.encode() + b"x" * (3 * 1024 * 1024))
    assert huge.status_code == 422
    nofile = console.post("/console/members/import", {"file": "not a file"})
    assert nofile.status_code == 422


def test_import_needs_the_csrf_token(db: Database, client: TestClient) -> None:
    console = logged_in(db, client, "coordinator")
    before = members_count(db)
    answer = upload(console, GOOD.encode(), csrf="forged")
    assert answer.status_code == 403
    assert "tidak berasal dari konsol" in answer.text
    confirm = console.post("/console/members/import/confirm", {"file_part": "x"}, csrf="")
    assert confirm.status_code == 403
    assert members_count(db) == before


def test_a_damaged_confirm_imports_nothing(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    before = members_count(db)
    for parts in ([], ["!!!not base64"], ["eJzLSM3JyQcABiwCFQ"], ["aGVsbG8="]):
        answer = console.post("/console/members/import/confirm", {"file_part": parts})
        assert answer.status_code == 422, parts
        assert "Unggah file itu sekali lagi" in answer.text or "tidak bisa dibaca" in answer.text
    assert members_count(db) == before
    assert audits(db, "member.import") == []


def test_a_confirm_checks_the_file_again(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    """The carried file is validated again when confirmed (as if it had been edited)."""
    import base64
    import zlib

    console = logged_in(db, client, "coordinator")
    before = members_count(db)
    bad = (HEADER + "Ratna,12345,26 Ilir,member\n").encode()
    carried = base64.urlsafe_b64encode(zlib.compress(bad)).decode()
    answer = console.post("/console/members/import/confirm", {"file_part": carried})
    assert answer.status_code == 422
    assert "tidak bisa dibaca" in answer.text
    assert members_count(db) == before


def test_the_pages_speak_english(db: Database, client: TestClient, people: dict[str, int]) -> None:
    console = logged_in(db, client, "coordinator")
    console.get("/console/lang/en?next=/console/members")
    page = console.get("/console/members")
    assert "5 member(s) found" in page.text and "waiting for approval" in page.text
    assert "coordinator" in page.text
    report = upload(console, (HEADER + "Ratna,12345,26 Ilir,member\n").encode())
    assert "the phone number &#34;12345&#34; cannot be read" in report.text


def test_the_pages_write_nothing_but_the_audit_log(
    db: Database, client: TestClient, people: dict[str, int]
) -> None:
    console = logged_in(db, client, "coordinator")
    with db.transaction() as session:
        before = [(m.id, m.status, m.updated_at) for m in session.exec(select(Member))]
    for path in (
        "/console/members",
        f"/console/members/{people['nur']}",
        "/console/members/import",
    ):
        assert console.get(path).status_code == 200
    assert upload(console, GOOD.encode()).status_code == 200  # the preview writes nothing
    with db.transaction() as session:
        assert [(m.id, m.status, m.updated_at) for m in session.exec(select(Member))] == before


def test_a_file_of_almost_a_megabyte_goes_through_preview_and_confirm(
    db: Database, client: TestClient
) -> None:
    console = logged_in(db, client, "coordinator")
    rows = [
        f"Anggota Baru Nomor {n:05d},0813{n:08d},Kelurahan {n % 7},member" for n in range(18000)
    ]
    content = (HEADER + "\n".join(rows) + "\n").encode()
    assert 900_000 < len(content) <= 1024 * 1024
    preview = upload(console, content)
    assert preview.status_code == 200, preview.text[:500]
    assert "18000 anggota baru" in preview.text
    assert "Dan 17800 lainnya." in preview.text  # the first 200 rows are shown
    parts = re.findall(r'name="file_part" value="([^"]+)"', preview.text)
    done = console.post("/console/members/import/confirm", {"file_part": parts})
    assert done.status_code == 200, done.text[:500]
    assert "Selesai: 18000 anggota baru" in done.text
    assert members_count(db) == 18001
    page = console.client.get("/console/members", params={"kelurahan": "Kelurahan 3"})
    assert page.status_code == 200 and "Ada 2571 anggota" in page.text


def test_a_page_is_a_few_queries_with_limit_and_offset(db: Database, client: TestClient) -> None:
    """Fast with 100,000 members (bench/console.py): one count, one page by LIMIT and
    OFFSET, one query for the page's chats, whatever the page."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    console = logged_in(db, client, "coordinator")
    with db.transaction() as session:
        for n in range(120):
            add_member(session, f"Anggota Uji {n:03d}", phone(100 + n), telegram=str(9000 + n))
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(Engine, "before_cursor_execute", record)
    try:
        page = console.get("/console/members?page=2&q=uji")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert page.status_code == 200 and len(names_on(page)) == 50
    on_members = [s for s in seen if " from member" in s]
    counts = [s for s in on_members if "count(" in s]
    assert len(counts) == 2  # the matches, and the registrations waiting
    [listed] = [s for s in on_members if "limit" in s]
    assert "offset" in listed and "order by member.id" in listed
    assert len([s for s in seen if " from identity" in s]) == 1
