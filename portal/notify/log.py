"""What the jobs send: decided under a unique key, then sent, then marked sent.

A row is inserted (status pending) in the same transaction that advances the reader's
watermark, so a retried or duplicated job finds the key taken and sends nothing. The
email goes out after that commit; a crash before it is marked sent leaves a pending
row that the periodic sweep re-sends. A Redis lease stops two processes sending the
same row at once.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.infra.queues import get_redis
from portal.mail import send_email
from portal.models import NotificationLog
from portal.models.base import utcnow
from portal.notify.emails import build_email_for

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
SWEEP_BATCH = 500

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """This attempt failed; the row stays pending (or is failed) and the error is stored."""


class _Raced(Exception):
    pass


def record(key, user_id, kind, room_id, first_id, last_id, watermarks, now=None, ranges=None):
    """Insert the pending row and apply `watermarks` together; None when another run did.

    `ranges` ({"<room id>": [first, last]}) says which messages of which rooms it covers.
    """
    row = NotificationLog(
        key=key,
        user_id=user_id,
        kind=kind,
        room_id=room_id,
        first_message_id=first_id,
        last_message_id=last_id,
        ranges=ranges,
        status=PENDING,
        attempts=0,
        created_at=now or utcnow(),
    )
    db.session.add(row)
    try:
        db.session.flush()
        for statement in watermarks:
            if db.session.execute(statement).rowcount != 1:
                raise _Raced
        db.session.commit()
    except (IntegrityError, _Raced):
        db.session.rollback()
        log.info("notify: %s already recorded by another run", key)
        return None
    return row


def deliver(row):
    """Send the email `row` stands for unless it is sent, leased or no longer wanted."""
    lease = f"portal:notify-lease:{row.id}"
    ttl = current_app.config["NOTIFY_RETRY_AFTER_SECONDS"]
    if not get_redis().set(lease, "1", nx=True, ex=max(ttl, 1)):
        return False
    try:
        return _deliver(row)
    finally:
        get_redis().delete(lease)


def _deliver(row):
    db.session.refresh(row)
    if row.status != PENDING:
        return False
    max_attempts = current_app.config["NOTIFY_MAX_ATTEMPTS"]
    if row.attempts >= max_attempts:
        return _give_up(row, row.error or "no attempt finished")
    email = build_email_for(row)
    if email is None:
        # Read, muted, opted out, removed or deactivated since: nothing to say any more.
        row.status = SKIPPED
        db.session.commit()
        return False
    row.attempts += 1
    db.session.commit()
    try:
        send_email(**email)
    except Exception as error:
        row.error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= max_attempts:
            _give_up(row, row.error)
        else:
            db.session.commit()
            log.warning("notify: %s attempt %d failed: %s", row.key, row.attempts, row.error)
        raise DeliveryError(f"{row.key}: {row.error}") from error
    row.status, row.sent_at, row.error = SENT, utcnow(), None
    db.session.commit()
    return True


def _give_up(row, error):
    row.status, row.error = FAILED, error
    db.session.commit()
    log.error("notify: giving up on %s after %d attempts: %s", row.key, row.attempts, error)
    return False


def deliver_pending(user_id, kind, room_id=None):
    """Retry the user's pending rows of `kind` (for a room); raises DeliveryError on failure."""
    query = select(NotificationLog).where(
        NotificationLog.user_id == user_id,
        NotificationLog.kind == kind,
        NotificationLog.status == PENDING,
    )
    if room_id is not None:
        query = query.where(NotificationLog.room_id == room_id)
    for row in db.session.scalars(query.order_by(NotificationLog.id)).all():
        deliver(row)


def retry_stale(now=None):
    """Re-send pending rows older than NOTIFY_RETRY_AFTER_SECONDS; returns how many were sent."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["NOTIFY_RETRY_AFTER_SECONDS"])
    rows = db.session.scalars(
        select(NotificationLog)
        .where(NotificationLog.status == PENDING, NotificationLog.created_at <= cutoff)
        .order_by(NotificationLog.id)
        .limit(SWEEP_BATCH)
    ).all()
    sent = 0
    for row in rows:
        try:
            sent += deliver(row)
        except DeliveryError:
            continue
    return sent
