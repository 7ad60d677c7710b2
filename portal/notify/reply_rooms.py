"""Which room a reply to a digest (an email about several rooms) answers, when that can be told.

The digest quotes each room under a heading (its title, "(N unread messages)") and ends each
part with the room's link (`…/rooms/<id>`). In the reply, as quoted by the mail program:
- the client wrote below one room's part (inline or bottom-posted): that room;
- the client wrote on top and kept only one room's part of the quote: that room;
- anything else (the whole digest quoted, the client wrote under two rooms or below the
  footer): nobody can tell,
  and the reply is not posted (the client is told, with a link to each room).
"""

import re

from portal.notify.quotes import MAX_TEXT, new_text
from portal.notify.reply_text import html_to_text

_QUOTE_MARKS = re.compile(r"^[\s>]*")
_FOOTER = re.compile(r"/preferences/notifications|/unsubscribe/")


def room_answered(email, rooms):
    """The one room of `rooms` the reply answers, or None when it cannot be told."""
    text = _whole_text(email)[:MAX_TEXT]
    if not text or not rooms:
        return None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    new = {line.strip() for line in new_text(text).split("\n") if line.strip()}
    below, mentioned, current = set(), set(), None
    for line in lines:
        room = _heading(line, rooms) or _link(line, rooms)
        if room is not None:
            mentioned.add(room.id)
            # A heading starts a room's part; its link ends it ("Open the conversation: …").
            current = room if _heading(line, rooms) else current
            continue
        if _FOOTER.search(line):
            current = None  # below the last room's part: the footer, not a room
            continue
        if _is_new(line, new):
            below.add(current.id if current is not None else None)
    if below and None not in below and len(below) == 1:
        return _by_id(rooms, below.pop())
    if below == {None} and len(mentioned) == 1:
        return _by_id(rooms, mentioned.pop())
    return None


def _whole_text(email):
    """The reply as text, quote included: the plain part, else the HTML converted."""
    part = email.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _unquoted(line):
    return _QUOTE_MARKS.sub("", line).lstrip("#").strip()


def _heading(line, rooms):
    """The room whose heading this line is: "Title (3 unread messages)" or just the title
    (the HTML digest's <h2>), quoted or not."""
    text = _unquoted(line)
    for room in rooms:
        title = " ".join(room.title.split())
        if text == title or re.match(rf"{re.escape(title)} \(\d+ unread messages?\)$", text):
            return room
    return None


def _link(line, rooms):
    """The room whose link is on this line (`/rooms/<id>` not followed by more digits)."""
    for room in rooms:
        if re.search(rf"/rooms/{room.id}(?!\d)", line):
            return room
    return None


def _is_new(line, new):
    return bool(line.strip()) and not line.lstrip().startswith(">") and line.strip() in new


def _by_id(rooms, room_id):
    return next(room for room in rooms if room.id == room_id)
