"""Posting to the app's webhooks as the platforms do, through a starlette ``TestClient``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.testclient import TestClient

from app import create_app
from tests.fakes import twilio_forms
from tests.fakes.telegram_updates import TelegramUpdates
from wlcc.settings import Settings

TELEGRAM_PATH = "/webhooks/telegram"
WHATSAPP_PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@contextmanager
def running_app(settings: Settings) -> Iterator[TestClient]:
    """The real app with its lifespan (migration check, channels) running."""
    with TestClient(create_app(settings, scheduler=False)) as client:
        yield client


_DEFAULT = object()


def settle(client: TestClient) -> None:
    """Wait until the app has answered every message it accepted.

    Webhooks return as soon as a message is safely recorded; the answer follows in the
    background. Tests wait for it here instead of sleeping.
    """
    dispatcher = getattr(client.app.state, "dispatcher", None)  # type: ignore[attr-defined]
    if dispatcher is not None:
        client.portal.call(dispatcher.idle)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Post:
    """One webhook call, ready to send (see :func:`post_concurrently`)."""

    path: str
    content: bytes
    headers: dict[str, str]


def post_concurrently(client: TestClient, posts: list[Post]) -> list[httpx.Response]:
    """Send ``posts`` at the same moment, in the app's own event loop (so the webhooks share
    the dispatcher's batches as a burst of real calls does); then wait for the answers."""

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(
                await asyncio.gather(
                    *(http.post(p.path, content=p.content, headers=p.headers) for p in posts)
                )
            )

    responses = client.portal.call(go)  # type: ignore[union-attr]
    settle(client)
    return responses


class TelegramWebhook:
    """Posts updates the way Telegram does: JSON with the secret token header."""

    def __init__(self, client: TestClient, settings: Settings, updates: TelegramUpdates) -> None:
        self.client = client
        secret = settings.telegram_webhook_secret
        self.secret = secret.get_secret_value() if secret else None
        self.updates = updates

    def post(self, update: Any, *, secret: Any = _DEFAULT) -> httpx.Response:
        return self.post_raw(json.dumps(update).encode(), secret=secret)

    def prepare(self, update: Any) -> Post:
        """``update`` as Telegram would post it (for :func:`post_concurrently`); a ``bytes``
        update is sent as it is."""
        content = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: self.secret or ""}
        return Post(TELEGRAM_PATH, content, headers)

    def post_raw(
        self,
        content: bytes,
        *,
        secret: Any = _DEFAULT,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Content-Type": content_type, **(headers or {})}
        token = self.secret if secret is _DEFAULT else secret
        if token is not None:
            sent[SECRET_HEADER] = token
        response: httpx.Response = self.client.post(TELEGRAM_PATH, content=content, headers=sent)
        settle(self.client)
        return response

    def say(self, text: str, **kwargs: Any) -> httpx.Response:
        return self.post(self.updates.text(text, **kwargs))


class WhatsAppWebhook:
    """Posts Twilio's signed forms. Signatures are over ``PUBLIC_BASE_URL`` + path, as Twilio
    signs the URL it called, while the app itself sees ``http://testserver``."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        token = settings.twilio_auth_token
        self.auth_token = token.get_secret_value() if token else ""
        self.public_base_url = (settings.public_base_url or "http://testserver").rstrip("/")
        self.account_sid = settings.twilio_account_sid or ""
        self.to = settings.twilio_whatsapp_from or ""

    def url(self, path: str) -> str:
        return self.public_base_url + path

    def signature(self, form: dict[str, str], path: str = WHATSAPP_PATH) -> str:
        return twilio_forms.sign(self.auth_token, self.url(path), form)

    def post(
        self,
        form: dict[str, str],
        *,
        path: str = WHATSAPP_PATH,
        signature: Any = _DEFAULT,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Post ``form`` signed (or with the given ``signature``; None sends none)."""
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        sig = self.signature(form, path) if signature is _DEFAULT else signature
        if sig is not None:
            sent["X-Twilio-Signature"] = sig
        response: httpx.Response = self.client.post(path, content=urlencode(form), headers=sent)
        settle(self.client)
        return response

    def prepare(self, form: dict[str, str], *, path: str = WHATSAPP_PATH) -> Post:
        """``form`` signed as Twilio would post it (for :func:`post_concurrently`)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.signature(form, path),
        }
        return Post(path, urlencode(form).encode(), headers)

    def inbound(self, body: str = "Halo", **kwargs: Any) -> dict[str, str]:
        kwargs.setdefault("account_sid", self.account_sid)
        kwargs.setdefault("to", self.to)
        return twilio_forms.inbound(body, **kwargs)

    def say(self, body: str = "Halo", **kwargs: Any) -> httpx.Response:
        return self.post(self.inbound(body, **kwargs))

    def status(self, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.post(form, path=STATUS_PATH, **kwargs)
