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
