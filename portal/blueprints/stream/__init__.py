from flask import Blueprint

bp = Blueprint("stream", __name__)

from portal.blueprints.stream import views  # noqa: E402, F401
