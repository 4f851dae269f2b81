"""A fake Twilio REST API for offline tests.

It serves what the twilio SDK calls to send WhatsApp messages:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded: ``To``, ``From``,
  ``Body``, ``MediaUrl`` (repeated), ``StatusCallback``, ``ContentSid``, ``ContentVariables``...)
  answering ``201`` and a Message resource (``sid`` "SM" + 32 hex, ``status`` "queued"...);
* ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` for a message sent before.

HTTP basic auth (account SID and auth token) is checked as Twilio does (401, code 20003), and so
are the parameters Twilio insists on (21604 no To, 21603 no From, 21619 no body or media, 21617
body over 1600 characters, 21910 From and To of different channels). Errors use Twilio's JSON
error body ``{"code", "message", "more_info", "status"}``, and can be scripted::

    fake.fail_next(400, code=63016)   # outside the 24-hour window
    fake.fail_next(429)               # too many requests

and a number can be refused until told otherwise, as Twilio refuses an unsubscribed one::

    fake.refuse("+6281200000001", code=21610)   # every message to it, until refuse(..., None)
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from tests.fakes._server import FakeServer, RawRequest, RecordedCall, Reply, parse_form

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "f3c4b2a1d0e9f8a7b6c5d4e3f2a1b0c9"
SANDBOX_FROM = "whatsapp:+14155238886"
BODY_LIMIT = 1600
MAX_MEDIA = 10

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MEDIA = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<message>[^/]+)/Media/(?P<sid>[^/.]+)$"
)
_MEDIA_CONTENT = re.compile(r"^/media-content/(?P<sid>[^/]+)$")

ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number: {to}"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21619: (400, "A text message body or media URL must be specified."),
    21623: (400, "Number of media files exceeds allowed limit."),
    21910: (400, "Invalid From and To pair. From and To should be of the same channel"),
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    ),
    63032: (400, "We cannot send this message to this user because of a WhatsApp limitation."),
}
_DEFAULT_CODE_FOR_STATUS = {400: 63016, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def error_body(code: int, status: int | None = None, message: str | None = None) -> dict[str, Any]:
    default_status, default_message = ERRORS.get(code, (400, "Error"))
    return {
        "code": code,
        "message": message or default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or default_status,
    }


def _short(value: str, limit: int = 120) -> str:
    return f"{value[:limit]}...({len(value)} chars)" if len(value) > limit else value


@dataclass(frozen=True, kw_only=True)
class TwilioCall(RecordedCall):
    """One request the fake received, and what it answered."""

    http_method: str
    path: str
    account_sid: str | None  # from the path
    auth: tuple[str, str] | None  # basic auth (username, password) as sent
    form: dict[str, list[str]]  # every value of every field, in order

    @property
    def is_send(self) -> bool:
        return self.http_method == "POST" and self.path.endswith("/Messages.json")

    def get(self, key: str, default: str | None = None) -> str | None:
        values = self.form.get(key)
        return values[-1] if values else default

    def __getitem__(self, key: str) -> str:
        return self.form[key][-1]

    def getall(self, key: str) -> list[str]:
        return list(self.form.get(key, []))

    @property
    def to(self) -> str | None:
        return self.get("To")

    @property
    def from_(self) -> str | None:
        return self.get("From")

    @property
    def body(self) -> str:
        return self.get("Body") or ""

    @property
    def media_urls(self) -> list[str]:
        return self.getall("MediaUrl")

    @property
    def sid(self) -> str | None:
        return self.response.get("sid") if isinstance(self.response, dict) else None

    def __repr__(self) -> str:
        fields = {k: v if len(v) > 1 else _short(v[0]) for k, v in self.form.items()}
        return f"<{self.http_method} {self.path} {self.status} {fields}>"


class FakeTwilio(FakeServer[TwilioCall]):
    """The fake Twilio REST API for one account (SID and auth token)."""

    name = "twilio"

    def __init__(
        self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._messages: dict[str, dict[str, Any]] = {}
        self._media: dict[str, tuple[str, bytes]] = {}  # media sid -> (content type, bytes)
        self._refused: dict[str, int] = {}  # "whatsapp:+62..." -> Twilio error code
        super().__init__()

    @property
    def base_url(self) -> str:
        """What to give as ``TWILIO_API_BASE_URL`` (it replaces https://api.twilio.com)."""
        return self.url

    def _reset_state(self) -> None:
        self._messages = {}
        self._media = {}
        self._refused = {}

    def add_media(self, content: bytes, content_type: str = "image/jpeg") -> str:
        """Store an inbound photo; returns its ``MediaUrl`` as Twilio gives it (on
        api.twilio.com, fetched with the account's basic auth, redirecting to the content)."""
        message, sid = new_sid("MM"), new_sid("ME")
        with self._cond:
            self._media[sid] = (content_type, content)
        account = self.account_sid
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{account}/Messages/{message}/Media/{sid}"
        )

    # --- queries for tests ---
    def calls(self, *, ok: bool | None = None) -> list[TwilioCall]:
        found = self.all_calls()
        return found if ok is None else [c for c in found if c.ok == ok]

    def messages(self, to: str | None = None, *, ok: bool | None = True) -> list[TwilioCall]:
        """Message-create requests (accepted ones by default), optionally to one address."""
        found = [c for c in self.calls(ok=ok) if c.is_send]
        if to is not None:
            found = [c for c in found if c.to == to]
        return found

    def bodies(self, to: str | None = None) -> list[str]:
        return [c.body for c in self.messages(to)]

    def wait_for(
        self, count: int = 1, timeout: float = 2.0, *, to: str | None = None, ok: bool | None = None
    ) -> list[TwilioCall]:
        """Wait until ``count`` message-create requests (to ``to``) arrived; returns them all."""

        def enough(calls: list[TwilioCall]) -> bool:
            return (
                sum(
                    1
                    for c in calls
                    if c.is_send and (to is None or c.to == to) and (ok is None or c.ok == ok)
                )
                >= count
            )

        self.wait_until(enough, timeout, f"{count} message(s)" + (f" to {to}" if to else ""))
        return self.messages(to, ok=ok)

    # --- scripting ---
    def fail_next(
        self,
        status: int,
        body: Any = None,
        times: int = 1,
        *,
        code: int | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` message requests with an error.

        Without ``body`` it is Twilio's JSON error for ``code`` (by default 63016 for 400, 20429
        for 429, 20500 for 500...). A ``str``/``bytes`` body is sent as it is (an HTML proxy
        page, say).
        """
        content_type = "application/json"
        headers: dict[str, str] = {}
        if body is None:
            code = code or _DEFAULT_CODE_FOR_STATUS.get(status, 20500)
            body = error_body(code, status, message)
        elif isinstance(body, str | bytes):
            content_type = "text/html"
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self.script(status, body, times=times, content_type=content_type, headers=headers)

    def refuse(self, phone: str, code: int | None = 21610) -> None:
        """Refuse every message to the WhatsApp number ``phone`` with Twilio error ``code``
        (21610: unsubscribed), until called again with ``code=None``."""
        with self._cond:
            if code is None:
                self._refused.pop(f"whatsapp:{phone}", None)
            else:
                self._refused[f"whatsapp:{phone}"] = code

    # --- serving ---
    def handle(self, request: RawRequest) -> Reply:
        received, wall = time.monotonic(), time.time()
        media = self._serve_media(request)
        if media is not None:
            return media
        form: dict[str, list[str]] = {}
        if request.body:
            for key, value in parse_form(request.body):
                form.setdefault(key, []).append(value)
        auth = _basic_auth(request.headers.get("Authorization"))
        send = _MESSAGES.match(request.path)
        fetch = _MESSAGE.match(request.path)
        found = send or fetch
        account = found["account"] if found else None
        status, response, headers = self._answer(request, form, auth, account)
        self._record(
            TwilioCall(
                http_method=request.method,
                path=request.path,
                account_sid=account,
                auth=auth,
                form=form,
                content_type=request.content_type,
                status=status,
                response=response,
                at=received,
                wall=wall,
            )
        )
        if isinstance(response, str):
            return Reply(status, response.encode(), "text/html", headers)
        return Reply.json(status, response, **headers)

    def _serve_media(self, request: RawRequest) -> Reply | None:
        """Inbound media, as Twilio serves it: auth, then a redirect to the content."""
        if request.method != "GET":
            return None
        content = _MEDIA_CONTENT.match(request.path)
        if content is not None:
            with self._cond:
                found = self._media.get(content["sid"])
            if found is None:
                return Reply(404, b"not found", "text/plain")
            return Reply(200, found[1], found[0])
        media = _MEDIA.match(request.path)
        if media is None:
            return None
        auth = _basic_auth(request.headers.get("Authorization"))
        if auth != (self.account_sid, self.auth_token) or media["account"] != self.account_sid:
            return Reply.json(401, error_body(20003))
        with self._cond:
            known = media["sid"] in self._media
        if not known:
            return Reply.json(404, error_body(20404, 404, f"{request.path} was not found"))
        location = f"{self.url}/media-content/{media['sid']}"
        return Reply(307, b"", "text/plain", {"Location": location})

    def _answer(
        self,
        request: RawRequest,
        form: dict[str, list[str]],
        auth: tuple[str, str] | None,
        account: str | None,
    ) -> tuple[int, Any, dict[str, str]]:
        send = _MESSAGES.match(request.path)
        fetch = _MESSAGE.match(request.path)
        if account is None or not (
            (send and request.method == "POST") or (fetch and request.method == "GET")
        ):
            return (
                404,
                error_body(20404, 404, f"The requested resource {request.path} was not found"),
                {},
            )
        if auth != (self.account_sid, self.auth_token) or account != self.account_sid:
            return 401, error_body(20003), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        if send:
            scripted = self._take_script("Messages")
            if scripted is not None:
                body = scripted.body
                if isinstance(body, bytes):
                    body = body.decode("utf-8", "replace")
                return scripted.status, body, dict(scripted.headers)
            return self._create(form)
        assert fetch is not None
        message = self._messages.get(fetch["sid"])
        if message is None:
            return (
                404,
                error_body(20404, 404, f"The requested resource {request.path} was not found"),
                {},
            )
        return 200, message, {}

    def _create(self, form: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        def one(key: str) -> str:
            values = form.get(key)
            return values[-1] if values else ""

        to, from_, body = one("To"), one("From"), one("Body")
        media = form.get("MediaUrl", [])
        if not to:
            return 400, error_body(21604), {}
        with self._cond:
            refused = self._refused.get(to)
        if refused is not None:
            return 400, error_body(refused), {}
        if not from_ and not one("MessagingServiceSid"):
            return 400, error_body(21603), {}
        if not body and not media and not one("ContentSid"):
            return 400, error_body(21619), {}
        if len(body) > BODY_LIMIT:
            return 400, error_body(21617), {}
        if len(media) > MAX_MEDIA:
            return 400, error_body(21623), {}
        if from_ and to.startswith("whatsapp:") != from_.startswith("whatsapp:"):
            return 400, error_body(21910), {}
        if not _E164.match(to.removeprefix("whatsapp:")):
            return 400, error_body(21211, 400, f"Invalid 'To' Phone Number: {to}"), {}
        sid = new_sid("MM" if media else "SM")
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": one("MessagingServiceSid") or None,
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": "accepted" if one("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        with self._cond:
            self._messages[sid] = message
        return 201, message, {}


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except ValueError:
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
