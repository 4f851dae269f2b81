"""Fuzz the webhooks at length: tens of thousands of real-shaped Telegram updates (right secret),
signed Twilio forms and status callbacks with fuzzed values (tests/fakes/fuzz.py), posted to the
real app in-process against the fake Telegram and Twilio servers of the tests, on SQLite in a
temporary directory or, with ``--database-url``, in a scratch schema of that PostgreSQL server.

It prints, per webhook, how many examples ran and the status codes they got, and the first few
posts that got a 5xx (or made the app raise); it exits 1 if there was any, or if a normal
message is not answered afterwards. Run: ``.venv/bin/python -m bench.fuzz_webhooks --help``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, seed, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bench.scratch import scratch_database
from storage.migrate import upgrade
from tests.fakes import fuzz
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.telegram_updates import TelegramUpdates, TgUser
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SANDBOX_FROM, FakeTwilio
from tests.fakes.webhooks import Post, TelegramWebhook, WhatsAppWebhook, running_app, settle
from wlcc.settings import Settings, load_settings

SECRET = "wlcc-bench_fuzz-secret-2b7d41"  # a test value, not a real secret


def _settings(database_url: str, telegram: FakeTelegram, twilio: FakeTwilio) -> Settings:
    fields: dict[str, Any] = {
        "database_url": database_url,
        "telegram_bot_token": DEFAULT_TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": telegram.base_url,
        "twilio_account_sid": DEFAULT_ACCOUNT_SID,
        "twilio_auth_token": DEFAULT_AUTH_TOKEN,
        "twilio_whatsapp_from": SANDBOX_FROM,
        "twilio_api_base_url": twilio.base_url,
        "public_base_url": "https://bot.example.org",
        "wlcc_log_level": "CRITICAL",  # the 4xx are many and expected
        "wlcc_scheduler_enabled": False,
    }
    for name, info in Settings.model_fields.items():
        if name not in fields and not info.is_required():
            fields[name] = info.get_default(call_default_factory=True)
    return load_settings(_env_file=None, **fields)


class Run:
    def __init__(self, client: TestClient, keep: int) -> None:
        self.client = client
        self.keep = keep
        self.codes: dict[str, Counter[str]] = {}
        self.bad: list[str] = []

    def fuzz(self, name: str, strategy: st.SearchStrategy[Post], examples: int, at: int) -> None:
        codes = self.codes.setdefault(name, Counter())

        @seed(at)
        @settings(settings.get_profile("explore"), max_examples=examples)
        @given(strategy)
        def check(post: Post) -> None:
            try:
                response = self.client.post(post.path, content=post.content, headers=post.headers)
                settle(self.client)
                code = str(response.status_code)
                detail = response.text[:200]
            except Exception as exc:  # the app raised: TestClient re-raises what would be a 500
                code, detail = "raised", repr(exc)[:200]
            codes[code] += 1
            if (code == "raised" or code.startswith("5")) and len(self.bad) < self.keep:
                self.bad.append(f"{name} {code}: {post.path} {post.content[:300]!r} -> {detail}")

        started = time.monotonic()
        check()
        total = sum(codes.values())
        shown = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
        print(f"{name:<10} {total:>6} examples in {time.monotonic() - started:6.1f} s  {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=4000, help="per webhook (default 4000)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="hypothesis seed")
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--show", type=int, default=10, help="5xx posts to print (default 10)")
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="wlcc-fuzz-") as tmp,
        scratch_database(args.database_url, Path(tmp)) as url,
        FakeTelegram(DEFAULT_TOKEN) as telegram_api,
        FakeTwilio(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN) as twilio_api,
    ):
        upgrade(url)
        conf = _settings(url, telegram_api, twilio_api)
        print(f"seed {args.seed}; {args.examples} examples per webhook")
        with running_app(conf) as client:
            run = Run(client, args.show)
            updates = TelegramUpdates()
            telegram = TelegramWebhook(client, conf, updates)
            whatsapp = WhatsAppWebhook(client, conf)
            plan: list[tuple[str, Callable[[], st.SearchStrategy[Post]]]] = [
                ("telegram", lambda: fuzz.telegram_posts(telegram, updates)),
                ("whatsapp", lambda: fuzz.whatsapp_posts(whatsapp)),
                ("status", lambda: fuzz.status_posts(whatsapp)),
            ]
            for i, (name, strategy) in enumerate(plan):
                run.fuzz(name, strategy(), args.examples, args.seed + i)
            # Still answering? One normal message on each channel.
            someone = TgUser(7399999999, "Normal", None, None, "id")
            telegram.post(updates.text("halo", user=someone))
            whatsapp.say("Halo", phone="+6281299998888")
            answered = bool(telegram_api.sent(someone.id)) and bool(
                twilio_api.messages("whatsapp:+6281299998888")
            )
    total = sum(sum(c.values()) for c in run.codes.values())
    print(f"total      {total:>6} examples; a normal message answered after: {answered}")
    for line in run.bad:
        print("  " + line)
    return 0 if answered and not run.bad else 1


if __name__ == "__main__":
    sys.exit(main())
