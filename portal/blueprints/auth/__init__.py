from flask import Blueprint

bp = Blueprint("auth", __name__)

from portal.blueprints.auth import invites, passwords, resend, views  # noqa: E402, F401
