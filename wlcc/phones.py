"""Phone numbers: every spelling of one Indonesian number becomes the same E.164 string."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "ID"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """``0812-3456-7890``, ``+62 812 3456 7890``, ``6281234567890`` -> ``+6281234567890``.

    None when the text is not a possible phone number.
    """
    text = raw.strip().removeprefix("whatsapp:").strip()
    if not text or len(text) > 32:
        return None
    digits = "".join(c for c in text if c.isdigit())
    # "62812..." without the plus is how many people (and WhatsApp's WaId) write it.
    if not text.startswith("+") and digits.startswith("62") and len(digits) >= 10:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
