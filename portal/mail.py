"""Sending email: SMTP when `MAIL_SERVER` is set, else .eml files in the instance folder."""

import logging
import os
import smtplib
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

import css_inline
from flask import current_app, render_template

from portal.config import default_sender, sender_domain
from portal.infra import settings

log = logging.getLogger(__name__)

# Fold only past RFC 5322's 998-character limit: the default (78) turns a long header
# without spaces, such as List-Unsubscribe's <https://…>, into RFC 2047 encoded words
# that mail providers cannot use.
POLICY = policy.default.clone(max_line_length=998)


def build_email(to, subject, template, headers=None, message_id=None, **context):
    """An EmailMessage with a plain-text and an HTML part from `email/<template>.txt|.html`."""
    config = current_app.config
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = sender()
    message["To"] = formataddr((context.get("recipient_name", ""), to))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain(config))
    for name, value in (headers or {}).items():
        message[name] = value
    context.setdefault("base_url", config["PORTAL_BASE_URL"])
    context.setdefault("subject", subject)
    message.set_content(render_template(f"email/{template}.txt", **context))
    html = css_inline.inline(render_template(f"email/{template}.html", **context))
    message.add_alternative(html, subtype="html")
    return message


def sender():
    """MAIL_DEFAULT_SENDER (else the default sender); a display name that is the
    environment's firm name follows the firm name set in Settings → Client portal."""
    name, address = parseaddr(default_sender(current_app.config))
    if name and name == current_app.config["PORTAL_NAME"]:
        name = settings.value("PORTAL_NAME")
    return formataddr((name, address)) if name else address


def send_email(to, subject, template, headers=None, message_id=None, **context):
    """Render and deliver one email; raises on delivery failure so jobs can retry."""
    message = build_email(to, subject, template, headers=headers, message_id=message_id, **context)
    deliver(message)
    return message


def deliver(message):
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        _write_eml(message, config["MAIL_OUTBOX_DIR"])
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    log.info("mail: sent %r to %s", message["Subject"], message["To"])


def _write_eml(message, outbox):
    os.makedirs(outbox, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = os.path.join(outbox, f"{stamp}-{uuid.uuid4().hex[:8]}.eml")
    with open(path, "wb") as f:
        f.write(bytes(message))
    log.info("mail: no MAIL_SERVER; wrote %r to %s as %s", message["Subject"], message["To"], path)
