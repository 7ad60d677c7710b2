"""Signals sent after a change is committed; live delivery and email subscribe to them.

Receivers must not raise into the sender: a failed publish or enqueue is logged, the
committed change stands.
"""

from blinker import Namespace
from flask import current_app

signals = Namespace()

#: sender: the app; kwargs: message (committed Message)
message_posted = signals.signal("message-posted")
#: sender: the app; kwargs: room, added (user ids), removed (user ids)
participants_changed = signals.signal("participants-changed")
#: sender: the app; kwargs: room, user_id, last_read_message_id
room_read = signals.signal("room-read")
#: sender: the app; kwargs: user (whose active flag or all-rooms access changed)
user_access_changed = signals.signal("user-access-changed")
#: sender: the app; kwargs: room (renamed, archived or unarchived)
room_changed = signals.signal("room-changed")
#: sender: the app; kwargs: message (edited or deleted, committed)
message_changed = signals.signal("message-changed")
#: sender: the app; kwargs: user_id, only (a session key, or None), keep (a session key, or
#: None): that user's login session `only` ended, or all of them but `keep`
sessions_revoked = signals.signal("sessions-revoked")
#: sender: the app; kwargs: names (the admin-editable settings that changed, committed)
settings_changed = signals.signal("settings-changed")


def send(signal, **kwargs):
    """Send `signal` from the current app: the one way the verbs announce a committed change."""
    signal.send(current_app._get_current_object(), **kwargs)
