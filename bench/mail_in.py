"""What mail-in spends on the shape of an email and on its sender check, per email.

    .venv/bin/python bench/mail_in.py [--repeat 20]

Times `portal.notify.inbound.parse` (the stdlib parser behind the nesting and part caps) on
nested and flat MIME around the caps, and `portal.notify.authentication.confirm_sender` on
a 10 kB reply with a 2048-bit RSA DKIM signature (the DNS answer injected, so no network).
No database or server is needed.
"""

import argparse
import base64
import os
import sys
import time
from email import policy
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import contextlib

import dkim  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from portal.notify import authentication, inbound  # noqa: E402

TO = "reply+x@portal.test"


def nested(depth):
    opening = "".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(depth)
    )
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth + 1)))
    return (
        f"From: client@example.test\r\nTo: {TO}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + opening
        + f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nDeep inside\r\n"
        + closing
    ).encode()


def flat(count):
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "client@example.test", TO, "Re: files"
    email.set_content("Many files")
    for i in range(count):
        email.add_attachment(b"x", "application", "octet-stream", filename=f"f{i}.bin")
    return email.as_bytes(policy=policy.SMTP)


def per_email_ms(function, repeat):
    started = time.perf_counter()
    for _ in range(repeat):
        with contextlib.suppress(inbound.Unparseable):
            function()
    return (time.perf_counter() - started) / repeat * 1000


def signed_reply():
    key = rsa.generate_private_key(65537, 2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    authentication.dns_txt = lambda name, timeout=5: (
        b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    )
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "client@example.test", TO, "Re: signed"
    email.set_content("Signed text. " * 800)
    raw = email.as_bytes(policy=policy.SMTP)
    headers = [b"from", b"to", b"subject"]
    return dkim.sign(raw, b"sel", b"example.test", private, include_headers=headers) + raw


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    repeat = parser.parse_args().repeat
    cases = [(f"nested {d} deep", nested(d)) for d in (5, 19, 20, 49, 51, 2000)]
    cases += [(f"{n} flat parts", flat(n)) for n in (9, 98, 101)]
    for label, raw in cases:
        try:
            inbound.parse(raw)
            verdict = "read"
        except inbound.Unparseable as exc:
            verdict = f"550 5.6.0 ({exc})"
        ms = per_email_ms(lambda raw=raw: inbound.parse(raw), repeat)
        print(f"parse {label:>16} {len(raw):>8} B {ms:9.2f} ms  {verdict}")
    raw = signed_reply()
    message = inbound.parse(raw)
    verdict = authentication.confirm_sender(raw, message, "client@example.test")
    ms = per_email_ms(
        lambda: authentication.confirm_sender(raw, message, "client@example.test"), repeat
    )
    print(f"DKIM confirm_sender {len(raw):>8} B {ms:9.2f} ms  {verdict.how}")


if __name__ == "__main__":
    main()
