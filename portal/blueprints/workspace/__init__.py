from flask import Blueprint

bp = Blueprint("workspace", __name__)

from portal.blueprints.workspace import views  # noqa: E402, F401
