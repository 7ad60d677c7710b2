"""Message text to safe HTML: escaped, line breaks kept (by CSS), http(s) links clickable."""

import re

from markupsafe import Markup

from portal.messaging.mentions import mark_mentions
from portal.models.base import one_line

FORMER_USER = "Former user"

URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


def message_html(text, mentions=()):
    """Escape everything; only http(s) URLs become links (never javascript: or data:).

    `mentions` (Mention rows) wrap `@Name` outside links in a span for highlighting.
    """
    parts, position = [], 0
    for match in URL.finditer(text or ""):
        url = match.group(0)
        stripped = url.rstrip(TRAILING)
        # Keep a closing parenthesis that belongs to the URL, as in wiki links.
        while stripped.count("(") > stripped.count(")") and len(stripped) < len(url):
            stripped = url[: len(stripped) + 1]
        end = match.start() + len(stripped)
        parts.append(mark_mentions(text[position : match.start()], mentions))
        parts.append(
            Markup(
                '<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>'
            ).format(stripped)
        )
        position = end
    parts.append(mark_mentions((text or "")[position:], mentions))
    return Markup("").join(parts)


def author_name(message):
    """The author's name, or the one name for a deleted author."""
    return message.author.name if message.author else FORMER_USER


def excerpt(text, length=80):
    """One line of plain text, cut at a word boundary."""
    line = one_line(text)
    if len(line) <= length:
        return line
    return line[: length - 1].rsplit(" ", 1)[0] + "…"
