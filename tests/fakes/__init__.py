"""Offline stand-ins for the platforms: real HTTP servers on 127.0.0.1 that the real SDKs call.

``FakeTelegram`` speaks the Bot API (``/bot<token>/<method>``) and ``FakeTwilio`` the Twilio REST
API (``/2010-04-01/Accounts/<sid>/Messages.json``). Both record every request, answer realistic
results, and can be scripted to fail. Builders of realistic inbound payloads live in
``telegram_updates`` and ``twilio_forms``.
"""

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

__all__ = ["FakeTelegram", "FakeTwilio"]
