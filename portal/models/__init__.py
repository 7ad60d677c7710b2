"""The data model: users, rooms, messages and what the jobs record."""

from portal.models.audit import AuditEvent
from portal.models.inbound import HeldReply, InboundEmail
from portal.models.message_history import Mention, MessageRevision
from portal.models.messages import Attachment, Message, ReadState
from portal.models.notifications import NotificationLog
from portal.models.push import PushSubscription
from portal.models.rooms import Participant, Room
from portal.models.settings import Setting
from portal.models.users import Invitation, LoginSession, User

__all__ = [
    "AuditEvent",
    "Attachment",
    "HeldReply",
    "InboundEmail",
    "Invitation",
    "LoginSession",
    "Mention",
    "Message",
    "MessageRevision",
    "NotificationLog",
    "Participant",
    "PushSubscription",
    "ReadState",
    "Room",
    "Setting",
    "User",
]
