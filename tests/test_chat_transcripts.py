"""The demo's terminal chat end to end: ``wlcc demo``, then ``wlcc chat`` with piped input, as
``make demo`` runs them (WLCC_SIMULATOR on), with what the bot sends on its own arriving in the
chat of the person it is for.

The conversations are ``tests/transcripts/simulator/*.txt``, in the transcripts' ``>``/``<``
format (``tests/transcripts/README.md``): the ``>`` lines are typed into the real command and the
rest must be what it printed. ``WLCC_UPDATE_TRANSCRIPTS=1 pytest tests/test_chat_transcripts.py``
rewrites the ``<`` lines from what it printed; read the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
import pty
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.simulator import PROMPT
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.test_cli import clean_env, run, wlcc_command

TRANSCRIPTS = Path(__file__).parent / "transcripts" / "simulator"
FILES = sorted(TRANSCRIPTS.glob("*.txt"))
UPDATE = os.environ.get("WLCC_UPDATE_TRANSCRIPTS", "").strip() not in ("", "0")
TYPED = "Anda> "
WIDE = "1000"  # no wrapping: a message's lines are its own


def as_transcript(stdout: str) -> list[str]:
    """What ``wlcc chat`` printed, as transcript lines: ``> `` what was typed, ``< `` the bot's
    lines (and the chat's own notes in brackets, such as whom one now writes as), ``---``
    between two messages, an empty line between turns."""
    lines: list[str] = []
    messages = 0
    indent = " " * len(PROMPT)
    for line in stdout.splitlines():
        if line.startswith(TYPED):
            if lines:
                lines.append("")
            lines.append(f"> {line[len(TYPED) :]}".rstrip())
            messages = 0
        elif line.startswith((PROMPT, "[")):
            if messages:
                lines.append("---")
            messages += 1
            lines.append(f"< {line.removeprefix(PROMPT)}".rstrip())
        elif line.startswith(indent):
            lines.append(f"< {line[len(indent) :]}".rstrip())
        elif not line:
            lines.append("<")
        else:
            raise AssertionError(f"wlcc chat printed an unexpected line: {line!r}")
    return lines


def play(path: Path, workdir: Path, database_url: str, **env: str) -> tuple[list[str], str]:
    """The file's header and typed lines, replayed; returns the header and what was printed."""
    header: list[str] = []
    typed: list[str] = []
    phone: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("> ") or line == ">":
            typed.append(line[2:])
        elif not typed and (line.startswith(("#", "@")) or not line):
            header.append(line)
            if line.startswith("@ phone "):
                phone = line.removeprefix("@ phone ").strip()
    assert phone is not None, f"{path.name}: no @ phone line at the top"
    # Without the demo's meetings: they are dated from today, and a transcript is fixed text.
    demo = run(workdir, "demo", "--no-meetings", DATABASE_URL=database_url)
    assert demo.returncode == 0, demo.stderr
    settings = {"DATABASE_URL": database_url, "COLUMNS": WIDE, "WLCC_SIMULATOR": "true", **env}
    chat = run(
        workdir,
        "chat",
        "--phone",
        phone,
        stdin="".join(f"{line}\n" for line in typed),
        timeout=120,
        **settings,
    )
    assert chat.returncode == 0, chat.stderr
    assert chat.stderr == ""
    return header, chat.stdout


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_chat_transcript(path: Path, workdir: Path, sqlite_url: str) -> None:
    header, stdout = play(path, workdir, sqlite_url)
    actual = "\n".join([*header, *as_transcript(stdout)]) + "\n"
    expected = path.read_text(encoding="utf-8")
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{path.name} (expected)",
            tofile=f"{path.name} (wlcc chat printed)",
        )
    )
    assert actual == expected, (
        f"wlcc chat printed something else than tests/transcripts/simulator/{path.name}:\n\n"
        f"{diff}\nIf the change is intended: "
        "WLCC_UPDATE_TRANSCRIPTS=1 pytest tests/test_chat_transcripts.py"
    )


def test_chat_transcripts_exist() -> None:
    assert {p.name for p in FILES} >= {"broadcast.txt", "approval.txt"}


def test_a_broadcast_reaches_the_members_chat(workdir: Path, sqlite_url: str) -> None:
    _, stdout = play(TRANSCRIPTS / "broadcast.txt", workdir, sqlite_url)
    after_siti = stdout.split("Anda> /sebagai siti aminah\n", 1)[1].split(TYPED, 1)[0]
    assert after_siti.splitlines() == [
        "[Now writing as Siti Aminah, +6281200000003]",
        "WLCC> Rapat warga hari Sabtu jam 09.00 di balai kelurahan.",
    ]
    # The family phone gets it once for each of the two members on it.
    after_family = stdout.split("Anda> /as 0812-0000-0004\n", 1)[1].split(TYPED, 1)[0]
    assert after_family.count("WLCC> Rapat warga hari Sabtu") == 2
    assert "Terkirim: 7 dari 7." in stdout
    db = Database(sqlite_url)
    try:
        with db.transaction() as session:
            rows = list(
                session.exec(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))
            )
    finally:
        db.dispose()
    assert {(r.channel, r.status) for r in rows} >= {("simulator", OutboxStatus.READ)}
    # Dewi never looked: hers is delivered, not read.
    assert {r.address: r.status for r in rows}["+6281200000005"] == OutboxStatus.SENT


def test_an_approval_reaches_the_registrants_chat(workdir: Path, sqlite_url: str) -> None:
    _, stdout = play(TRANSCRIPTS / "approval.txt", workdir, sqlite_url)
    after_rina = stdout.split("Anda> /sebagai rina\n", 1)[1].split(TYPED, 1)[0]
    assert "WLCC> Pendaftar baru: Maya Sari, kelurahan 23 Ilir" in after_rina
    back = stdout.split("Anda> /as 0812-0000-0001\n", 1)[1].split(TYPED, 1)[0]
    assert back.splitlines() == [
        "[Now writing as Maya Sari, +6281200000001]",
        "WLCC> Selamat, Bu Maya! Pendaftaran Ibu di WLCC sudah disetujui. "
        "Ketik MENU untuk melihat pilihan.",
    ]


def test_without_the_simulator_the_chat_delivers_nothing(workdir: Path, sqlite_url: str) -> None:
    """`wlcc chat` on a database that is not the demo's: no row is claimed, none shown."""
    _, stdout = play(TRANSCRIPTS / "broadcast.txt", workdir, sqlite_url, WLCC_SIMULATOR="false")
    assert stdout.count("WLCC> Rapat warga") == 1  # the preview Rina was shown, no more
    assert "Terkirim" not in stdout
    db = Database(sqlite_url)
    try:
        with db.transaction() as session:
            rows = list(session.exec(select(OutboxMessage)))
    finally:
        db.dispose()
    assert rows  # the broadcast was planned ...
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.PENDING, 0)}  # ... untouched


def test_switching_to_nobody_says_so(workdir: Path, sqlite_url: str) -> None:
    assert run(workdir, "demo", DATABASE_URL=sqlite_url).returncode == 0
    chat = run(
        workdir,
        "chat",
        stdin="/sebagai Zubaidah\n/sebagai\n/sebagai fatimah\n/as 0812\n/sebagai sitti aminah\n",
        DATABASE_URL=sqlite_url,
        COLUMNS=WIDE,
        WLCC_SIMULATOR="true",
    )
    assert chat.returncode == 0, chat.stderr
    notes = [line for line in chat.stdout.splitlines() if line.startswith("[")]
    assert notes == [
        "[No member is called 'Zubaidah'.]",
        "[Write a name or a phone: /sebagai Siti, /as 0812-0000-0003.]",
        "[Now writing as Fatimah, +6281200000004]",
        "[Not a phone number: '0812'.]",
        "[Now writing as Siti Aminah, +6281200000003]",  # a typo forgiven
    ]


@pytest.mark.parametrize(
    ("simulator", "told"),
    [("false", True), ("true", False)],
)
def test_the_start_line_names_the_commands_and_says_when_nothing_arrives(
    workdir: Path, sqlite_url: str, simulator: str, told: bool
) -> None:
    """At a terminal (the start line is not printed for piped input)."""
    assert run(workdir, "demo", DATABASE_URL=sqlite_url).returncode == 0
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"/keluar\n")
        chat = subprocess.run(  # noqa: S603 (our own console command, fixed arguments)
            [wlcc_command(), "chat"],
            cwd=workdir,
            env=clean_env(DATABASE_URL=sqlite_url, COLUMNS=WIDE, WLCC_SIMULATOR=simulator),
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert chat.returncode == 0, chat.stderr
    assert "/sebagai NAME or /as PHONE to write as someone else" in chat.stdout
    assert ("WLCC_SIMULATOR is off" in chat.stdout) is told


def test_the_demo_has_a_training_whose_invitation_a_member_answers_by_number(
    workdir: Path, sqlite_url: str
) -> None:
    """`make demo` as a newcomer finds it: the demo's meetings (dated from today), the
    training's invitation waiting in Siti's chat, answered with "1" and shown in JADWAL. At
    any hour: quiet hours around now do not hold back notices for simulated chats."""
    hour = datetime.now(ZoneInfo("Asia/Jakarta")).hour
    quiet = f"{hour:02d}:00-{(hour + 2) % 24:02d}:00"  # now is inside them
    demo = run(workdir, "demo", DATABASE_URL=sqlite_url)
    assert demo.returncode == 0, demo.stderr
    assert "1 monthly meeting rules created, 1 trainings created" in demo.stdout
    chat = run(
        workdir,
        "chat",
        "--phone",
        "+6281200000005",  # Dewi, who has given her consent
        stdin="jadwal\n1\njadwal\n",
        DATABASE_URL=sqlite_url,
        COLUMNS=WIDE,
        WLCC_SIMULATOR="true",
        WLCC_QUIET_HOURS=quiet,
    )
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert 'Undangan pelatihan: "Membuat sabun cair dari minyak jelantah"' in out
    assert "Pertemuan bulanan" in out  # the rule's coming meetings are made
    assert 'Tercatat: Ibu HADIR di Pelatihan "Membuat sabun cair dari minyak jelantah"' in out
    assert "Kursi: sisa 2 dari 3" in out and "Jawaban Ibu: Hadir" in out
    again = run(workdir, "demo", DATABASE_URL=sqlite_url)
    assert "0 monthly meeting rules created, 0 trainings created" in again.stdout
    assert "0 ledger entries created, 0 loans created" in again.stdout


def test_the_demo_has_savings_and_a_late_installment_the_treasurer_records(
    workdir: Path, sqlite_url: str
) -> None:
    """The demo's money, as a newcomer tries it: Siti's SALDO and her late installment in
    PINJAMAN, then Dewi the treasurer records it with ANGSURAN by numbers only, and Siti's
    receipt arrives in her chat."""
    demo = run(workdir, "demo", DATABASE_URL=sqlite_url)
    assert "5 ledger entries created, 1 loans created" in demo.stdout
    chat = run(
        workdir,
        "chat",
        "--phone",
        "+6281200000005",  # Dewi, the treasurer
        stdin="/sebagai Siti\nsetuju\nsaldo\npinjaman\n/sebagai Dewi\nangsuran siti\n1\n1\n"
        "/sebagai Siti\npinjaman\n",
        DATABASE_URL=sqlite_url,
        COLUMNS=WIDE,
        WLCC_SIMULATOR="true",
    )
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "Simpanan wajib: Rp60.000" in out and "Simpanan sukarela: Rp150.000" in out, out
    assert "Sisa pinjaman: Rp500.000" in out
    assert "Terlambat: 1 angsuran, Rp107.500" in out
    assert "Tersimpan: angsuran Rp107.500 dari Siti Aminah" in out
    assert "Angsuran pinjaman Rp107.500 diterima pada" in out  # her receipt, in her chat
    assert out.count("Sisa pinjaman: Rp400.000") == 2  # the receipt and PINJAMAN after it
