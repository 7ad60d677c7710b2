"""The deploy nginx site serves HTTP/2 over TLS (ALPN "h2") and redirects plain HTTP.

A browser opens at most 6 HTTP/1.1 connections per host; over HTTP/2 its pages and live
streams share one. The site file is the one operators copy, with a self-signed
certificate and the test's ports.
"""

import datetime
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import free_port

pytestmark = pytest.mark.skipif(
    not shutil.which("nginx", path="/usr/sbin:/usr/bin"), reason="no nginx"
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def backend():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def nginx(tmp_path, backend):
    tls_port, plain_port = free_port(), free_port()
    self_signed(tmp_path)
    site = (DEPLOY / "portal.conf").read_text()
    site = site.replace("127.0.0.1:8001", f"127.0.0.1:{backend}")
    site = site.replace("    server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;\n", "")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{plain_port};")
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    tls = (DEPLOY / "portal-tls.conf").read_text()
    tls = tls.replace(
        "/etc/letsencrypt/live/portal.example.com/fullchain.pem", str(tmp_path / "cert.pem")
    )
    tls = tls.replace(
        "/etc/letsencrypt/live/portal.example.com/privkey.pem", str(tmp_path / "key.pem")
    )
    (tmp_path / "portal.conf").write_text(site)
    (tmp_path / "portal-tls.conf").write_text(tls)
    shutil.copy(DEPLOY / "portal-locations.conf", tmp_path)
    (tmp_path / "temp").mkdir()
    user = "user root root;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/temp/body;
    proxy_temp_path {tmp_path}/temp/proxy;
    fastcgi_temp_path {tmp_path}/temp/fastcgi;
    uwsgi_temp_path {tmp_path}/temp/uwsgi;
    scgi_temp_path {tmp_path}/temp/scgi;
    include portal.conf;
}}
"""
    )
    command = ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", tls_port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            time.sleep(0.1)
    yield tls_port, plain_port, tmp_path
    process.terminate()
    process.wait(10)


def tls_context(folder, protocols):
    context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    context.check_hostname = False
    context.set_alpn_protocols(protocols)
    return context


def test_the_site_speaks_http2_over_tls(nginx):
    tls_port, _, folder = nginx
    context = tls_context(folder, ["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
    # HTTP/1.1 clients still work, through the same locations.
    context = tls_context(folder, ["http/1.1"])
    connection = http.client.HTTPSConnection("127.0.0.1", tls_port, context=context, timeout=5)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b"ok"
    assert "max-age" in response.getheader("Strict-Transport-Security")


def test_plain_http_redirects_to_https(nginx):
    _, plain_port, _ = nginx
    connection = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=5)
    connection.request("GET", "/app/rooms?x=1", headers={"Host": "portal.example.com"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://portal.example.com/app/rooms?x=1"
