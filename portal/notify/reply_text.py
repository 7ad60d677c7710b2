"""What a reply email says: its new text (quotes and signatures cut), its files, auto-replies."""

import io
import mimetypes
import re
from email.utils import getaddresses

import html2text
from bs4 import BeautifulSoup
from werkzeug.datastructures import FileStorage

from portal.notify.quotes import new_text

_OUT_OF_OFFICE = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|vacation|away from)",
    re.IGNORECASE,
)
# html2text escapes Markdown characters; a chat message is plain text, so undo that.
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Vacation")


def auto_reply_reason(email, envelope_from=None):
    """Why this email is machine-sent (out-of-office, bounce, list), or None for a person's."""
    auto_submitted = (email.get("Auto-Submitted") or "no").strip().lower()
    if auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (email.get("Precedence") or email.get("X-Precedence") or "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for name in _AUTO_HEADERS:
        if email.get(name):
            return f"{name} header"
    if envelope_from == "":
        return "empty envelope sender (a bounce)"
    if email.get_content_type() == "multipart/report":
        return "delivery report"
    if _OUT_OF_OFFICE.match(str(email.get("Subject") or "")):
        return "out-of-office subject"
    return None


def sender_addresses(email, envelope_from=None):
    """Lower-cased addresses the email claims to come from: envelope sender and From."""
    found = {envelope_from.strip().strip("<>").lower()} if envelope_from else set()
    for header in ("From", "Return-Path"):
        values = [str(v) for v in email.get_all(header) or ()]
        found.update(address.lower() for _name, address in getaddresses(values) if address)
    return found


def reply_text(email, prefer=("plain", "html")):
    """The new text of the reply: HTML converted, quoted history removed, signature kept.

    The plain part is preferred: every mail program marks its quote there with `>` or an
    attribution line. An HTML-only reply first loses the elements mail programs wrap the
    quote in, then goes through the same line rules (bench/reply_corpus.py measures both).
    """
    part = email.get_body(preferencelist=prefer)
    if part is None:
        return ""
    text = _content(part)
    if part.get_content_type() == "text/html":
        text = html_to_text(without_quoted_html(text))
    return new_text(text)


# Elements that hold the quoted history, by the mail program that writes them: Gmail,
# Outlook (web and desktop), Thunderbird, Apple Mail/iOS, Yahoo, Zoho, AOL.
_QUOTE_SELECTORS = (
    "blockquote",
    ".gmail_quote",
    ".gmail_extra .gmail_quote",
    "#divRplyFwdMsg",
    ".moz-cite-prefix",
    "#OLK_SRC_BODY_SECTION",
    ".yahoo_quoted",
    ".zmail_extra",
    ".AOLReplyHeader",
)
# Outlook puts the quote after its marker, not inside it: the marker and what follows go.
_QUOTE_STARTS = ("#divRplyFwdMsg", "#appendonsend")


def without_quoted_html(html):
    """The HTML without the elements that mark quoted history."""
    soup = BeautifulSoup(html, "html.parser")
    for selector in _QUOTE_STARTS:
        for start in soup.select(selector):
            _drop_from(start)
    for selector in _QUOTE_SELECTORS:
        for element in soup.select(selector):
            element.decompose()
    return str(soup)


def _drop_from(start):
    """Remove `start`, what follows it in its parent, and an <hr> just before it."""
    previous = start.find_previous_sibling()
    if previous is not None and previous.name == "hr":
        previous.decompose()
    for sibling in list(start.find_next_siblings()):
        sibling.decompose()
    start.decompose()


def _content(part):
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def html_to_text(html):
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    text = _MARKDOWN_ESCAPE.sub(r"\1", converter.handle(html))
    return "\n".join(line.rstrip() for line in text.split("\n"))


def reply_files(email):
    """The email's attachments as uploads; inline images its HTML shows (logos) are left out."""
    body = email.get_body(preferencelist=("plain", "html"))
    html = email.get_body(preferencelist=("html",))
    html_text = _content(html) if html is not None else ""
    files = []
    for part in email.walk():
        if part.is_multipart() or part is body or part is html:
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition != "attachment" and not filename:
            continue
        content_id = (part.get("Content-ID") or "").strip().strip("<>")
        if content_id and f"cid:{content_id}" in html_text:
            continue
        data = part.get_payload(decode=True) or b""
        name = filename or "attachment" + (mimetypes.guess_extension(part.get_content_type()) or "")
        files.append(FileStorage(stream=io.BytesIO(data), filename=name))
    return files
