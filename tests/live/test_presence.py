"""Presence: one Redis set per web process, renewed at a fixed cost, healed when lost."""

import redis as redis_lib

from portal.live import presence
from portal.live.publish import get_live


def test_online_while_a_stream_is_held_and_offline_after_the_last(app, people):
    with app.app_context():
        live = get_live()
        user_id = people["client"].id
        first = presence.join(app, live, user_id)
        second = presence.join(app, live, user_id)
        assert presence.is_online(live, user_id)
        assert not presence.is_online(live, people["staff"].id)
        presence.leave(live, user_id, first)
        assert presence.is_online(live, user_id)
        presence.leave(live, user_id, second)
        assert not presence.is_online(live, user_id)


def test_the_renewal_restores_entries_redis_lost(app, people):
    with app.app_context():
        live = get_live()
        user_id = people["client"].id
        token = presence.join(app, live, user_id)
        try:
            redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()
            assert not presence.is_online(live, user_id)
            presence.refresh(app, live)
            assert presence.is_online(live, user_id)
        finally:
            presence.leave(live, user_id, token)


def test_an_expired_process_no_longer_counts(app, people):
    with app.app_context():
        live = get_live()
        user_id = people["client"].id
        token = presence.join(app, live, user_id)
        try:
            r = redis_lib.Redis.from_url(app.config["REDIS_URL"])
            r.zadd(f"{live.hub.prefix}online", {token: 1})  # its expiry long past
            assert not presence.is_online(live, user_id)
        finally:
            presence.leave(live, user_id, token)


def test_streams_joins_and_leaves_are_written_together(app, people):
    with app.app_context():
        live = get_live()
        client, staff = people["client"].id, people["staff"].id
        token = presence.join(app, live, client, at_once=False)
        presence.join(app, live, staff, at_once=False)
        presence.flush(app, live)  # what the presence thread does a moment later
        assert presence.is_online(live, client) and presence.is_online(live, staff)
        presence.leave(live, client, token, at_once=False)
        presence.flush(app, live)
        assert not presence.is_online(live, client) and presence.is_online(live, staff)
        presence.leave(live, staff, token)
        assert not presence.is_online(live, staff)
