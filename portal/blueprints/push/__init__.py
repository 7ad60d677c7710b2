from flask import Blueprint

bp = Blueprint("push", __name__)

from portal.blueprints.push import views  # noqa: E402, F401
