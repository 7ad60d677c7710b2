"""A reply address is not a password: over real SMTP, a reply posts at once only when DKIM
or a trusted MTA confirms its sender; any other is held, and the person posts it from a
"Post my reply" email at their own address (a page with a POST button). DNS answers are
injected: `authentication.dns_txt` is replaced by the records each test publishes."""

import base64
import re
import smtplib
import time
from datetime import timedelta
from email import policy
from unittest import mock

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.rooms import set_participants
from portal.models import HeldReply, Message, Room
from portal.notify import authentication, held_replies
from portal.notify.replies import reply_address
from portal.runtime.mail_in import controller
from tests.helpers import free_port
from tests.notify_helpers import post, room_with, user
from tests.reply_helpers import reply

CLIENT = "client@example.test"
LINK = re.compile(r"http://portal\.test(/reply/held/[\w.\-]+)")


@pytest.fixture(scope="module")
def keys():
    """Two signing keys: the client's provider's (example.test) and someone else's."""
    return {
        domain: rsa.generate_private_key(65537, 2048) for domain in ("example.test", "evil.test")
    }


def _record(key):
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def dns(keys, monkeypatch):
    """The published DKIM keys: `dns[name] = record`; lookups of anything else find nothing."""
    records = {f"sel._domainkey.{domain}.": _record(key) for domain, key in keys.items()}
    lookups = []

    def answer(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        lookups.append(name)
        value = records.get(name)
        if isinstance(value, Exception):
            raise value
        return value

    monkeypatch.setattr(authentication, "dns_txt", answer)
    records["lookups"] = lookups
    return records


@pytest.fixture
def holding(app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_UNCONFIRMED", "hold")


@pytest.fixture
def server(app, holding):
    running = controller(app, host="127.0.0.1", port=free_port())
    running.start()
    yield running
    running.stop()


@pytest.fixture
def room_id(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Your tax return is ready to sign")
        return room.id


@pytest.fixture
def address(app, people, room_id):
    with app.app_context():
        return reply_address(people["client"].id, room_id)


def signed(email, keys, domain="example.test", **options):
    """The email's bytes (CRLF) with a DKIM-Signature of `domain` prepended."""
    raw = email.as_bytes(policy=policy.SMTP)
    headers = options.pop("include_headers", [b"from", b"to", b"subject", b"message-id"])
    key = keys[domain].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    signature = dkim.sign(raw, b"sel", domain.encode(), key, include_headers=headers, **options)
    return signature + raw


def send(server, raw, to, sender=CLIENT):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        return smtp.sendmail(sender, [to], raw)


def bodies(app):
    with app.app_context():
        found = list(db.session.scalars(select(Message.body).order_by(Message.id)))
        db.session.remove()
    return [b for b in found if b != "Your tax return is ready to sign"]


def confirmations(outbox):
    return [m for m in outbox.messages() if str(m["Subject"]).startswith("Post your reply")]


def link_in(email):
    return LINK.search(email.get_body(preferencelist=("plain",)).get_content()).group(1)


def test_a_reply_signed_by_the_senders_domain_posts_at_once(
    app, server, address, keys, dns, outbox
):
    assert send(server, signed(reply(address, text="Signed by my provider"), keys), address) == {}
    assert bodies(app) == ["Signed by my provider"]
    assert "sel._domainkey.example.test." in dns["lookups"]
    assert confirmations(outbox) == []


def test_a_forged_reply_is_held_and_the_person_posts_it_with_one_click(
    app, client, people, server, address, dns, outbox
):
    # Anyone holding a valid reply address, writing the client's From, without a signature.
    raw = reply(address, text="Please wire the money to IBAN XX00").as_bytes(policy=policy.SMTP)
    assert send(server, raw, address, sender="mallory@evil.test") == {}
    assert bodies(app) == []

    [email] = confirmations(outbox)
    assert email["To"].addresses[0].addr_spec == CLIENT  # the person's own address
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Reply-To"] is None
    text = email.get_body(preferencelist=("plain",)).get_content()
    assert "Please wire the money to IBAN XX00" in text
    path = link_in(email)

    # A mail scanner follows the link: GET shows the button and posts nothing.
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "Post my reply" in html and 'method="post"' in html
    assert "Please wire the money to IBAN XX00" in html
    assert bodies(app) == []
    # No CSRF token: refused, nothing posted.
    assert client.post(path).status_code == 400
    assert bodies(app) == []

    posted = client.form_post(path)
    assert posted.status_code == 200
    assert "Your reply was posted" in posted.get_data(as_text=True)
    assert bodies(app) == ["Please wire the money to IBAN XX00"]
    with app.app_context():
        message = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert message.author_id == people["client"].id
    again = client.form_post(path)
    assert "already posted" in again.get_data(as_text=True)
    assert bodies(app) == ["Please wire the money to IBAN XX00"]


@pytest.mark.parametrize(
    "case",
    ["other-domain", "tampered", "body-length", "second-from", "no-key", "dns-failure"],
)
def test_signatures_that_do_not_vouch_for_the_sender_hold_the_reply(
    app, server, address, keys, dns, outbox, case
):
    email = reply(address, text="Is this really me?")
    if case == "other-domain":
        raw = signed(email, keys, domain="evil.test")
    elif case == "tampered":
        raw = signed(email, keys).replace(b"Is this really me?", b"Send it to evil.test")
    elif case == "body-length":
        # l= signs only part of the body: anything could be appended after it.
        raw = signed(email, keys, length=True)
    elif case == "second-from":
        # A From added above the signed one is the one mail programs show.
        raw = b"From: Mallory <client@example.test>\r\n" + signed(email, keys)
    elif case == "no-key":
        del dns["sel._domainkey.example.test."]
        raw = signed(email, keys)
    else:
        dns["sel._domainkey.example.test."] = dkim.DnsTimeoutError("timed out")
        raw = signed(email, keys)
    assert send(server, raw, address) == {}
    assert bodies(app) == []
    assert len(confirmations(outbox)) == 1


def test_a_signature_for_someone_else_in_from_does_not_count(app, server, address, keys, dns):
    # Envelope sender is the client; From is a signed address of another person.
    email = reply(address, sender="someone@example.test", text="Signed, but not by the client")
    assert send(server, signed(email, keys), address, sender=CLIENT) == {}
    assert bodies(app) == []


AR = "Authentication-Results"


@pytest.mark.parametrize(
    ("results", "posted"),
    [
        ("mx.portal.test; dmarc=pass (p=reject) header.from=example.test", True),
        ("mx.portal.test; dkim=pass header.d=example.test header.s=sel", True),
        ("mx.portal.test; spf=pass smtp.mailfrom=client@example.test", True),
        (
            "mx.portal.test; dkim=pass header.d=evil.test; spf=fail smtp.mailfrom=example.test",
            False,
        ),
        ("mx.portal.test; dmarc=fail header.from=example.test", False),
        ("mx.elsewhere.test; dmarc=pass header.from=example.test", False),
        ("mx.portal.test; ;; garbage", False),
    ],
)
def test_the_trusted_mtas_authentication_results(
    app, server, address, dns, monkeypatch, results, posted
):
    monkeypatch.setitem(app.config, "INBOUND_TRUSTED_MTA", "mx.portal.test")
    raw = reply(address, text="Checked upstream", **{"Authentication_Results": results})
    send(server, raw.as_bytes(policy=policy.SMTP), address)
    assert bodies(app) == (["Checked upstream"] if posted else [])


def test_authentication_results_from_an_untrusted_address_are_ignored(
    app, server, address, dns, monkeypatch
):
    monkeypatch.setitem(app.config, "INBOUND_TRUSTED_MTA", "mx.portal.test")
    monkeypatch.setitem(app.config, "INBOUND_TRUSTED_MTA_IPS", ["10.1.2.3"])
    results = "mx.portal.test; dmarc=pass header.from=example.test"
    raw = reply(address, text="Forged upstream result", **{"Authentication_Results": results})
    send(server, raw.as_bytes(policy=policy.SMTP), address)
    assert bodies(app) == []


def test_without_a_trusted_mta_no_results_header_is_believed(app, server, address, dns):
    results = "mx.portal.test; dmarc=pass header.from=example.test"
    raw = reply(address, text="Forged upstream result", **{"Authentication_Results": results})
    send(server, raw.as_bytes(policy=policy.SMTP), address)
    assert bodies(app) == []


def test_over_http_the_provider_is_the_trusted_mta(app, client, address, dns, monkeypatch, holding):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", "s3cret")
    monkeypatch.setitem(app.config, "INBOUND_TRUSTED_MTA", "inbound.provider.test")
    headers = {"Content-Type": "message/rfc822", "Authorization": "Bearer s3cret"}
    good = "inbound.provider.test; dmarc=pass header.from=example.test"
    raw = reply(address, text="Via the provider", **{"Authentication_Results": good})
    response = client.post("/inbound/email", data=bytes(raw), headers=headers)
    assert response.json["results"][0]["status"] == "posted"
    unsigned = reply(address, text="Nothing vouches for this")
    response = client.post("/inbound/email", data=bytes(unsigned), headers=headers)
    assert response.status_code == 200
    assert response.json["results"][0]["status"] == "held"
    assert bodies(app) == ["Via the provider"]


def test_a_redelivered_held_reply_sends_one_confirmation(app, server, address, dns, outbox):
    raw = reply(address, text="Once").as_bytes(policy=policy.SMTP)
    send(server, raw, address)
    send(server, raw, address)
    assert len(confirmations(outbox)) == 1
    with app.app_context():
        assert db.session.query(HeldReply).count() == 1


def test_a_confirmation_that_cannot_be_sent_asks_for_a_retry(
    app, server, address, dns, outbox, monkeypatch
):
    real = held_replies.send_email
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("outgoing mail is down")
        return real(*args, **kwargs)

    monkeypatch.setattr(held_replies, "send_email", failing_once)
    raw = reply(address, text="Retry me").as_bytes(policy=policy.SMTP)
    with pytest.raises(smtplib.SMTPDataError) as error:
        send(server, raw, address)
    assert error.value.smtp_code == 451
    assert send(server, raw, address) == {}  # the sender's retry
    assert len(confirmations(outbox)) == 1


def test_a_person_removed_from_the_room_cannot_post_what_was_held(
    app, client, people, server, address, room_id, dns, outbox
):
    send(server, reply(address, text="Too late").as_bytes(policy=policy.SMTP), address)
    path = link_in(confirmations(outbox)[0])
    with app.app_context():
        set_participants(db.session.get(Room, room_id), user(people["staff"]), [])
        db.session.commit()
        assert db.session.query(HeldReply).count() == 0
    assert client.get(path).status_code == 404
    assert client.form_post(path).status_code == 404
    assert bodies(app) == []


def test_forged_and_expired_links_post_nothing(app, client, server, address, dns, outbox):
    send(server, reply(address, text="Expiring").as_bytes(policy=policy.SMTP), address)
    path = link_in(confirmations(outbox)[0])
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        held_id = db.session.scalar(select(HeldReply.id))
    forged = URLSafeTimedSerializer("wrong-secret", salt="portal.held-reply").dumps(held_id)
    assert client.form_post(f"/reply/held/{forged}").status_code == 404
    assert client.form_post(f"/reply/held/{token[:-2]}xx").status_code == 404
    old = int(time.time()) - app.config["HELD_REPLY_MAX_AGE_SECONDS"] - 60
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="portal.held-reply")
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=old):
        expired = serializer.dumps(held_id)
    assert client.get(f"/reply/held/{expired}").status_code == 404
    assert client.form_post(f"/reply/held/{expired}").status_code == 404
    assert client.get(path).status_code == 200  # the real link still works
    assert bodies(app) == []


@pytest.mark.parametrize(
    ("signer", "author", "ok"),
    [
        ("example.test", "example.test", True),
        ("example.com", "mail.example.com", True),
        ("mail.example.com", "example.com", False),
        ("co.uk", "firm.co.uk", False),
        ("com", "example.com", False),
        ("ample.com", "example.com", False),
        ("", "example.com", False),
    ],
)
def test_alignment(signer, author, ok):
    assert authentication.aligned(signer, author) is ok


def test_expired_held_replies_are_forgotten(app, server, address, dns, outbox):
    send(server, reply(address, text="Old").as_bytes(policy=policy.SMTP), address)
    with app.app_context():
        held = db.session.scalars(select(HeldReply)).one()
        held.created_at -= timedelta(seconds=app.config["HELD_REPLY_MAX_AGE_SECONDS"] + 1)
        db.session.commit()
    send(server, reply(address, text="Fresh words").as_bytes(policy=policy.SMTP), address)
    with app.app_context():
        assert [h.raw.count(b"Fresh words") for h in db.session.scalars(select(HeldReply))] == [1]


@pytest.mark.parametrize(
    ("peer", "ok"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.7", True),
        ("10.1.0.7", False),
        ("192.0.2.1", False),
        (None, False),
        ("not-an-ip", False),
    ],
)
def test_trusted_peers(peer, ok):
    assert authentication.trusted_peer(peer, ["127.0.0.1", "::1", "10.0.0.0/16"]) is ok
