from flask import Blueprint

bp = Blueprint("client", __name__)

from portal.blueprints.client import views  # noqa: E402, F401
