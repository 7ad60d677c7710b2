"""The installable portal: web app manifest from the branding, icons, the service worker."""

import io

from PIL import Image


def test_manifest_names_the_portal_in_its_colours(app, client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["name"] == app.config["PORTAL_NAME"]
    assert manifest["theme_color"] == app.config["PORTAL_ACCENT"]
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes


def test_icons_are_pngs_of_the_asked_size(client):
    for size in (192, 512):
        response = client.get(f"/icon-{size}.png")
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert Image.open(io.BytesIO(response.data)).size == (size, size)
    assert client.get("/icon-100.png").status_code == 404


def test_service_worker_is_served_from_the_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    # It caches static assets only: never pages, fragments, files or streams.
    assert 'indexOf("/static/") !== 0' in body and "showNotification" in body


def test_pages_link_the_manifest(app, people):
    client = app.test_client()
    client.login("client@example.test")
    page = client.get("/portal/rooms").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'name="theme-color"' in page
