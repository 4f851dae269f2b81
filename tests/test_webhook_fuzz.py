"""Property: whatever a platform (or someone holding its secret) posts, while the database is up
the webhooks answer 2xx or 4xx, never 5xx, and the app still answers a normal message after.

Real-shaped Telegram updates (with the right secret) and Twilio forms (signed with the test auth
token) with fuzzed values, types and unicode: see tests/fakes/fuzz.py. A few hundred examples
here, derandomized (the "ci" profile; WLCC_HYPOTHESIS_PROFILE=explore for fresh ones);
``python -m bench.fuzz_webhooks`` runs tens of thousands.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import given, settings

from tests.fakes import fuzz
from tests.fakes.telegram_updates import SITI
from tests.fakes.webhooks import Post, settle

PROFILE = settings.get_profile(os.environ.get("WLCC_HYPOTHESIS_PROFILE", "ci"))
EXAMPLES = 80  # per webhook and database: about 500 in all with PostgreSQL


def _send(client, post: Post, seen: Counter[int]) -> None:
    response = client.post(post.path, content=post.content, headers=post.headers)
    settle(client)
    seen[response.status_code] += 1
    assert response.status_code < 500, (post.path, post.content[:500], response.text)


def test_fuzzed_telegram_updates_never_get_a_5xx(client, telegram, fake_telegram):
    seen: Counter[int] = Counter()

    @settings(PROFILE, max_examples=EXAMPLES)
    @given(fuzz.telegram_posts(telegram, telegram.updates))
    def check(post: Post) -> None:
        _send(client, post, seen)

    check()

    assert sum(seen.values()) >= EXAMPLES // 2
    assert any(400 <= code < 500 for code in seen), seen  # some reached the checks
    assert telegram.say("halo").status_code == 200
    assert fake_telegram.sent(SITI.id), "no answer to a normal message after the fuzzing"


def test_fuzzed_whatsapp_forms_never_get_a_5xx(client, whatsapp, fake_twilio):
    seen: Counter[int] = Counter()

    @settings(PROFILE, max_examples=EXAMPLES)
    @given(fuzz.whatsapp_posts(whatsapp))
    def check(post: Post) -> None:
        _send(client, post, seen)

    check()

    assert sum(seen.values()) >= EXAMPLES // 2
    assert seen[200] and any(400 <= code < 500 for code in seen), seen
    assert whatsapp.say("Halo", phone="+6281299990000").status_code == 200
    assert fake_twilio.messages("whatsapp:+6281299990000"), "no answer after the fuzzing"


def test_fuzzed_status_callbacks_never_get_a_5xx(client, whatsapp, fake_twilio):
    seen: Counter[int] = Counter()

    @settings(PROFILE, max_examples=EXAMPLES)
    @given(fuzz.status_posts(whatsapp))
    def check(post: Post) -> None:
        _send(client, post, seen)

    check()

    assert seen[204] and seen[400], seen
    assert whatsapp.say("Halo", phone="+6281299990001").status_code == 200
    assert fake_twilio.messages("whatsapp:+6281299990001"), "no answer after the fuzzing"
