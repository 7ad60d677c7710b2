from flask import Blueprint

bp = Blueprint("preferences", __name__)

from portal.blueprints.preferences import views  # noqa: E402, F401
