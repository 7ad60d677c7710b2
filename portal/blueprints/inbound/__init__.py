from flask import Blueprint

bp = Blueprint("inbound", __name__)

from portal.blueprints.inbound import views  # noqa: E402, F401
