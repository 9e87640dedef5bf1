"""Checks on short text (names, titles, versions, slugs, purposes) shared by the API and forms.

Bidi control characters (U+202A–U+202E, U+2066–U+2069) make a name display reversed or mixed
up wherever it is shown ("Payments‮ 4.3" reads differently on a page, in a feed, in an email),
so short fields refuse them. Long free text (descriptions, comments, notes) keeps them: people
may write right-to-left prose there, and it is never shown as a label.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Fields longer than this are free text, not names (model CharFields here are 300 at most).
SHORT_FIELD_MAX_LENGTH = 300


def is_short(max_length: int | None, multiline: bool = False) -> bool:
    return max_length is not None and max_length <= SHORT_FIELD_MAX_LENGTH and not multiline


def bidi_control_message(label: str, value: str) -> str | None:
    """The refusal for ``value`` in the field ``label``, or None when it has no bidi control."""
    found = BIDI_CONTROLS.search(value)
    if found is None:
        return None
    return (
        f"{label} contains a control character that reverses text direction "
        f"(U+{ord(found.group()):04X}); remove it."
    )


class RefusesBidiControls:
    """A form field validator: ``field.validators.append(RefusesBidiControls(field.label))``."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, value) -> None:
        message = bidi_control_message(self.label, value) if isinstance(value, str) else None
        if message:
            raise ValidationError(message, code="bidi_control")

    def __eq__(self, other) -> bool:
        return isinstance(other, RefusesBidiControls) and other.label == self.label
