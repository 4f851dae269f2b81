"""Text rendering shared by channels without buttons and by long messages."""

from __future__ import annotations

from wlcc.messages import Outbound

TELEGRAM_TEXT_LIMIT = 4096
WHATSAPP_TEXT_LIMIT = 1600  # Twilio's limit for one WhatsApp message body


def split_text(text: str, limit: int) -> list[str]:
    """Split under ``limit`` characters, preferring paragraph, then line, then word breaks."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > limit // 2:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def numbered_text(message: Outbound) -> str:
    """Choices as a numbered list under the text, for WhatsApp and the simulator; a question
    inside a dialog ends with "0. Batal"."""
    cancel = [f"0. {message.cancel}"] if message.cancel else []
    if not message.choices:
        return "\n".join([message.text, "", *cancel]) if cancel else message.text
    lines = [message.text, ""]
    lines += [f"{i}. {choice.label}" for i, choice in enumerate(message.choices, start=1)]
    lines += cancel
    if message.hint:
        lines += ["", message.hint]
    return "\n".join(lines)
