from flask import Blueprint

bp = Blueprint("workspace", __name__)

from portal.blueprints.workspace import export, views  # noqa: E402, F401
