"""Keys and conditions for the Flask-Limiter limits on logins, resets and invitations.

The limits themselves are settings (`LOGIN_FAILURE_LIMIT`, ...), read per request so they
can be changed without restarting; counters live in Redis (`RATELIMIT_STORAGE_URI`).
"""

import hashlib

from flask import g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.models.users import normalize_email


def ip_and_email():
    """The client address plus the (hashed) email typed in the form."""
    email = normalize_email(request.form.get("email"))
    digest = hashlib.sha256(email.encode()).hexdigest()[:16]
    return f"{get_remote_address()}:{digest}"


def user_or_ip():
    """The logged-in user, else the client address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def note_failed_login():
    g.login_failed = True


def login_failed(_response):
    """Deduct only failed attempts: a correct password never counts against anyone."""
    return g.get("login_failed", False)
