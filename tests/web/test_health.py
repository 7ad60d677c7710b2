from portal import create_app


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_redis_when_unreachable(app_config, tmp_root):
    broken = create_app({**app_config, "REDIS_URL": f"unix://{tmp_root}/no-such-redis.sock"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "unavailable"
    assert response.json["database"] == "ok"


def test_healthz_names_database_when_unreachable(app_config, tmp_root):
    broken = create_app(
        {**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_root}/missing-dir/x/db.sqlite3"}
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable", "redis": "ok"}


def test_trusted_proxies_set_the_client_address(app_config):
    from flask import request

    for hops, expected in [(0, "127.0.0.1"), (1, "203.0.113.9")]:
        proxied = create_app({**app_config, "TRUSTED_PROXIES": hops})
        proxied.add_url_rule("/whoami-ip", "ip", lambda: request.remote_addr)
        response = proxied.test_client().get(
            "/whoami-ip", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert response.get_data(as_text=True) == expected
