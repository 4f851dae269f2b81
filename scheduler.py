"""APScheduler jobs. Each job only plans work (outbox rows) or tidies the database; it never
talks to a platform itself, so a restart or a second scheduler cannot send anything twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from storage.conversations import purge_idle_conversations
from storage.db import Database
from storage.inbound import purge_inbound
from wlcc.settings import Settings

log = logging.getLogger(__name__)


def housekeeping(db: Database, settings: Settings) -> dict[str, int]:
    """Forget what is no longer needed: old dedupe records and long-idle conversations."""
    with db.transaction() as session:
        inbound = purge_inbound(session, settings.wlcc_inbound_retention_days)
        idle = purge_idle_conversations(session, timedelta(days=30))
    if inbound or idle:
        log.info("housekeeping removed %d inbound records, %d idle conversations", inbound, idle)
    return {"inbound": inbound, "conversations": idle}


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
    return scheduler
