"""The `mail-in` process: an aiosmtpd server that takes replies to `reply+…@REPLY_DOMAIN`.

Anything addressed elsewhere is refused at RCPT (550), so it is never an open relay; mail
larger than `INBOUND_MAX_BYTES` (MAX_UPLOAD_MB × 10) is refused with 552. It speaks
8BITMIME and SMTPUTF8 and takes lines up to `INBOUND_MAX_LINE_OCTETS` (Outlook writes
lines far past RFC 5321's 1,000): an ordinary reply must never bounce on its shape.
"""

import asyncio
import logging
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from portal.extensions import db
from portal.notify import inbound
from portal.notify.authentication import trusted_peer
from portal.notify.replies import (
    ExpiredReplyToken,
    ReplyTokenError,
    read_token,
    redacted,
    token_from_address,
)

log = logging.getLogger("portal.mail_in")
MAX_RECIPIENTS = 10


class ReplyHandler:
    """aiosmtpd handler: check each recipient, then hand the email to `inbound.receive`."""

    def __init__(self, app):
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        with self.app.app_context():
            token = token_from_address(address)
            if token is None:
                log.warning("mail-in: refused <%s>: not a reply address", address)
                return "550 5.1.1 No such mailbox: only reply addresses are accepted here"
            try:
                read_token(token)
            except ExpiredReplyToken:
                pass  # taken: its person is told by email that it was not posted
            except ReplyTokenError as exc:
                log.warning("mail-in: refused <%s>: %s", redacted(address), exc)
                return f"550 5.1.1 This reply address can't be used: {exc}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        peer = session.peer[0] if session.peer else None
        try:
            outcomes = await loop.run_in_executor(None, self._receive, envelope, peer)
        except Exception:
            log.exception("mail-in: could not handle the email from <%s>", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return smtp_status(outcomes)

    def _receive(self, envelope, peer):
        with self.app.app_context():
            try:
                raw = envelope.original_content or envelope.content
                config = self.app.config
                trusted = bool(config["INBOUND_TRUSTED_MTA"]) and trusted_peer(
                    peer, config["INBOUND_TRUSTED_MTA_IPS"]
                )
                return inbound.receive(raw, envelope.mail_from, envelope.rcpt_tos, trusted)
            finally:
                db.session.remove()


def smtp_status(outcomes):
    """One SMTP reply for the whole email: accepted unless every address was refused."""
    if all(o.status == inbound.REFUSED for o in outcomes):
        first = outcomes[0]
        return f"550 {first.permanent_code} Your reply was not posted: {first.reason}"
    return "250 OK"


class _Controller(Controller):
    """aiosmtpd's Controller with a longer line limit (a class attribute of its SMTP)."""

    def __init__(self, handler, line_length_limit, **kwargs):
        self.protocol = type("MailInSMTP", (SMTP,), {"line_length_limit": line_length_limit})
        super().__init__(handler, **kwargs)

    def factory(self):
        return self.protocol(self.handler, **self.SMTP_kwargs)


def controller(app, host=None, port=None):
    """An aiosmtpd Controller for the app (started by the caller)."""
    config = app.config
    return _Controller(
        ReplyHandler(app),
        # The limit counts the CRLF and the leading dot of a dot-stuffed line.
        line_length_limit=config["INBOUND_MAX_LINE_OCTETS"] + 3,
        hostname=host or config["INBOUND_SMTP_HOST"],
        port=port or config["INBOUND_SMTP_PORT"],
        data_size_limit=config["INBOUND_MAX_BYTES"],
        ident="Portal Messaging mail-in",
        enable_SMTPUTF8=True,
    )


def serve(app):
    """Run the mail-in server in the foreground until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = controller(app)
    server.start()
    log.info("mail-in: accepting replies on %s:%s", server.hostname, server.port)
    try:
        while not stop.wait(1):
            pass
    finally:
        server.stop()
