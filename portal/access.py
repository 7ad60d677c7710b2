"""Who may do what: the one place the access rules (PRODUCT.md §2) live."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def internal_required(view):
    """Internal users only; clients get a 404 (they never learn the workspace exists)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_internal:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def client_required(view):
    """Clients only: staff use the workspace, not the client portal."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_client:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Admins only: other staff get 403, clients 404."""

    @wraps(view)
    @internal_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def home_endpoint(user):
    return "workspace.rooms" if user.is_internal else "client.rooms"
