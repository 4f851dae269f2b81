"""The notice job of the scheduler and ``wlcc notices plan``: both run the same planning
(storage.meetings_notices.plan_all) once, at the real clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select
from typer.testing import CliRunner

from cli.main import app
from scheduler import NOTICE_INTERVAL, build_scheduler, plan_notices
from storage.db import Database
from storage.meetings import NOTICE_KIND, create_meeting
from storage.models import OutboxMessage
from tests.outbox_support import COMMUNITY, add_member, phone
from wlcc.formatting import utcnow
from wlcc.settings import Settings, load_settings

runner = CliRunner()


@pytest.fixture
def notice_settings(database_url: str, clean_env: None) -> Settings:
    return load_settings(_env_file=None, database_url=database_url, wlcc_quiet_hours="")


def _meeting_in_three_days(db: Database) -> int:
    """A meeting whose announcement (7 days before) is due now, and two members."""
    with db.transaction() as session:
        add_member(session, "Siti", phone(1))
        add_member(session, "Ani", phone(2), language="en")
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title="Pertemuan bulanan",
            starts_at=utcnow() + timedelta(days=3),
            place="Balai RW 05",
            now=utcnow(),
        )
        assert meeting.id is not None
        return meeting.id


def _announcements(db: Database) -> list[str]:
    with db.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [r.key for r in rows if r.kind == NOTICE_KIND and ":announcement:" in r.key]


def test_the_notice_job_runs_every_five_minutes_once_at_a_time(
    db: Database, notice_settings: Settings
) -> None:
    scheduler = build_scheduler(db, notice_settings)
    job = scheduler.get_job("meeting_notices")
    assert job is not None
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == NOTICE_INTERVAL == timedelta(minutes=5)
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.func is plan_notices
    assert job.args == (db, notice_settings)
    # The nightly housekeeping is still there.
    assert scheduler.get_job("housekeeping") is not None


def test_the_notice_job_plans_what_is_due_now_once(db: Database, notice_settings: Settings) -> None:
    meeting_id = _meeting_in_three_days(db)
    counts = plan_notices(db, notice_settings)
    assert counts["announcement"] == 2
    assert len(_announcements(db)) == 2
    assert all(k.startswith(f"meeting:{meeting_id}:rev:0:") for k in _announcements(db))
    assert plan_notices(db, notice_settings)["announcement"] == 0


def test_wlcc_notices_plan_prints_what_it_planned(
    database_url: str, db: Database, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _meeting_in_three_days(db)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WLCC_QUIET_HOURS", "")
    result = runner.invoke(app, ["notices", "plan"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ["Planned:"] in lines
    assert ["2", "announcements"] in lines
    assert ["0", "morning-of", "reminders"] in lines
    assert len(_announcements(db)) == 2
    again = runner.invoke(app, ["notices", "plan"])
    assert again.exit_code == 0
    assert ["0", "announcements"] in [line.split() for line in again.output.splitlines()]
    assert len(_announcements(db)) == 2


def test_wlcc_notices_plan_explains_itself_and_refuses_an_unmigrated_database(
    tmp_path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["notices", "plan", "--help"])
    assert result.exit_code == 0
    assert "once" in result.output and "outbox" in result.output
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    refused = runner.invoke(app, ["notices", "plan"])
    assert refused.exit_code == 1
    assert "wlcc db upgrade" in refused.output
