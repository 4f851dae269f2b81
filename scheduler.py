"""APScheduler jobs. Each job only plans work (outbox rows) or tidies the database; it never
talks to a platform itself, so a restart or a second scheduler cannot send anything twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.console import purge_console
from storage.conversations import purge_idle_conversations
from storage.db import Database
from storage.help_requests import purge_help_requests
from storage.inbound import purge_inbound
from storage.ledger_access import purge_statement_files
from storage.meetings_notices import plan_all
from storage.outbox import purge_outbox
from wlcc.formatting import utcnow
from wlcc.settings import Settings

log = logging.getLogger(__name__)

IDLE_CONVERSATION_RETENTION = timedelta(days=30)
# How often the meeting notices are planned: a notice goes out at most this late.
NOTICE_INTERVAL = timedelta(minutes=5)


def housekeeping(db: Database, settings: Settings) -> dict[str, int]:
    """Forget what is no longer needed: old dedupe records, long-idle conversations,
    finished outbox messages, statement PDFs that were delivered, and the help path's
    call-back requests handled more than ``WLCC_HELP_RETENTION_DAYS`` ago, and the console's
    ended sessions, spent login codes and old login attempts."""
    with db.transaction() as session:
        inbound = purge_inbound(session, settings.wlcc_inbound_retention_days)
        idle = purge_idle_conversations(session, IDLE_CONVERSATION_RETENTION)
        outbox = purge_outbox(session, settings.wlcc_outbox_retention_days)
        statements = purge_statement_files(session, utcnow())
        help_requests = purge_help_requests(session, settings.wlcc_help_retention_days, utcnow())
        console = purge_console(session, utcnow())
    if inbound or idle or outbox or statements or help_requests or console:
        log.info(
            "housekeeping removed %d inbound records, %d idle conversations, %d outbox messages, "
            "%d statement files, %d help requests, %d console logins",
            inbound,
            idle,
            outbox,
            statements,
            help_requests,
            console,
        )
    return {
        "inbound": inbound,
        "conversations": idle,
        "outbox": outbox,
        "statements": statements,
        "help_requests": help_requests,
        "console": console,
    }


def plan_notices(db: Database, settings: Settings) -> dict[str, int]:
    """The meeting notices due now (and the rest of the meetings' planning), in one
    transaction; each notice is planned once, however many schedulers run this."""
    with db.transaction() as session:
        return plan_all(session, now=utcnow(), settings=settings)


def build_scheduler(db: Database, settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    scheduler.add_job(
        housekeeping,
        CronTrigger(hour=3, minute=17, timezone=settings.timezone),
        args=(db, settings),
        id="housekeeping",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        plan_notices,
        IntervalTrigger(seconds=NOTICE_INTERVAL.total_seconds(), timezone=settings.timezone),
        args=(db, settings),
        id="meeting_notices",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(NOTICE_INTERVAL.total_seconds()),
    )
    return scheduler
