from flask import Blueprint

bp = Blueprint("auth", __name__)

from portal.blueprints.auth import invites, login_links, passwords, resend, views  # noqa: E402, F401
