"""Web Push: subscriptions (CSRF, allowed endpoints), what a push says and to whom, and a
real push delivered to a local RFC 8030 service that decrypts it; refused, redirecting,
slow and gone endpoints."""

import secrets
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.live import presence
from portal.live.publish import get_live
from portal.messaging.messages import post_message
from portal.messaging.reading import mark_read
from portal.messaging.rooms import set_participants
from portal.models import LoginSession, PushSubscription, Room, User
from portal.notify import push, push_subscriptions
from portal.notify.push_subscriptions import endpoint_allowed
from tests.push_receiver import PushService, verify_vapid


@pytest.fixture
def service(app, monkeypatch):
    receiver = PushService()
    monkeypatch.setitem(app.config, "PUSH_ENDPOINT_HOSTS", (receiver.origin,))
    monkeypatch.setitem(app.config, "PUSH_TIMEOUT_SECONDS", 0.5)
    yield receiver
    receiver.close()


def logged_in(app, email):
    client = app.test_client()
    client.login(email)
    return client


def subscribe(app, client, subscription):
    token = client.csrf_token()
    return client.post("/push/subscriptions", json=subscription, headers={"X-CSRFToken": token})


def add(app, user_id, browser):
    """A subscription of `browser` made during a login of the user (still signed in)."""
    with app.app_context():
        login = LoginSession(token=secrets.token_hex(32), user_id=user_id)
        db.session.add(login)
        db.session.flush()
        db.session.add(
            PushSubscription(
                user_id=user_id,
                login_session_id=login.id,
                endpoint=browser.endpoint,
                p256dh=browser.to_json()["keys"]["p256dh"],
                auth=browser.to_json()["keys"]["auth"],
                device="Test browser",
            )
        )
        db.session.commit()


def post(app, room_id, author_id, body):
    with app.app_context():
        return post_message(db.session.get(Room, room_id), db.session.get(User, author_id), body).id


def send(app, message_id):
    with app.app_context():
        return push.send_pushes(message_id)


def subscriptions(app):
    with app.app_context():
        return db.session.scalars(select(PushSubscription.endpoint)).all()


# --- subscribing -------------------------------------------------------------------------


def test_subscribe_needs_csrf_and_login(app, people, service):
    browser = service.browser()
    anonymous = app.test_client()
    assert anonymous.post("/push/subscriptions", json=browser.to_json()).status_code in (
        302,
        400,
        401,
    )
    client = logged_in(app, "client@example.test")
    assert client.post("/push/subscriptions", json=browser.to_json()).status_code == 400
    assert subscriptions(app) == []
    response = subscribe(app, client, browser.to_json())
    assert response.status_code == 201
    assert subscriptions(app) == [browser.endpoint]


def test_a_subscription_outside_the_allowed_hosts_is_refused(app, people, service):
    client = logged_in(app, "client@example.test")
    for endpoint in (
        "https://evil.example.com/push/1",
        "http://127.0.0.1:1/push",  # plain http to a host not listed
        "https://127.0.0.1/push",
        "file:///etc/passwd",
        "https://user:pw@fcm.googleapis.com/x",
    ):
        subscription = {**service.browser().to_json(), "endpoint": endpoint}
        response = subscribe(app, client, subscription)
        assert response.status_code == 400, endpoint
        assert "push service" in response.get_json()["error"]
    assert subscriptions(app) == []


def test_bad_keys_are_refused_in_words(app, people, service):
    client = logged_in(app, "client@example.test")
    good = service.browser().to_json()
    for keys in (
        {},
        {"p256dh": "abc", "auth": good["keys"]["auth"]},
        {**good["keys"], "auth": "x" * 300},
    ):
        response = subscribe(app, client, {**good, "keys": keys})
        assert response.status_code == 400
        assert "key" in response.get_json()["error"]
    assert subscribe(app, client, ["not", "an", "object"]).status_code == 400


def test_default_hosts_are_the_browsers_push_services(app):
    known = tuple(
        h.strip() for h in __import__("portal.config").config.KNOWN_PUSH_SERVICES.split(",")
    )
    with app.app_context():
        assert endpoint_allowed("https://fcm.googleapis.com/fcm/send/abc", known)
        assert endpoint_allowed("https://wns2-par02p.notify.windows.com/w/?token=x", known)
        assert endpoint_allowed("https://updates.push.services.mozilla.com/wpush/v2/x", known)
        assert not endpoint_allowed("https://notify.windows.com.evil.test/", known)
        assert not endpoint_allowed("http://fcm.googleapis.com/fcm/send/abc", known)
        assert not endpoint_allowed("https://fcm.googleapis.com:8443/x", known)


def test_delete_by_endpoint_and_from_the_preferences_list(app, people, service):
    client = logged_in(app, "client@example.test")
    first, second = service.browser("push/a"), service.browser("push/b")
    subscribe(app, client, first.to_json())
    subscribe(app, client, second.to_json())
    page = client.get("/preferences/notifications").get_data(as_text=True)
    assert "Devices with push notifications" in page and page.count('name="subscription_id"') == 2
    token = client.csrf_token()
    response = client.post(
        "/push/subscriptions/delete",
        json={"endpoint": first.endpoint},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    with app.app_context():
        second_id = db.session.scalar(select(PushSubscription.id))
    # Someone else's subscription id: nothing removed.
    outsider = logged_in(app, "outsider@example.test")
    outsider.form_post("/push/subscriptions/delete", {"subscription_id": second_id})
    assert subscriptions(app) == [second.endpoint]
    response = client.form_post("/push/subscriptions/delete", {"subscription_id": second_id})
    assert response.status_code == 302
    assert subscriptions(app) == []


def test_the_vapid_key_is_served_and_stable(app, people):
    client = logged_in(app, "client@example.test")
    first = client.get("/push/key").get_json()["key"]
    assert first == client.get("/push/key").get_json()["key"] and len(first) == 87


# --- what a push says, to whom ------------------------------------------------------------


def test_a_real_push_reaches_the_away_reader_encrypted_and_signed(app, people, room, service):
    browser = service.browser()
    add(app, people["client"].id, browser)
    message_id = post(app, room, people["staff"].id, "Your tax return is ready to sign")
    assert send(app, message_id) == 1
    ((headers, body),) = service.pushes("/push/device")
    assert b"tax return" not in body  # encrypted on the wire
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    claims, key = verify_vapid(headers["authorization"], service.origin)
    assert claims["sub"].startswith("mailto:")
    with app.app_context():
        assert key == push.application_server_key()
    assert browser.decrypt(body) == {
        "title": "Tax return 2025",
        "body": "Staff: Your tax return is ready to sign",
        "tag": f"room-{room}",
        "url": f"/portal/rooms/{room}",
    }
    # Once per person and message, whatever the retries.
    assert send(app, message_id) == 0
    assert len(service.pushes("/push/device")) == 1


def test_no_push_when_read_muted_online_removed_or_own(app, people, room, service):
    add(app, people["client"].id, service.browser("push/client"))
    add(app, people["staff"].id, service.browser("push/staff"))
    read = post(app, room, people["staff"].id, "Read at once")
    with app.app_context():
        mark_read(db.session.get(User, people["client"].id), db.session.get(Room, room))
    assert send(app, read) == 0  # the author (staff) gets none either

    with app.app_context():
        from portal.notify.preferences import update_notification_settings

        update_notification_settings(db.session.get(User, people["client"].id), True, [room])
    assert send(app, post(app, room, people["staff"].id, "Muted")) == 0

    with app.app_context():
        update_notification_settings(db.session.get(User, people["client"].id), True, [])
        live = get_live()
        presence.join(app, live, people["client"].id)
    try:
        assert send(app, post(app, room, people["staff"].id, "While online")) == 0
    finally:
        with app.app_context():
            presence.leave(get_live(), people["client"].id, presence._state["token"])

    later = post(app, room, people["staff"].id, "After removal")
    with app.app_context():
        set_participants(db.session.get(Room, room), db.session.get(User, people["staff"].id), [])
    assert send(app, later) == 0
    assert service.received == []


def test_a_mentions_only_room_pushes_only_mentions(app, people, room, service):
    from portal.notify.preferences import update_notification_settings

    add(app, people["staff"].id, service.browser("push/staff"))
    post(app, room, people["staff"].id, "Staff wrote here")  # clients may name its authors
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        update_notification_settings(staff, True, [], mentions_only=[room])
    assert send(app, post(app, room, people["client"].id, "Nothing for staff")) == 0
    assert send(app, post(app, room, people["client"].id, "@Staff please look")) == 1


def test_no_push_names_a_room_the_viewer_may_no_longer_see(app, people, room, service):
    add(app, people["outsider"].id, service.browser("push/outsider"))
    assert send(app, post(app, room, people["staff"].id, "Private")) == 0
    with app.app_context():
        outsider = db.session.get(User, people["outsider"].id)
        assert push.notification_for(outsider, db.session.get(push.Message, 1)) is None


# --- endpoints that must not be followed ---------------------------------------------------


def test_gone_subscriptions_are_deleted(app, people, room, service):
    add(app, people["client"].id, service.browser("gone/a"))
    add(app, people["client"].id, service.browser("missing/b"))
    add(app, people["client"].id, service.browser("push/c"))
    assert send(app, post(app, room, people["staff"].id, "Hello")) == 1
    assert subscriptions(app) == [f"{service.origin}/push/c"]


def test_a_redirect_is_not_followed(app, people, room, service):
    add(app, people["client"].id, service.browser("redirect/a"))
    assert send(app, post(app, room, people["staff"].id, "Hello")) == 0
    assert [path for path, _, _ in service.received] == ["/redirect/a"]
    assert subscriptions(app) == [f"{service.origin}/redirect/a"]


def test_a_slow_service_times_out_quickly(app, people, room, service):
    add(app, people["client"].id, service.browser("slow/a"))
    started = time.monotonic()
    assert send(app, post(app, room, people["staff"].id, "Hello")) == 0
    assert time.monotonic() - started < 2.5  # PUSH_TIMEOUT_SECONDS is 0.5 here, not 3 s


def test_an_endpoint_no_longer_allowed_is_not_contacted(app, people, room, service, monkeypatch):
    add(app, people["client"].id, service.browser("push/a"))
    monkeypatch.setitem(app.config, "PUSH_ENDPOINT_HOSTS", ("fcm.googleapis.com",))
    assert send(app, post(app, room, people["staff"].id, "Hello")) == 0
    assert service.received == []


def test_posting_schedules_the_job_only_when_someone_subscribed(app, people, room, service):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from portal.infra.queues import get_redis

    def scheduled_pushes():
        with app.app_context():
            queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
            jobs = [queue.fetch_job(i) for i in ScheduledJobRegistry(queue=queue).get_job_ids()]
            return [job.args for job in jobs if job.func_name == push.JOB]

    post(app, room, people["staff"].id, "Nobody subscribed")
    assert scheduled_pushes() == []
    add(app, people["client"].id, service.browser())  # as another process would
    post(app, room, people["staff"].id, "This process still believes nobody did")
    assert scheduled_pushes() == []
    push_subscriptions.forget_anyone()  # what ANYONE_SUBSCRIBED_SECONDS later brings
    message_id = post(app, room, people["staff"].id, "Now someone did")
    assert scheduled_pushes() == [(message_id,)]


def test_whether_anyone_subscribed_is_asked_again_after_a_while(app, people, service):
    now = [1000.0]
    with app.app_context():
        assert push_subscriptions.anyone_subscribed(clock=lambda: now[0]) is False
    add(app, people["client"].id, service.browser())
    with app.app_context():
        assert push_subscriptions.anyone_subscribed(clock=lambda: now[0]) is False
        now[0] += push_subscriptions.ANYONE_SUBSCRIBED_SECONDS
        assert push_subscriptions.anyone_subscribed(clock=lambda: now[0]) is True


def test_a_subscription_made_here_counts_at_once(app, people, service):
    client = logged_in(app, "client@example.test")
    with app.app_context():
        assert push_subscriptions.anyone_subscribed() is False
    assert subscribe(app, client, service.browser().to_json()).status_code < 300
    with app.app_context():
        assert push_subscriptions.anyone_subscribed() is True


def test_endpoint_host_rules(app):
    hosts = ("push.example", "*.notify.example", "http://127.0.0.1:9999")
    with app.app_context():
        assert endpoint_allowed("https://push.example/x", hosts)
        assert endpoint_allowed("https://a.notify.example/x", hosts)
        assert endpoint_allowed("http://127.0.0.1:9999/x", hosts)
        assert not endpoint_allowed("http://127.0.0.1:9998/x", hosts)
        assert not endpoint_allowed("https://push.example.evil/x", hosts)
        assert not endpoint_allowed("https://evilnotify.example/x", hosts)
        assert not endpoint_allowed(urlsplit("https://[::1]/x").geturl(), hosts)


# --- what a browser notification says (GET /push/notifications/<id>) ------------------------


def test_notification_content_follows_the_access_rules(app, people, room):
    message_id = post(app, room, people["staff"].id, "Line one\nline two")
    client = logged_in(app, "client@example.test")
    response = client.get(f"/push/notifications/{message_id}")
    assert response.status_code == 200
    assert response.get_json() == {
        "title": "Tax return 2025",
        "body": "Staff: Line one line two",
        "tag": f"room-{room}",
        "url": f"/portal/rooms/{room}",
    }
    assert response.headers["Cache-Control"] == "private, no-store"
    staff_all = logged_in(app, "staff_all@example.test")
    assert staff_all.get(f"/push/notifications/{message_id}").get_json()["url"] == (
        f"/app/rooms/{room}"
    )
    for email in ("outsider@example.test", "staff@example.test"):  # not theirs; their own
        assert logged_in(app, email).get(f"/push/notifications/{message_id}").status_code == 204
    assert client.get("/push/notifications/999999").status_code == 204
    assert app.test_client().get(f"/push/notifications/{message_id}").status_code in (302, 401)


def test_vapid_key_generated_once_into_the_instance_folder_or_set(tmp_path, monkeypatch):
    from portal import config

    monkeypatch.delenv("VAPID_PRIVATE_KEY", raising=False)
    first = config.from_environment(str(tmp_path))["VAPID_PRIVATE_KEY"]
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "vapid_private_key.pem").stat().st_mode & 0o077 == 0
    assert config.from_environment(str(tmp_path))["VAPID_PRIVATE_KEY"] == first
    monkeypatch.setenv("VAPID_PRIVATE_KEY", first.replace("\n", "\\n"))  # one-line form
    assert config.from_environment(str(tmp_path / "other"))["VAPID_PRIVATE_KEY"] == first


def test_nothing_is_pushed_to_a_browser_whose_login_ended(app, people, room, service):
    """Logged out (or the password reset): the next person on that browser must not see
    the previous one's messages."""
    client = logged_in(app, "client@example.test")
    assert subscribe(app, client, service.browser().to_json()).status_code == 201
    assert send(app, post(app, room, people["staff"].id, "While signed in")) == 1
    client.logout()
    assert send(app, post(app, room, people["staff"].id, "After the logout")) == 0
    assert len(service.received) == 1
    page = logged_in(app, "client@example.test").get("/preferences/notifications")
    assert "No device gets push notifications." in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "agent,name",
    [
        (
            "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
            "Firefox on Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/124.0 Safari/537.36 Edg/124.0",
            "Edge on Windows",
        ),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1", "Safari on iPhone"),
        ("curl/8.0", "A browser"),
        ("", "A browser"),
    ],
)
def test_devices_are_named_by_browser_and_system(agent, name):
    assert push_subscriptions.device_name(agent) == name
