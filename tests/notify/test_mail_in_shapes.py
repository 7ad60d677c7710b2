"""What real mail programs send, over real SMTP to the mail-in server: long lines, 8-bit and
UTF-8 mail, every charset the stdlib decodes; and what must be refused for good (bounces,
mail nested past any reply's shape)."""

import base64
import quopri
import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message
from portal.notify import inbound
from portal.notify.replies import reply_address
from portal.runtime.mail_in import controller
from tests.helpers import free_port
from tests.notify_helpers import post, room_with
from tests.reply_helpers import reply

SENDER = "client@example.test"


@pytest.fixture
def server(app):
    running = controller(app, host="127.0.0.1", port=free_port())
    running.start()
    yield running
    running.stop()


@pytest.fixture
def address(app, people):
    with app.app_context():
        room = room_with(people["staff"], people["client"])
        post(room, people["staff"], "Your tax return is ready to sign")
        return reply_address(people["client"].id, room.id)


def posted(app, people):
    with app.app_context():
        query = select(Message.body).where(Message.author_id == people["client"].id)
        bodies = list(db.session.scalars(query.order_by(Message.id)))
        db.session.remove()
    return bodies


def send_raw(server, raw, to, sender=SENDER, options=()):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        return smtp.sendmail(sender, [to], raw, mail_options=list(options))


def raw_reply(to, body, charset, encoding, subject="Re: your tax return"):
    """A text/plain reply whose body is `body` in `charset`, sent as `encoding`."""
    headers = (
        f"From: Cleo Client <{SENDER}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {make_msgid(domain='mail.example.test')}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    data = body.encode(charset)
    if encoding == "base64":
        data = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        data = quopri.encodestring(data)
    return headers.encode() + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"


@pytest.mark.parametrize("word", ["Outlook wrote this on one line ", "Très été "])
def test_a_line_longer_than_rfc_5321_allows_is_posted_whole(app, people, server, address, word):
    # Up to the product's 10,000-character message limit, on one line of 10,000+ octets.
    words = (word * 1000)[:9_999] + "."
    raw = raw_reply(address, words + "\n", "utf-8", "8bit")
    assert max(len(line) for line in raw.split(b"\r\n")) >= 10_000
    assert send_raw(server, raw, address, options=["BODY=8BITMIME"]) == {}
    assert posted(app, people) == [words]


def test_a_line_past_the_configured_limit_is_refused_not_cut(app, people, address, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_MAX_LINE_OCTETS", 2000)
    short = controller(app, host="127.0.0.1", port=free_port())
    short.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as error:
            send_raw(short, raw_reply(address, "x" * 3000 + "\n", "utf-8", "8bit"), address)
        assert error.value.smtp_code == 500
        fits = raw_reply(address, "y" * 1990 + "\n", "utf-8", "8bit")
        assert send_raw(short, fits, address) == {}
    finally:
        short.stop()
    assert posted(app, people) == ["y" * 1990]


def test_ehlo_offers_8bitmime_and_smtputf8(server):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("8bitmime") and smtp.has_extn("smtputf8")


def test_an_smtputf8_reply_with_utf8_headers_is_posted(app, people, server, address):
    raw = (
        f"From: Cléo Clïent <{SENDER}>\r\nTo: {address}\r\nSubject: Re: Déclaration — ok\r\n"
        f"Message-ID: {make_msgid(domain='mail.example.test')}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Signée, merci ! 👍 Zoë\r\n"
    ).encode()
    assert send_raw(server, raw, address, options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
    assert posted(app, people) == ["Signée, merci ! 👍 Zoë"]


CHARSETS = [
    ("iso-8859-1", "quoted-printable", "Reçu, à lundi. Grüße"),
    ("windows-1252", "8bit", "“Quoted” – ok… 50 €"),
    ("iso-8859-15", "8bit", "Facture jointe : 250 €"),
    ("koi8-r", "8bit", "Спасибо, получил."),
    ("shift_jis", "base64", "ありがとうございます。署名しました。"),
    ("iso-2022-jp", "7bit", "了解しました。"),
    ("euc-kr", "base64", "감사합니다. 서명했습니다."),
    ("gb18030", "base64", "谢谢，已签字。"),
    ("big5", "8bit", "謝謝，已簽名。"),
    ("utf-16", "base64", "Merci — signé ✓"),
    ("utf-7", "7bit", "Merci – signé"),
]


@pytest.mark.parametrize(("charset", "encoding"), [c[:2] for c in CHARSETS])
def test_any_charset_the_email_package_decodes(app, people, server, address, charset, encoding):
    text = dict((c, t) for c, _e, t in CHARSETS)[charset]
    raw = raw_reply(address, text + "\n", charset, encoding)
    assert send_raw(server, raw, address) == {}
    assert posted(app, people) == [text]


def test_a_bounce_sent_with_the_null_sender_is_never_posted(app, people, server, address):
    # MAIL FROM:<> with the participant's From: what a forwarding server's bounce looks like.
    email = reply(address, text="Delivery to the following recipients failed.")
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        assert smtp.sendmail("<>", [address], bytes(email)) == {}
        smtp.ehlo()
        assert smtp.mail("<>")[0] == 250
        assert smtp.rcpt(address)[0] == 250
        assert smtp.data(bytes(reply(address, text="Undeliverable")))[0] == 250
    assert posted(app, people) == []


def test_the_null_sender_is_an_empty_envelope_sender():
    assert inbound.envelope_sender("<>") == ""
    assert inbound.envelope_sender(" <> ") == ""
    assert inbound.envelope_sender("<a@b.test>") == "a@b.test"
    assert inbound.envelope_sender(None) is None


def nested(to, depth):
    """A reply whose text sits `depth` multipart/mixed levels down."""
    opening = "".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(depth)
    )
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth + 1)))
    return (
        f"From: Cleo Client <{SENDER}>\r\nTo: {to}\r\nSubject: Re: nested\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + opening
        + f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nDeep inside\r\n"
        + closing
    ).encode()


def flat(to, count):
    """A reply with `count` small attachments."""
    email = reply(to, text="Many files")
    for i in range(count):
        email.add_attachment(b"x", "application", "octet-stream", filename=f"f{i}.bin")
    return email.as_bytes(policy=policy.SMTP)


def untyped(to, count):
    """A reply of `count` parts that declare no Content-Type (text/plain by default)."""
    parts = "".join(f"--zz\r\n\r\npart {i}\r\n" for i in range(count))
    return (
        f"From: Cleo Client <{SENDER}>\r\nTo: {to}\r\nSubject: Re: parts\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        + parts
        + "--zz--\r\n"
    ).encode()


@pytest.mark.parametrize(
    "raw",
    [
        lambda to: nested(to, 2000),
        lambda to: nested(to, 400),
        lambda to: nested(to, inbound.MAX_MIME_DEPTH + 1),
        lambda to: flat(to, inbound.MAX_MIME_PARTS + 1),
        lambda to: untyped(to, inbound.MAX_MIME_PARTS + 1),
    ],
    ids=["2000-deep", "400-deep", "just-too-deep", "too-many-parts", "untyped-parts"],
)
def test_mail_that_can_never_be_read_is_refused_for_good(app, people, server, address, raw):
    with pytest.raises(smtplib.SMTPDataError) as error:
        send_raw(server, raw(address), address)
    assert error.value.smtp_code == 550
    assert b"5.6.0" in error.value.smtp_error
    assert posted(app, people) == []


def test_a_reply_of_ordinary_depth_is_still_posted(app, people, server, address):
    assert send_raw(server, nested(address, 5), address) == {}
    assert posted(app, people) == ["Deep inside"]


def test_a_reply_with_its_files_is_within_the_caps(app, people, server, address):
    # Ten files (the per-message limit) and an HTML body with an inline logo.
    email = reply(address, text="All ten files")
    email.add_alternative("<p>All ten files</p>", subtype="html")
    for i in range(app.config["MAX_FILES_PER_MESSAGE"]):
        email.add_attachment(b"%PDF-1.4", "application", "pdf", filename=f"page{i}.pdf")
    assert send_raw(server, email.as_bytes(policy=policy.SMTP), address) == {}
    assert posted(app, people) == ["All ten files"]


def test_an_html_reply_in_a_legacy_charset_is_posted(app, people, server, address):
    email = EmailMessage()
    email["From"] = f"Cleo Client <{SENDER}>"
    email["To"] = address
    email["Subject"] = "Re: ok"
    email.set_content("<p>Très bien, merci.</p>", subtype="html", charset="iso-8859-1", cte="8bit")
    assert send_raw(server, bytes(email), address, options=["BODY=8BITMIME"]) == {}
    assert posted(app, people) == ["Très bien, merci."]


def test_over_http_too_deep_mail_is_refused_too(app, people, client, address, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", "s3cret")
    response = client.post(
        "/inbound/email",
        data=nested(address, 2000),
        headers={"Content-Type": "message/rfc822", "Authorization": "Bearer s3cret"},
    )
    assert response.status_code == 422
    assert (
        "nested too deeply" in response.json["results"][0]["reason"]
        or "more than" in (response.json["results"][0]["reason"])
    )
    assert posted(app, people) == []


def test_over_http_a_return_path_of_null_is_a_bounce(app, people, client, address, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", "s3cret")
    headers = {"Content-Type": "message/rfc822", "Authorization": "Bearer s3cret"}
    bounce = reply(address, text="Mail delivery failed", Return_Path="<>")
    response = client.post("/inbound/email", data=bytes(bounce), headers=headers)
    assert response.json["results"][0]["status"] == "ignored"
    person = reply(address, text="A person's reply", Return_Path=f"<{SENDER}>")
    response = client.post("/inbound/email", data=bytes(person), headers=headers)
    assert response.json["results"][0]["status"] == "posted"
    assert posted(app, people) == ["A person's reply"]
