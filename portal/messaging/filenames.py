"""Client-supplied file names: made safe to show and to put in a download header."""

import posixpath
import re
import unicodedata
from urllib.parse import quote

from portal.models.base import one_line

NAME_MAX = 200
EXTENSION_MAX = 16
FALLBACK = "file"
# Control, format (bidi overrides, zero-width), separators and unassigned/private code points.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&\'()+,\-.;=@\[\]^_`{}~]")
# Browsers send these three characters of a file name percent-escaped (HTML's multipart rules).
_BROWSER_ESCAPES = re.compile(r"%(22|0D|0A)", re.IGNORECASE)


def from_browser(name):
    """The file name the user had: undo the escaping browsers apply in multipart bodies."""
    return _BROWSER_ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), name or "")


def clean_filename(name):
    """The display name: no path, no control or bidi characters, at most NAME_MAX characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = posixpath.basename(name)
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    name = one_line(name).strip(". ")
    if not name:
        return FALLBACK
    return _shorten(name, NAME_MAX)


def _shorten(name, limit):
    if len(name) <= limit:
        return name
    stem, ext = posixpath.splitext(name)
    if not stem or len(ext) > EXTENSION_MAX:
        ext = ""
    return stem[: limit - len(ext)].rstrip(". ") + ext


def content_disposition(disposition, filename):
    """`attachment`/`inline` with an ASCII `filename` and the exact RFC 6266 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = _ASCII_UNSAFE.sub("_", ascii_name).strip() or FALLBACK
    encoded = quote(filename, safe="")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
