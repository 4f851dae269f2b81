"""Hypothesis strategies for fuzzing the webhooks, shared by tests/test_webhook_fuzz.py (a few
hundred examples) and bench/fuzz_webhooks.py (tens of thousands).

Every example starts from a real-shaped update or form (tests/fakes/telegram_updates.py,
tests/fakes/twilio_forms.py) and changes a few of its values: other types, out-of-range
numbers, odd unicode (lone surrogates, NUL and other control characters, digits that are not
ASCII), deleted or added keys. Telegram updates carry the right secret and Twilio forms a valid
signature, so every example reaches the parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fakes import twilio_forms
from tests.fakes.telegram_updates import TelegramUpdates, TgUser
from tests.fakes.webhooks import STATUS_PATH, WHATSAPP_PATH, Post, TelegramWebhook, WhatsAppWebhook

# deadline=None: a webhook waits for the database, whose speed a shared machine does not
# promise. "ci" is derandomized (the same examples every run); "explore" looks further.
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", settings.get_profile("ci"), derandomize=False)

# Values the edge must survive, besides what hypothesis invents.
ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\x1b[31m",
    "\u0085",
    "\u202e",
    "²",
    "٣",
    "６３０１６",
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 40,
    "-1",
    "0x10",
    "1_0",
    "whatsapp:+6281234567890",
    "+6281234567890\x00",
    "%00",
    "a" * 300,
]
ODD_NUMBERS = [
    0,
    -1,
    2**31,
    2**63,
    -(2**63) - 1,
    10**80,
    -(10**20),
    253402300800,
    1e300,
    -1e300,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    91.0,
    -180.5,
]

any_text = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(ODD_STRINGS)
# No lone surrogates: a form is UTF-8 on the wire, where they cannot be written.
form_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    [s for s in ODD_STRINGS if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(ODD_NUMBERS)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class Change:
    """Set (or, with ``delete``, remove) the value at the ``pick``-th path of the update."""

    pick: int
    value: Any
    delete: bool = False
    key: str | None = None  # add this key to the container at the path instead


changes = st.lists(
    st.builds(
        Change,
        pick=st.integers(min_value=0, max_value=10**6),
        value=json_values,
        delete=st.booleans(),
        key=st.none() | any_text,
    ),
    min_size=1,
    max_size=4,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key in value:
            found += _paths(value[key], (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def apply_changes(update: dict[str, Any], todo: list[Change]) -> Any:
    """``update`` with each change made in turn (to a copy); may return a non-object."""
    data: Any = json.loads(json.dumps(update))
    for change in todo:
        paths = _paths(data)
        path = paths[change.pick % len(paths)]
        if not path:  # the root itself
            if change.key is not None and isinstance(data, dict):
                data[change.key] = change.value
            elif change.delete:
                data = change.value
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if change.key is not None and isinstance(parent[last], dict):
            parent[last][change.key] = change.value
        elif change.delete:
            del parent[last]
        else:
            parent[last] = change.value
    return data


# --- Telegram ---

_USERS = [TgUser(7300000000 + i, f"Fuzz{i}", None, None, "id") for i in range(20)]
_TG_KINDS: list[Callable[[TelegramUpdates, TgUser], dict[str, Any]]] = [
    lambda u, user: u.text("halo", user=user),
    lambda u, user: u.text("/start", user=user),
    lambda u, user: u.contact(user=user),
    lambda u, user: u.location(user=user),
    lambda u, user: u.venue(user=user),
    lambda u, user: u.photo("foto got", user=user),
    lambda u, user: u.callback("MENU", user=user),
    lambda u, user: u.edited_message("diedit", user=user),
    lambda u, user: u.group_message("halo", user=user),
    lambda u, user: u.my_chat_member("kicked", user=user),
    lambda u, user: u.sticker(user=user),
]


@st.composite
def telegram_bodies(draw: st.DrawFn, updates: TelegramUpdates) -> bytes:
    """The JSON body of a real-shaped update with a few values changed."""
    kind = draw(st.sampled_from(_TG_KINDS))
    user = draw(st.sampled_from(_USERS))
    data = apply_changes(kind(updates, user), draw(changes))
    return json.dumps(data, allow_nan=True).encode()  # lone surrogates travel as \ud800


def telegram_posts(webhook: TelegramWebhook, updates: TelegramUpdates) -> st.SearchStrategy[Post]:
    return telegram_bodies(updates).map(webhook.prepare)


# --- WhatsApp (Twilio) ---

_PHONES = [f"+62812{i:08d}" for i in range(1, 21)]
_FORM_KEYS = [
    "MessageSid",
    "SmsMessageSid",
    "From",
    "To",
    "Body",
    "ProfileName",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "Latitude",
    "Longitude",
    "Address",
    "Label",
    "ButtonPayload",
    "WaId",
    "AccountSid",
]


@st.composite
def whatsapp_forms(draw: st.DrawFn) -> dict[str, str]:
    """A real-shaped inbound form (text, media, location or button) with a few fields
    changed, removed or added."""
    phone = draw(st.sampled_from(_PHONES))
    kind = draw(st.sampled_from(["text", "media", "location", "button"]))
    if kind == "media":
        form = twilio_forms.inbound("", phone=phone, media=[("image/jpeg", "")])
    elif kind == "location":
        form = twilio_forms.inbound("", phone=phone, latitude=-2.9761, longitude=104.7754)
    elif kind == "button":
        form = twilio_forms.inbound("Menu", phone=phone, button_payload="MENU")
    else:
        form = twilio_forms.inbound("Halo", phone=phone)
    for key, value, delete in draw(
        st.lists(
            st.tuples(st.sampled_from(_FORM_KEYS) | form_text, form_text, st.booleans()),
            min_size=1,
            max_size=4,
        )
    ):
        if delete:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def whatsapp_posts(webhook: WhatsAppWebhook) -> st.SearchStrategy[Post]:
    return whatsapp_forms().map(lambda form: webhook.prepare(form, path=WHATSAPP_PATH))


@st.composite
def status_posts(draw: st.DrawFn, webhook: WhatsAppWebhook) -> Post:
    """A signed status callback with fuzzed fields and ``?outbox=`` value."""
    form = twilio_forms.status_callback(
        draw(st.sampled_from(["sent", "delivered", "read", "failed", "undelivered"])),
        error_code=draw(st.none() | st.sampled_from(["63016", "30008", "21610"])),
    )
    for key, value, delete in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode"]) | form_text,
                form_text,
                st.booleans(),
            ),
            max_size=3,
        )
    ):
        if delete:
            form.pop(key, None)
        else:
            form[key] = value
    outbox = draw(
        st.none()
        | st.integers(min_value=-(2**70), max_value=2**70).map(str)
        | form_text
        | st.sampled_from(["²", "999999999999999999", "2147483647", "2147483648", "1"])
    )
    path = STATUS_PATH if outbox is None else f"{STATUS_PATH}?outbox={quote(outbox, safe='')}"
    return webhook.prepare(form, path=path)
