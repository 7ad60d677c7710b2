"""What a reply email says: its new text (quotes and signatures cut), its files, auto-replies."""

import io
import mimetypes
import re
from email.utils import getaddresses

import html2text
from mailparser_reply import EmailReplyParser
from werkzeug.datastructures import FileStorage

# Languages whose "On … wrote:" lines and signatures mail-parser-reply recognises.
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs"]
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


def reply_text(email):
    """The new text of the reply: HTML converted, quoted history and signature removed."""
    part = email.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _content(part)
    if part.get_content_type() == "text/html":
        text = _html_to_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    replies = EmailReplyParser(languages=LANGUAGES).read(text).replies
    if not replies:
        return text.strip()
    return re.sub(r"\n{3,}", "\n\n", replies[0].body or "").strip()


def _content(part):
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _html_to_text(html):
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
