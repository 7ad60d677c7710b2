"""A local RFC 8030 push service for the tests: it takes pushes like a browser vendor's
service would, and the test decrypts them with the subscription's private key (RFC 8291)
and checks their VAPID signature (RFC 8292)."""

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's side of one subscription: its ECDH key pair and auth secret."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def to_json(self):
        """What `PushSubscription.toJSON()` gives a page."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body):
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def verify_vapid(authorization, audience):
    """The claims of a `vapid t=<JWT>, k=<key>` header whose ES256 signature checks out."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "vapid", authorization
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    token, key = fields["t"], unb64url(fields["k"])
    header, claims, signature = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    decoded = json.loads(unb64url(claims))
    assert decoded["aud"] == audience and decoded["exp"] > time.time()
    return decoded, fields["k"]


class PushService:
    """`/push/<name>` answers 201 and keeps what came; `/gone/…` 410, `/missing/…` 404,
    `/redirect/…` a 307 to `/push/…`, `/slow/…` answers after `slow_seconds`."""

    def __init__(self, slow_seconds=3.0):
        self.received = []
        self.slow_seconds = slow_seconds
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                kind = self.path.split("/")[1]
                if kind == "slow":
                    time.sleep(service.slow_seconds)
                status = {"gone": 410, "missing": 404, "redirect": 307}.get(kind, 201)
                self.send_response(status)
                if kind == "redirect":
                    self.send_header("Location", self.path.replace("/redirect/", "/push/", 1))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def browser(self, path="push/device"):
        return Browser(f"{self.origin}/{path}")

    def pushes(self, path):
        return [(headers, body) for got, headers, body in self.received if got == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
