from flask import Blueprint

bp = Blueprint("settings", __name__)

from portal.blueprints.settings import client_portal, views  # noqa: E402, F401
