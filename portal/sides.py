"""The two sides of the product: the staff workspace and the client portal."""

from typing import NamedTuple


class Side(NamedTuple):
    """One side of the product: its blueprint, URL prefix and page layout."""

    blueprint: str
    prefix: str
    layout: str


WORKSPACE = Side("workspace", "/app", "workspace/layout.html")
PORTAL = Side("client", "/portal", "client/layout.html")


def side_of(user):
    """Which side `user` works on: internal users the workspace, clients the portal."""
    return WORKSPACE if user.is_internal else PORTAL
