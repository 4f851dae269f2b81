"""The ASGI application: webhooks, health, media, Open311 and the staff console.
``uvicorn app:app`` serves it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from bot import media, open311, telegram, whatsapp
from bot.deps import DatabaseDep
from bot.sender import BackgroundSender, build_sender
from console.web import install as install_console
from handlers.dispatch import Dispatcher, UnstorableMessage
from handlers.router import Router, RouterConfig
from storage.db import Database, redact_url
from storage.inbound import count_failed
from storage.migrate import pending
from wlcc.logging import configure_logging
from wlcc.settings import Settings, load_settings

log = logging.getLogger("wlcc")


class NotMigrated(RuntimeError):
    pass


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.twilio_auth_token,
    ]
    return [v.get_secret_value() for v in values if v is not None]


def create_app(
    settings: Settings | None = None,
    *,
    scheduler: bool | None = None,
    sender: bool | None = None,
) -> FastAPI:
    """Build the app. Settings are read at start-up when not given (so import never fails)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conf = settings or load_settings()
        configure_logging(conf.wlcc_log_level, _secrets(conf))
        db = Database(conf.database_url)
        if pending(db.engine, conf.database_url):
            db.dispose()
            raise NotMigrated(
                f"The database {redact_url(conf.database_url)} is not migrated. "
                "Run `wlcc db upgrade` (or start with `wlcc serve`, which migrates first)."
            )
        router = Router(
            db,
            RouterConfig.from_settings(conf),
        )
        app.state.settings = conf
        app.state.db = db
        app.state.dispatcher = Dispatcher(router, answer_here=not conf.wlcc_inbox_worker)
        app.state.telegram = None
        app.state.whatsapp = None
        if conf.telegram_enabled:
            app.state.telegram = telegram.TelegramChannel(conf)
            await app.state.telegram.start()
            log.info("Telegram channel on (API %s)", conf.telegram_api_base_url)
        else:
            log.warning("Telegram channel off: TELEGRAM_BOT_TOKEN is not set")
        if conf.whatsapp_enabled:
            app.state.whatsapp = whatsapp.WhatsAppChannel(conf)
            await app.state.whatsapp.start()
            log.info("WhatsApp channel on (API %s)", conf.twilio_api_base_url)
        else:
            log.warning("WhatsApp channel off: %s not set", ", ".join(conf.whatsapp_missing))
        app.state.media = media.MediaStore(
            db, conf, telegram_bot=app.state.telegram.bot if app.state.telegram else None
        )
        app.state.sender = None
        if sender if sender is not None else conf.wlcc_sender_enabled:
            app.state.sender = BackgroundSender(
                build_sender(
                    db,
                    conf,
                    telegram=app.state.telegram,
                    whatsapp=app.state.whatsapp,
                    media=app.state.media,
                )
            )
        channels = {"telegram": app.state.telegram, "whatsapp": app.state.whatsapp}
        senders = {name: ch.send_replies for name, ch in channels.items() if ch is not None}
        wake = app.state.sender.sender.wake if app.state.sender is not None else None
        await app.state.dispatcher.start(senders, wake)
        sched = None
        if scheduler if scheduler is not None else conf.wlcc_scheduler_enabled:
            from scheduler import build_scheduler

            sched = build_scheduler(db, conf)
            sched.start()
        log.info("WLCC bot ready on %s", redact_url(conf.database_url))
        try:
            yield
        finally:
            if sched is not None:
                sched.shutdown(wait=False)
            await app.state.dispatcher.stop()
            if app.state.sender is not None:
                await app.state.sender.close()
            for channel in (app.state.telegram, app.state.whatsapp):
                if channel is not None:
                    await channel.close()
            db.dispose()

    app = FastAPI(title="WLCC bot", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(telegram.router)
    app.include_router(whatsapp.router)
    app.include_router(media.router)
    app.include_router(open311.router)  # the complaints as open data, read-only

    @app.exception_handler(SQLAlchemyError)
    async def _database_down(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        # The platforms retry a 5xx later; nothing was recorded, so nothing is lost.
        log.error("database error: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "the database is unavailable; try again later"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(UnstorableMessage)
    async def _unstorable(_: Request, exc: UnstorableMessage) -> JSONResponse:
        # One message the database cannot hold: a retry would fail the same way.
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": "invalid request", "errors": len(exc.errors())},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    install_console(app)  # the staff console's pages and their HTML error pages

    @app.get("/healthz")
    def healthz(db: DatabaseDep) -> JSONResponse:
        try:
            db.ping()
            with db.transaction() as session:
                set_aside = count_failed(session)
        except Exception as exc:
            log.error("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "error", "database": "unreachable"},
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        # Messages that could not be answered (`wlcc inbox failed` lists them).
        return JSONResponse({"status": "ok", "database": "ok", "inbox_failed": set_aside})

    return app


app = create_app()
