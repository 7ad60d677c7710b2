"""Hot-path statements built once per process, with the viewer's id as a bound parameter.

Building a SQLAlchemy statement (coercing every operand, then computing its cache key)
costs more than running it on a small page. The statements every page runs are built
once per *shape* of viewer and reused: SQLAlchemy memoizes a statement object's cache
key, so a reused statement skips both steps. The rooms a viewer may see still come from
`portal.access.visible_rooms` — built here for a stand-in viewer with the same flags
whose id is `bindparam("viewer_id")` — so the access rules keep their one home.
"""

from functools import cache

from sqlalchemy import bindparam


def viewer_shape(user):
    """What, besides the id, decides which rooms `user` sees (a hashable key)."""
    allowed = bool(user is not None and user.is_authenticated and user.is_active)
    return (
        allowed,
        bool(allowed and user.is_internal),
        bool(allowed and user.is_internal and user.access_all_rooms),
    )


class StandIn:
    """A viewer of `shape` whose id is the statement parameter `viewer_id`."""

    is_authenticated = True

    def __init__(self, shape):
        self.is_active, self.is_internal, self.access_all_rooms = shape
        self.id = bindparam("viewer_id")


def prepared(build):
    """Decorate `build(stand_in, visible, *key)` → a statement cached per viewer shape and key.

    Call the result as `statement(user, *key)`; run it with `{"viewer_id": user.id}`.
    """

    @cache
    def cached(shape, *key):
        from portal.access import visible_rooms  # here: portal.access uses `prepared` too

        viewer = StandIn(shape)
        return build(viewer, visible_rooms(viewer), *key)

    def statement(user, *key):
        return cached(viewer_shape(user), *key)

    return statement
