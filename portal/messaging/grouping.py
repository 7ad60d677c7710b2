"""How the chat pane shows messages: threads, day separators, avatars and file kinds.

The server marks a page's messages against their previous sibling (so the pane reads
well without JavaScript); static/js/chat.js marks the ones that arrive live the same way.
"""

from datetime import UTC, timedelta

from portal.models.base import utcnow

THREAD_WINDOW = timedelta(minutes=5)
AVATAR_COLOURS = 8


def group_classes(message, previous=None, first=False, zone=UTC):
    """' first-of-day' or ' threaded' for a message after `previous`; a lone fragment: ''."""
    if not previous:
        return " first-of-day" if first else ""
    return _after(
        message, previous, _day(message.created_at, zone), _day(previous.created_at, zone)
    )


def page_group_classes(messages, zone=UTC):
    """`group_classes` of each of a page's messages (in order), each day computed once."""
    days = [_day(m.created_at, zone) for m in messages]
    classes = [" first-of-day"] if messages else []
    for n in range(1, len(messages)):
        classes.append(_after(messages[n], messages[n - 1], days[n], days[n - 1]))
    return classes


def _after(message, previous, day, previous_day):
    if day != previous_day:
        return " first-of-day"
    if (
        message.author_id is not None
        and message.author_id == previous.author_id
        and message.created_at - previous.created_at <= THREAD_WINDOW
    ):
        return " threaded"
    return ""


def initials(name):
    """Two capital letters for an avatar: 'Cleo Client' → 'CC', 'Cher' → 'CH'."""
    words = [w for w in (name or "").split() if w[:1].isalnum()]
    if not words:
        return "?"
    if len(words) > 1:
        return (words[0][0] + words[-1][0]).upper()
    return words[0][:2].upper()


def avatar_colour(author_id):
    """One of a few colour classes, stable per author."""
    return f"avatar-{(author_id or 0) % AVATAR_COLOURS}"


def day_label(value, today=None, zone=UTC):
    """'Today', 'Yesterday', a weekday this week, else the date, as days fall in `zone`."""
    if value is None:
        return ""
    day = _day(value, zone)
    today = today or _day(utcnow(), zone)
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if today - day < timedelta(days=7):
        return day.strftime("%A")
    return f"{day.day} {day.strftime('%B %Y')}"


def file_kind(filename, content_type=""):
    """A short type label for a file tile: its extension ('PDF'), else its media type."""
    stem, dot, extension = (filename or "").rpartition(".")
    if dot and stem and 0 < len(extension) <= 5 and extension.isalnum():
        return extension.upper()
    return (content_type or "file").split(";")[0].split("/")[-1][:12].upper() or "FILE"


def _day(value, zone=UTC):
    return value.astimezone(zone).date()
