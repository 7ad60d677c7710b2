from flask import Blueprint

bp = Blueprint("settings", __name__)

from portal.blueprints.settings import activity, client_portal, person, views  # noqa: E402, F401
