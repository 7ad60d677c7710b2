"""Routes both sides share, declared once for the workspace and the portal.

A view declared with `@room_route` takes the room (already loaded through `portal.access`:
404 when invisible), the side and the rule's other values; one declared with `@side_route`
takes the side and the rule's values. `add_routes(bp, guard, side)` puts every declared
route on a side's blueprint behind its guard, so /app and /portal have the same URL shapes
by construction. To add a shared route, declare one more view in its module.
"""

from functools import wraps

from portal.access import load_room

#: (rule, endpoint, methods, view taking (side, **values)) for every shared route.
ROUTES = []


def side_route(rule, methods=("GET",), endpoint=None):
    """Declare `view(side, **values)` for both sides (endpoint: the view's name)."""

    def declare(view):
        ROUTES.append((rule, endpoint or view.__name__, list(methods), view))
        return view

    return declare


def room_route(rule, methods=("GET",), endpoint=None):
    """Declare `view(room, side, **values)` for both sides; `room_id` loads the room."""

    def declare(view):
        @wraps(view)
        def load_then_view(side, room_id, **values):
            return view(load_room(room_id), side, **values)

        return side_route(rule, methods, endpoint)(load_then_view)

    return declare


def add_routes(bp, guard, side):
    """Register every shared route on `bp`, each behind `guard` (who may use that side)."""
    for rule, endpoint, methods, view in ROUTES:
        bp.add_url_rule(rule, endpoint, guard(_on_side(view, side)), methods=methods)


def _on_side(view, side):
    @wraps(view)
    def view_on_side(**values):
        return view(side, **values)

    return view_on_side
