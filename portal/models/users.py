from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.infra.offload import offload
from portal.models.base import UTCDateTime, utcnow

# Compared against when a user has no password yet (invited): costs a real hash, never matches.
_UNUSABLE_HASH = generate_password_hash("no password set")

NAME_MAX = 120
INTERNAL = "internal"
CLIENT = "client"
KINDS = (INTERNAL, CLIENT)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # Stored lower-cased: the unique index makes emails unique case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    access_all_rooms: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    # Internal users: "daily" or "weekly" recap emails instead of the unread reminders.
    recap: Mapped[str | None] = mapped_column(String(8))
    # An IANA zone name ("Europe/Paris") for times in emails and pages; None means UTC.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @validates("email")
    def _normalize_email(self, _key, value):
        return normalize_email(value)

    @property
    def is_internal(self):
        return self.kind == INTERNAL

    @property
    def is_client(self):
        return self.kind == CLIENT

    @hybrid_property
    def may_log_in(self):
        """Active and activated: deactivated users and unactivated portal accounts can't log
        in. The one spelling of the rule, in Python and in SQL (every query uses it)."""
        return self.active and self.activated_at is not None

    @may_log_in.inplace.expression
    @classmethod
    def _may_log_in_expression(cls):
        return cls.active.is_(True) & cls.activated_at.is_not(None)

    @property
    def is_active(self):
        """Flask-Login's check."""
        return self.may_log_in

    @property
    def status(self):
        if not self.active:
            return "deactivated"
        return "active" if self.activated_at else "invited"

    def set_password(self, password):
        """Hash in the bounded password pool: scrypt must never run on the event loop."""
        self.password_hash = offload(generate_password_hash, password, pool="passwords")

    def check_password(self, password):
        """Always one hash, so a user without a password answers as slowly as everyone else."""
        stored = self.password_hash or _UNUSABLE_HASH
        matches = offload(check_password_hash, stored, password, pool="passwords")
        return bool(self.password_hash) and matches

    def __repr__(self):
        return f"<User {self.id} {self.kind} {self.email}>"


def normalize_email(value):
    return (value or "").strip().lower()


class LoginSession(db.Model):
    """A server-side record of one login, so logout and deactivation really end it."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped at most once a minute by requests; the idle timeout counts from here.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """A single-use link: an invitation (`purpose="invite"`) or a password reset."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="invite")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_count: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[User] = relationship()


def active_admin_count(excluding=None):
    """Admins who can log in now: active and activated (an invited admin doesn't count)."""
    query = db.select(func.count(User.id)).where(User.is_admin.is_(True), User.may_log_in)
    if excluding is not None:
        query = query.where(User.id != excluding)
    return db.session.scalar(query)
