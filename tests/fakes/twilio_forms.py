"""Builders of the form posts Twilio sends to a WhatsApp webhook, and their signatures.

The fields are the ones Twilio really posts for an inbound WhatsApp message (SmsMessageSid,
NumMedia, ProfileName, MessageType, SmsSid, WaId, SmsStatus, Body, To, NumSegments,
ReferralNumMedia, MessageSid, AccountSid, From, ApiVersion, plus MediaUrlN/MediaContentTypeN,
Latitude/Longitude/Address/Label or ButtonPayload/ButtonText when present), and for a delivery
status callback.
"""

from __future__ import annotations

from typing import Any

from twilio.request_validator import RequestValidator

from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, SANDBOX_FROM, new_sid

DEFAULT_PHONE = "+6281234567890"


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The ``X-Twilio-Signature`` Twilio computes for a POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def inbound(
    body: str = "Halo",
    *,
    phone: str = DEFAULT_PHONE,
    to: str = SANDBOX_FROM,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    profile_name: str = "Siti Aminah",
    sid: str | None = None,
    media: list[tuple[str, str]] | None = None,
    latitude: float | str | None = None,
    longitude: float | str | None = None,
    address: str | None = None,
    label: str | None = None,
    button_payload: str | None = None,
    button_text: str | None = None,
    **extra: Any,
) -> dict[str, str]:
    """An inbound WhatsApp message. ``media`` is a list of (content type, url) pairs; leave
    ``url`` empty to get a realistic Twilio media URL."""
    media = media or []
    sid = sid or new_sid("MM" if media else "SM")
    message_type = "text"
    if media:
        message_type = media[0][0].split("/")[0]
    elif latitude is not None:
        message_type = "location"
    elif button_payload is not None:
        message_type = "button"
    form: dict[str, str] = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ProfileName": profile_name,
        "MessageType": message_type,
        "SmsSid": sid,
        "WaId": phone.lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": f"whatsapp:{phone}",
        "ApiVersion": "2010-04-01",
    }
    for i, (content_type, url) in enumerate(media):
        form[f"MediaContentType{i}"] = content_type
        form[f"MediaUrl{i}"] = url or (
            f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media/"
            f"{new_sid('ME')}"
        )
    if latitude is not None:
        form["Latitude"] = str(latitude)
    if longitude is not None:
        form["Longitude"] = str(longitude)
    if address is not None:
        form["Address"] = address
    if label is not None:
        form["Label"] = label
    if button_payload is not None:
        form["ButtonPayload"] = button_payload
        form["ButtonText"] = button_text or button_payload
        form["OriginalRepliedMessageSender"] = to
        form["OriginalRepliedMessageSid"] = new_sid("SM")
    form.update({k: str(v) for k, v in extra.items()})
    return form


def status_callback(
    status: str = "delivered",
    *,
    sid: str | None = None,
    phone: str = DEFAULT_PHONE,
    sender: str = SANDBOX_FROM,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    error_code: str | None = None,
) -> dict[str, str]:
    """A delivery status callback for a message we sent."""
    sid = sid or new_sid("SM")
    form = {
        "ChannelPrefix": "whatsapp",
        "ApiVersion": "2010-04-01",
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "ChannelInstallSid": new_sid("XE"),
        "To": f"whatsapp:{phone}",
        "From": sender,
        "MessageSid": sid,
        "StructuredMessage": "false",
        "AccountSid": account_sid,
        "ChannelToAddress": phone[:-4] + "XXXX",
    }
    if error_code is not None:
        form["ErrorCode"] = error_code
        form["EventType"] = "UNDELIVERED"
    return form
