"""Text from users made safe to show: no zero-width or bidi-override characters in names."""

import re

# Zero-width characters, bidi marks, embeddings, overrides and isolates, word joiners,
# invisible operators, the byte-order mark and the Mongolian vowel separator.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
# Bidi embeddings, overrides and isolates: stripped from message bodies (zero-width joiners
# and marks stay there, emoji and right-to-left text need them).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_invisible(text):
    """`text` without invisible or direction-changing characters."""
    return INVISIBLE.sub("", text or "")


def clean_name(text):
    """A one-line display name or title: invisible characters dropped, spaces collapsed."""
    return " ".join(strip_invisible(text).split())


def is_blank(text):
    """True when `text` shows nothing: only spaces and invisible characters."""
    return not strip_invisible(text).strip()


def neutralize_bidi(text):
    """Message text without bidi overrides, so no line can be shown reversed or reordered."""
    return BIDI_CONTROLS.sub("", text or "")
