"""A fake Telegram Bot API server for offline tests.

It serves ``POST /bot<token>/<method>`` as api.telegram.org does and as python-telegram-bot's
``HTTPXRequest`` calls it: form-urlencoded bodies whose non-string values are JSON-encoded
(``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``), multipart bodies when files are
uploaded, and JSON bodies (as aiogram, curl or a hand-written client send). Every request is
recorded as a :class:`TelegramCall`; answers are realistic ``{"ok": true, "result": ...}``
objects, and the checks the real API makes on what we send (empty text, text over 4096
characters, callback_data over 64 bytes...) answer the real errors.

Typical use::

    with FakeTelegram(token=TOKEN) as fake:
        bot = Bot(TOKEN, base_url=f"{fake.url}/bot")
        ...
        [call] = fake.wait_for("sendMessage")
        assert call["chat_id"] == 42
        fake.fail_next(429, retry_after=3)  # the next request gets flood control
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes._server import (
    FakeServer,
    RawRequest,
    RecordedCall,
    Reply,
    UploadedFile,
    parse_form,
    parse_multipart,
)

DEFAULT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"  # the Bot API docs' example token
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

# Parameters that are ids but strings in the Bot API (everything else named *_id is a number).
_STRING_IDS = {
    "callback_query_id",
    "inline_query_id",
    "shipping_query_id",
    "pre_checkout_query_id",
    "file_id",
    "file_unique_id",
    "business_connection_id",
    "message_effect_id",
    "custom_emoji_id",
    "gift_id",
    "sticker_set_name",
}
_INT = re.compile(r"^-?\d+$")

ERROR_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Methods whose result is simply ``true``.
_TRUE_METHODS = {
    "answercallbackquery",
    "setwebhook",
    "deletewebhook",
    "setmycommands",
    "deletemycommands",
    "sendchataction",
    "deletemessage",
    "deletemessages",
    "setchatmenubutton",
    "setmydescription",
    "setmyshortdescription",
    "setmyname",
    "logout",
    "close",
    "setmessagereaction",
}
_MESSAGE_METHODS = {
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendlocation",
    "sendvenue",
    "sendcontact",
    "editmessagetext",
    "editmessagereplymarkup",
    "editmessagecaption",
    "forwardmessage",
}


def decode_value(name: str, value: str) -> Any:
    """A form value as the Bot API reads it: JSON objects/arrays, numeric ids and booleans."""
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    if name not in _STRING_IDS and (name.endswith("_id") or name in ("offset", "limit")):
        if _INT.match(stripped):
            return int(stripped)
        return value
    if name in ("latitude", "longitude", "horizontal_accuracy"):
        try:
            return float(stripped)
        except ValueError:
            return value
    if stripped in ("true", "false") and name.startswith(("disable_", "protect_", "allow_")):
        return stripped == "true"
    if name in ("show_alert", "drop_pending_updates", "is_personal", "has_spoiler"):
        return stripped == "true"
    return value


@dataclass(frozen=True, kw_only=True)
class TelegramCall(RecordedCall):
    """One request the fake received, and what it answered."""

    method: str  # as sent, e.g. "sendMessage"
    token: str
    params: dict[str, Any]  # decoded (chat_id -> int, reply_markup -> dict...)
    raw: dict[str, str]  # the form values as sent
    files: dict[str, UploadedFile]

    @property
    def result(self) -> Any:
        return self.response.get("result") if isinstance(self.response, dict) else None

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, dict):
            rows = markup.get("inline_keyboard")
            if isinstance(rows, list):
                return rows
        return []

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.inline_keyboard for button in row]

    def __repr__(self) -> str:
        shown = {k: _short(v) for k, v in self.params.items() if k != "reply_markup"}
        extra = " +keyboard" if "reply_markup" in self.params else ""
        return f"<{self.method} {self.status} {shown}{extra}>"


def _short(value: Any, limit: int = 120) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}...({len(value)} chars)"
    return value


class BotApiError(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _State:
    message_id: int = 0
    file_counter: int = 0
    # file_id -> (file_path, bytes): what getFile and the file download serve.
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)


class FakeTelegram(FakeServer[TelegramCall]):
    """The fake Bot API. ``tokens`` are accepted (others get 401); None accepts any token."""

    name = "telegram"

    def __init__(
        self,
        token: str | None = DEFAULT_TOKEN,
        *,
        bot_first_name: str = "WLCC Bot",
        bot_username: str = "wlcc_test_bot",
    ) -> None:
        self.tokens: set[str] | None = {token} if token else None
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self._state = _State()
        super().__init__()

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give python-telegram-bot (the token is appended to it)."""
        return f"{self.url}/bot"

    def _reset_state(self) -> None:
        self._state = _State()

    # --- queries for tests ---
    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[TelegramCall]:
        """Recorded requests, optionally of one method (case-insensitive) and outcome."""
        found = self.all_calls()
        if method is not None:
            found = [c for c in found if c.method.lower() == method.lower()]
        if ok is not None:
            found = [c for c in found if c.ok == ok]
        return found

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 2.0, *, ok: bool | None = None
    ) -> list[TelegramCall]:
        """Wait until ``count`` requests of ``method`` arrived; returns all of them."""

        def enough(calls: list[TelegramCall]) -> bool:
            return (
                sum(
                    1
                    for c in calls
                    if c.method.lower() == method.lower() and (ok is None or c.ok == ok)
                )
                >= count
            )

        self.wait_until(enough, timeout, f"{count} x {method}")
        return self.calls(method, ok=ok)

    def sent(self, chat_id: int | None = None) -> list[TelegramCall]:
        """Successful sendMessage calls, optionally to one chat."""
        found = self.calls("sendMessage", ok=True)
        if chat_id is not None:
            found = [c for c in found if c.params.get("chat_id") == chat_id]
        return found

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text or "" for c in self.sent(chat_id)]

    def add_file(self, file_id: str, content: bytes) -> None:
        """Make ``file_id`` known to getFile and downloadable (``/file/bot<token>/<path>``)."""
        with self._cond:
            path = f"photos/file_{len(self._state.files) + 1}.jpg"
            self._state.files[file_id] = (path, content)

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes stored for ``file_id`` (added, or uploaded with sendPhoto)."""
        with self._cond:
            found = self._state.files.get(file_id)
        return found[1] if found else None

    # --- scripting ---
    def fail_next(
        self,
        status: int,
        body: Any = None,
        times: int = 1,
        *,
        method: str | None = None,
        description: str | None = None,
        retry_after: int = 3,
    ) -> None:
        """Answer the next ``times`` requests (of ``method``, or any) with an error.

        Without ``body`` the error is Telegram's own for that status: 429 is flood control with
        ``parameters.retry_after``, 403 "bot was blocked by the user", 400 "chat not found", 500
        and 502 (nginx's HTML page, as Telegram's front end really answers).
        """
        content_type = "application/json"
        if body is None:
            if status == 502 and description is None:
                body, content_type = _NGINX_502, "text/html"
            else:
                text = description or ERROR_DESCRIPTIONS.get(status, "Error")
                body = {
                    "ok": False,
                    "error_code": status,
                    "description": text.format(retry_after=retry_after),
                }
                if status == 429:
                    body["parameters"] = {"retry_after": retry_after}
        elif isinstance(body, str | bytes):
            content_type = "text/plain"
        self.script(status, body, times=times, match=method, content_type=content_type)

    # --- serving ---
    def handle(self, request: RawRequest) -> Reply:
        received, wall = time.monotonic(), time.time()
        download = _FILE_PATH.match(request.path)
        if download is not None and request.method == "GET":
            # python-telegram-bot percent-encodes the token's ":" in file URLs
            return self._download(unquote(download["token"]), unquote(download["path"]))
        match = _PATH.match(request.path)
        if match is None:
            return Reply.json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match["token"], match["method"]
        raw, files, params = self._parse(request)
        status, response = self._answer(token, method, params, files, request)
        self._record(
            TelegramCall(
                method=method,
                token=token,
                params=params,
                raw=raw,
                files=files,
                content_type=request.content_type,
                status=status,
                response=response,
                at=received,
                wall=wall,
            )
        )
        if isinstance(response, str):
            return Reply(status, response.encode(), "text/html")
        return Reply.json(status, response)

    def _parse(
        self, request: RawRequest
    ) -> tuple[dict[str, str], dict[str, UploadedFile], dict[str, Any]]:
        raw: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        params: dict[str, Any] = {}
        kind = request.content_type
        pairs: list[tuple[str, str]] = []
        if kind == "application/json":
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                data = None
            if isinstance(data, dict):
                params = dict(data)
                raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
                return raw, files, params
        elif kind == "multipart/form-data":
            pairs, files = parse_multipart(request.headers.get("Content-Type", ""), request.body)
        elif request.body:
            pairs = parse_form(request.body)
        for key, values in request.query.items():
            pairs.extend((key, v) for v in values)
        for key, value in pairs:
            raw[key] = value
            params[key] = decode_value(key, value)
        for key, upload in files.items():
            params[key] = upload
        return raw, files, params

    def _answer(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        request: RawRequest,
    ) -> tuple[int, Any]:
        scripted = self._take_script(method)
        if scripted is not None:
            body = scripted.body
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            return scripted.status, body
        if not _TOKEN.match(token):
            return 404, BotApiError(404, "Not Found").body()
        if self.tokens is not None and token not in self.tokens:
            return 401, BotApiError(401, "Unauthorized").body()
        try:
            with self._cond:  # counters are shared by the handler threads
                result = self._result(token, method.lower(), params)
        except BotApiError as err:
            return err.status, err.body()
        return 200, {"ok": True, "result": result}

    # --- results ---
    def bot_user(self, token: str = DEFAULT_TOKEN) -> dict[str, Any]:
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _result(self, token: str, method: str, params: dict[str, Any]) -> Any:
        if method == "getme":
            return {
                **self.bot_user(token),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        if method == "setwebhook":
            if not str(params.get("url", "")).startswith("https://") and params.get("url"):
                raise BotApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
            self._state.webhook = {"url": params.get("url", "")}
        if method == "deletewebhook":
            self._state.webhook = {}
        if method == "answercallbackquery" and not params.get("callback_query_id"):
            raise BotApiError(400, "Bad Request: QUERY_ID_INVALID")
        if method in _TRUE_METHODS:
            return True
        if method == "getwebhookinfo":
            return {
                "url": self._state.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
        if method == "getupdates":
            return []
        if method == "getchat":
            return {**self._chat(params), "accent_color_id": 0, "max_reaction_count": 11}
        if method == "getfile":
            return self._get_file(params)
        if method in _MESSAGE_METHODS:
            return self._message(token, method, params)
        raise BotApiError(404, "Not Found: method not found")

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise BotApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                return {"id": -1001000000001, "title": chat_id[1:], "type": "channel"}
            raise BotApiError(400, "Bad Request: chat not found")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise BotApiError(400, "Bad Request: chat not found")
        if chat_id > 0:
            return {"id": chat_id, "first_name": "Ibu", "type": "private"}
        if chat_id < -1000000000000:
            return {"id": chat_id, "title": "Grup WLCC", "type": "supergroup"}
        return {"id": chat_id, "title": "Grup WLCC", "type": "group"}

    def _download(self, token: str, path: str) -> Reply:
        if self.tokens is not None and token not in self.tokens:
            return Reply.json(401, BotApiError(401, "Unauthorized").body())
        with self._cond:
            for file_path, content in self._state.files.values():
                if file_path == path:
                    return Reply(200, content, "application/octet-stream")
        return Reply.json(404, BotApiError(404, "Not Found: file not found").body())

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        found = self._state.files.get(file_id) if isinstance(file_id, str) else None
        if found is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        path, content = found
        return {
            "file_id": file_id,
            "file_unique_id": f"AQADFile{abs(hash(file_id)) % 10**8:08d}",
            "file_size": len(content),
            "file_path": path,
        }

    def _file(self, width: int, height: int, size: int) -> dict[str, Any]:
        self._state.file_counter += 1
        n = self._state.file_counter
        return {
            "file_id": f"AgACAgUAAxkDAAI{n:06d}Fake{width}x{height}",
            "file_unique_id": f"AQADFake{n:06d}",
            "file_size": size,
            "width": width,
            "height": height,
        }

    def _check_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BotApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            keyboard = markup.get("keyboard")
            if keyboard is not None and not isinstance(keyboard, list):
                raise BotApiError(400, 'Bad Request: field "keyboard" must be an Array')
            return None  # reply keyboards are not echoed in the sent message
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise BotApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise BotApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT):
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _message(self, token: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        markup = self._check_markup(params)
        if method.startswith("edit"):
            message_id = params.get("message_id")
            if not isinstance(message_id, int):
                raise BotApiError(400, "Bad Request: message to edit not found")
        else:
            self._state.message_id += 1
            message_id = self._state.message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user(token),
            "chat": chat,
            "date": int(time.time()),
        }
        if method.startswith("edit"):
            message["edit_date"] = int(time.time())
        if method in ("sendmessage", "editmessagetext"):
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise BotApiError(400, "Bad Request: message text is empty")
            if len(text) > TEXT_LIMIT:  # characters (code points), measured on the real API
                raise BotApiError(400, "Bad Request: message is too long")
            message["text"] = text
        elif method == "sendphoto":
            if not params.get("photo"):
                raise BotApiError(400, "Bad Request: there is no photo in the request")
            message["photo"] = [
                self._file(90, 67, 1_254),
                self._file(320, 240, 15_687),
                self._file(1280, 960, 118_406),
            ]
            upload = params["photo"]
            if isinstance(upload, UploadedFile):  # an upload can be fetched again by its id
                path = f"photos/file_{len(self._state.files) + 1}.jpg"
                self._state.files[message["photo"][-1]["file_id"]] = (path, upload.content)
        elif method == "senddocument":
            if not params.get("document"):
                raise BotApiError(400, "Bad Request: there is no document in the request")
            upload = params["document"]
            name = upload.filename if isinstance(upload, UploadedFile) else "file"
            message["document"] = {
                "file_id": self._file(0, 0, 0)["file_id"],
                "file_unique_id": f"AgADFakeDoc{self._state.file_counter}",
                "file_name": name,
                "mime_type": getattr(upload, "content_type", "application/octet-stream"),
            }
        elif method in ("sendlocation", "sendvenue"):
            location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
            if not all(isinstance(v, float) for v in location.values()):
                raise BotApiError(400, "Bad Request: wrong latitude or longitude")
            message["location"] = location
        elif method == "sendcontact":
            message["contact"] = {
                "phone_number": params.get("phone_number"),
                "first_name": params.get("first_name"),
            }
        caption = params.get("caption")
        if isinstance(caption, str) and caption:
            if len(caption) > CAPTION_LIMIT:
                raise BotApiError(400, "Bad Request: message caption is too long")
            message["caption"] = caption
        if markup is not None:
            message["reply_markup"] = markup
        return message
