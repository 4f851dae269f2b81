"""Everyday words must not start a command: "saluran air mampet" is a complaint about a drain.

Residents describe a drain, a road or a house in the words they use every day; a keyword that is
one of those words (SALURAN was one) would start an unrelated dialog. Every phrase below is sent
through the real router, with the typo-forgiving matcher, by a coordinator (who may use every
command); none may start a dialog or one of the router's own words (MENU, BANTUAN, BATAL).
Greetings and thanks get the menu or a kind answer, never a command either.
"""

from __future__ import annotations

from typing import Any

import pytest

from conversations import help_path
from handlers.router import Router
from storage.db import Database
from tests.outbox_support import Chat, add_member, phone

COMPLAINTS = [
    "saluran air mampet",
    "saluran",
    "salurn air mampet",  # a typo of the old keyword
    "saluran got tersumbat",
    "got mampet bu",
    "air got meluap ke jalan",
    "selokan bau sekali",
    "pipa bocor depan rumah",
    "pipa air pecah",
    "jalan rusak berlubang",
    "jalan berlubang depan rumah saya",
    "lubang galian belum ditutup",
    "rumah saya kebanjiran",
    "dinding rumah retak",
    "air berhenti mengalir",
    "berhenti mengalir airnya dari kemarin",
    "mulai kemarin air tidak mengalir",
    "mulai tadi pagi bau",
    "data rumah saya salah",
    "nomor hp saya ganti",
    "daftar rumah yang kena galian",
    "tolak ukur",
    "stop kontak rusak",
    "setuju sama tetangga",
    "bahasa daerah",
    "bantuan air bersih",
    "umumkan ke tetangga",
    "hubungkan pipa ke rumah",
    "ganti orang tukangnya",
    "privasi rumah terganggu",
    "hapus data lama",
    "pilih tukang yang bagus",
    "pilih ketua rt yang baru",
    "tema acara nikahan tetangga",
    "voting ketua rt minggu depan",
    "tutup got depan rumah",
    "lewat apa ke kantor lurah",
    "menu makan siang",
    "batal datang rapat",
    "tidak ada air dari kemarin",
    "air tidak mengalir",
    "jadwal pengangkutan sampah",
    "mungkin pipanya bocor",
    "hadir warga banyak",
    "kalender rusak",
    "peserta banyak yang tidak datang",
    "rapat baru saja selesai",
    "kehadiran petugas tidak jelas",
    "rapat batal karena hujan",
    "ubah rapat jadi sore saja",
    "terima tagihan air tapi air mati",
    "cuti bersama kantor lurah tutup",
    "peran serta warga",
    "siap bu",
    "pin lokasi rumah saya",
    "saldo pulsa habis",
    "simpanan air di ember bocor",
    "mutasi pegawai kelurahan",
    "statemen pak lurah kemarin",
    # "tolong" before other words is "please" (TOLONG is only a message of its own).
    "tolong ambilkan air di ember",
    "tolong pipa depan rumah dicek",
    "tolong dibantu, got mampet",
    "tolong selesai minggu ini",
    "selesai dikerjakan tapi bocor lagi",
    "permintaan warga belum ditanggapi",
    "ditelepon tukang tidak diangkat",
]
GREETINGS = [
    "halo",
    "selamat pagi bu",
    "assalamualaikum",
    "permisi bu mau tanya",
    "terima kasih",
    "apa kabar",
    "pukul berapa rapatnya",
]


@pytest.fixture
def started(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the router started: dialog names and its own words."""
    seen: list[str] = []
    original = Router._start

    def start(self: Router, ctx: Any, dialog: Any, args: str) -> None:
        seen.append(dialog.name)
        original(self, ctx, dialog, args)

    monkeypatch.setattr(Router, "_start", start)
    # The help path's offer (TOLONG, words of distress) is the router's own answer too.
    original_offer = help_path.offer

    def offer(ctx: Any) -> None:
        seen.append("tolong")
        original_offer(ctx)

    monkeypatch.setattr(help_path, "offer", offer)
    for word in ("help", "cancel"):
        original_word = getattr(Router, f"_global_{word}")

        def record(self: Router, ctx: Any, _w: str = word, _f: Any = original_word) -> None:
            seen.append(_w)
            _f(self, ctx)

        monkeypatch.setattr(Router, f"_global_{word}", record)
    return seen


@pytest.mark.parametrize("text", COMPLAINTS + GREETINGS)
def test_everyday_words_start_nothing(db: Database, started: list[str], text: str) -> None:
    with db.transaction() as session:
        add_member(session, "Rina", phone(99), role="admin", whatsapp=True)
    chat = Chat(Router(db), "whatsapp", phone(99), phone(99))
    chat.send(text)
    assert started == []


@pytest.mark.parametrize(
    ("text", "dialog"),
    [
        ("pilih aplikasi", "channel_choice"),
        ("lewat apa", "channel_choice"),
        ("mulai", "optout_start"),
        ("berhenti", "optout_stop"),
        ("data", "personal_data"),
        ("setujui 12", "approve_member"),
        ("bahasa english", "language"),
        ("bantuan", "help"),
        ("jadwal", "meetings_schedule"),
        ("hadir", "meetings_yes"),
        ("hadir mawar7", "meetings_yes"),
        ("tidak bisa datang", "meetings_no"),
        ("not attending", "meetings_no"),
        ("mungkin", "meetings_maybe"),
        ("kalender", "meetings_calendar"),
        ("rapat baru", "meeting_new"),
        ("new meeting", "meeting_new"),
        ("peserta", "meeting_attendees"),
        ("peserta 12", "meeting_attendees"),
        ("attendees", "meeting_attendees"),
        ("kehadiran", "meeting_attendance"),
        ("attendance", "meeting_attendance"),
        ("rapat ubah", "meeting_change"),
        ("change meeting", "meeting_change"),
        ("rapat batal", "meeting_cancel"),
        ("batalkan rapat", "meeting_cancel"),
        ("cancel meeting", "meeting_cancel"),
        ("batal", "cancel"),
        ("terima", "meeting_role_accept"),
        ("tolak", "reject_member"),  # an admin without a role ask: the registrations' word
        ("cuti peran", "meeting_roles_pause"),
        ("siap peran", "meeting_roles_resume"),
        ("usul cara membuat kompos", "themes_suggest"),
        ("tema", "themes_list"),
        ("pilih 2", "themes_vote"),
        ("voting tema", "themes_open_vote"),
        ("tutup voting", "themes_close_vote"),
    ],
)
def test_the_commands_themselves_still_work(
    db: Database, started: list[str], text: str, dialog: str
) -> None:
    """The other side: the list above must not pass by matching nothing at all."""
    with db.transaction() as session:
        add_member(session, "Rina", phone(99), role="admin", whatsapp=True)
    Chat(Router(db), "whatsapp", phone(99), phone(99)).send(text)
    assert started == [dialog]
