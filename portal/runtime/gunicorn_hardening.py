"""gunicorn, hardened: no version in the Server header, no secret tokens in access logs."""

import re

from gunicorn import glogging
from gunicorn.http import wsgi

SERVER_NAME = "Portal"
#: Emailed links carry their credential in the path: log the route, never the token.
TOKEN_PATHS = re.compile(r"(/(?:invite|password/reset|unsubscribe)/)[^/?#\s\"]+")
REDACTED = r"\1[redacted]"


def redact(text):
    """`text` (a request line, path or Referer) with every link token replaced."""
    return TOKEN_PATHS.sub(REDACTED, text) if isinstance(text, str) else text


class RedactingLogger(glogging.Logger):
    """The standard access log, with tokens redacted wherever the URL appears."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) for key, value in atoms.items()}


def harden():
    """Answer with a plain `Server: Portal` instead of gunicorn's name."""
    wsgi.SERVER = SERVER_NAME
    wsgi.SERVER_SOFTWARE = SERVER_NAME
