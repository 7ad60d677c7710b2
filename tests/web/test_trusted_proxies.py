"""TRUSTED_PROXIES: forwarded headers count only on requests from TRUSTED_PROXY_IPS."""

import pytest
from flask import request

from portal import create_app
from portal.web.security import proxy_networks
from tests.conftest import PortalClient

DIRECT = "198.51.100.7"  # someone reaching the web port without going through the proxy


def _proxied_app(app_config, **settings):
    app = create_app({**app_config, "TRUSTED_PROXIES": 1, **settings})
    app.test_client_class = PortalClient
    app.add_url_rule("/whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme}")
    return app


def _client(app, peer):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    return client


def _whoami(app, peer, forwarded_for, proto="https"):
    client = _client(app, peer)
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": proto}
    return client.get("/whoami", headers=headers).get_data(as_text=True)


def test_the_proxy_on_loopback_is_believed_by_default(app_config):
    app = _proxied_app(app_config)
    assert _whoami(app, "127.0.0.1", "203.0.113.9") == "203.0.113.9 https"
    assert _whoami(app, "::1", "203.0.113.9") == "203.0.113.9 https"


def test_a_direct_request_cannot_choose_its_address_or_scheme(app_config):
    app = _proxied_app(app_config)
    assert _whoami(app, DIRECT, "203.0.113.9") == f"{DIRECT} http"
    assert _whoami(app, DIRECT, "127.0.0.1") == f"{DIRECT} http"


def test_proxies_on_other_addresses_are_named(app_config):
    app = _proxied_app(app_config, TRUSTED_PROXY_IPS="10.0.0.0/8, 192.0.2.1")
    assert _whoami(app, "10.1.2.3", "203.0.113.9") == "203.0.113.9 https"
    assert _whoami(app, "192.0.2.1", "203.0.113.9") == "203.0.113.9 https"
    # Loopback is no longer trusted once the setting names the proxies.
    assert _whoami(app, "127.0.0.1", "203.0.113.9") == "127.0.0.1 http"


def test_with_two_proxies_both_must_be_trusted(app_config):
    app = _proxied_app(app_config, TRUSTED_PROXIES=2, TRUSTED_PROXY_IPS="10.0.0.0/8")
    # (each proxy appends its own X-Forwarded-Proto too)
    both = _whoami(app, "10.0.0.2", "203.0.113.9, 10.0.0.1", proto="https, http")
    assert both == "203.0.113.9 https"
    # The outer proxy would be a stranger: nothing forwarded is believed.
    assert _whoami(app, "10.0.0.2", "203.0.113.9, 198.51.100.1") == "10.0.0.2 http"
    # Too few hops to have come through both.
    assert _whoami(app, "10.0.0.2", "203.0.113.9") == "10.0.0.2 http"


def test_without_proxies_no_header_is_believed(app_config):
    app = _proxied_app(app_config, TRUSTED_PROXIES=0)
    assert _whoami(app, "127.0.0.1", "203.0.113.9") == "127.0.0.1 http"


def test_a_bad_setting_stops_the_start_with_its_name():
    with pytest.raises(ValueError, match="TRUSTED_PROXY_IPS: 'proxy.example' is not"):
        proxy_networks("127.0.0.1, proxy.example")
    assert [str(n) for n in proxy_networks(" 127.0.0.1 ,, ::1,10.0.0.0/8 ")] == [
        "127.0.0.1/32",
        "::1/128",
        "10.0.0.0/8",
    ]


def test_rotating_x_forwarded_for_does_not_dodge_the_login_limit(app_config, people):
    app = _proxied_app(app_config, LOGIN_FAILURE_IP_LIMIT="3 per minute")
    client = _client(app, DIRECT)
    for n in range(3):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{n}"
        assert client.login(f"guess{n}@example.test", "wrong").status_code == 200
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"
    assert client.login("staff@example.test").status_code == 429
    # Through the proxy, each client address has its own allowance.
    proxied = _client(app, "127.0.0.1")
    for n in range(4):
        proxied.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{10 + n}"
        assert proxied.login(f"guess{n}@example.test", "wrong").status_code == 200
