"""Helpers for the reply-by-email tests (no tests here): replies as mail programs write them."""

from email.message import EmailMessage
from email.utils import make_msgid

QUOTE = (
    "\n\nOn Thu, Nov 26, 2026 at 11:00 AM Portal Messaging <no-reply@portal.localhost> wrote:\n"
    "> Your tax return is ready to sign\n> Sam Staff\n"
)


def reply(to, sender="client@example.test", text="Signed, thanks!" + QUOTE, **headers):
    """A reply from `sender` to `to`; `headers` (underscores for dashes) are added or replace."""
    email = EmailMessage()
    email["From"] = f"Cleo Client <{sender}>"
    email["To"] = to
    email["Subject"] = headers.pop("Subject", "Re: New message from Sam Staff")
    email["Message-ID"] = make_msgid(domain="mail.example.test")
    for name, value in headers.items():
        email[name.replace("_", "-")] = value
    email.set_content(text)
    return email
