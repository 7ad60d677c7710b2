"""Animated-image bombs and concurrent image processing: refused early, nothing stored."""

import io

import pytest
from PIL import Image

from portal.infra.queues import get_redis
from portal.messaging import image_slots, images
from tests.files_helpers import attachments, png, send, stored_files
from tests.harden_helpers import make_room


@pytest.fixture
def room_id(app, people):
    return make_room(app, people)


def gif(frames, size=(1, 1)):
    """An animated GIF of `frames` frames of `size` pixels (colours alternate)."""
    pictures = [Image.new("L", size, (i * 37) % 256) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=20)
    return out.getvalue()


def webp(frames, size=(16, 16)):
    pictures = [Image.new("RGB", size, ((i * 37) % 256, 0, 0)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "WEBP", save_all=True, append_images=pictures[1:], lossless=True)
    return out.getvalue()


def assert_nothing_stored(app):
    assert attachments(app) == []
    assert stored_files(app) == []


def test_many_tiny_gif_frames_are_refused_before_decoding_them_all(tmp_path, monkeypatch):
    path = tmp_path / "tiny-frames.gif"
    path.write_bytes(gif(images.MAX_FRAMES * 5))
    seen = []
    clean = images._clean
    monkeypatch.setattr(images, "_clean", lambda f, a: seen.append(1) or clean(f, a))
    with pytest.raises(images.ImageRefused, match="frames"):
        images.decode(path)
    assert len(seen) <= images.MAX_FRAMES


def test_tiny_frames_are_charged_a_minimum_cost(tmp_path):
    path = tmp_path / "cheap.gif"
    path.write_bytes(gif(20))
    budget = images.FRAME_MIN_PIXELS * 10
    with pytest.raises(images.ImageRefused):
        images.decode(path, max_pixels=budget, max_frames=1000)
    assert images.decode(path, max_pixels=budget * 2, max_frames=1000) is not None


def test_webp_with_too_many_declared_frames_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "long.webp"
    path.write_bytes(webp(12))
    monkeypatch.setattr(images, "_clean", lambda *a: pytest.fail("decoded a frame"))
    with pytest.raises(images.ImageRefused, match="12 frames"):
        images.decode(path, max_frames=10)


def test_an_animation_at_the_frame_limit_is_kept(tmp_path):
    path = tmp_path / "ok.gif"
    path.write_bytes(gif(images.MAX_FRAMES))
    assert len(images.decode(path).frames) == images.MAX_FRAMES


def test_frame_bomb_upload_is_refused_with_a_clear_message(client, app, people, room_id):
    client.login("staff@example.test")
    bomb = gif(images.MAX_FRAMES + 50)
    response = send(client, room_id, [(png(), "ok.png"), (bomb, "party.gif")], htmx=True)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "“party.gif” has too many pixels or frames" in text
    assert f"{images.MAX_FRAMES} frames per animation" in text
    assert_nothing_stored(app)


def test_a_user_over_their_concurrent_image_limit_gets_429(client, app, people, room_id):
    client.login("staff@example.test")
    with app.app_context():
        get_redis().set(f"image-slots:user:{people['staff'].id}", 2)
    response = send(client, room_id, [(png(), "a.png")], body="Keep me", htmx=True)
    assert response.status_code == 429
    assert "already uploading 2 images at once" in response.get_data(as_text=True)
    assert_nothing_stored(app)
    # Other users are not affected, and the slot count was given back.
    client.logout()
    client.login("client@example.test")
    assert send(client, room_id, [(png(), "b.png")], htmx=True, portal=True).status_code == 200
    with app.app_context():
        assert get_redis().get(f"image-slots:user:{people['client'].id}") == b"0"


def test_a_busy_process_refuses_instead_of_queueing_forever(client, app, people, room_id):
    app.config.update(IMAGE_WAIT_SECONDS=0)
    try:
        client.login("staff@example.test")
        with app.app_context():
            semaphore = image_slots._semaphore()
        held = [
            semaphore.acquire(blocking=False)
            for _ in range(app.config["IMAGE_WORKERS_PER_PROCESS"])
        ]
        assert all(held)
        try:
            response = send(client, room_id, [(png(), "a.png")], htmx=True)
        finally:
            for _ in held:
                semaphore.release()
        assert response.status_code == 429
        assert "busy processing other images" in response.get_data(as_text=True)
        assert_nothing_stored(app)
        assert send(client, room_id, [(png(), "a.png")], htmx=True).status_code == 200
    finally:
        app.config.update(IMAGE_WAIT_SECONDS=30)


def test_slots_are_released_when_processing_fails(app, people):
    with app.app_context():
        with pytest.raises(RuntimeError), image_slots.image_slot(people["staff"].id):
            raise RuntimeError("decoder crashed")
        assert get_redis().get(f"image-slots:user:{people['staff'].id}") == b"0"
        semaphore = image_slots._semaphore()
        size = app.config["IMAGE_WORKERS_PER_PROCESS"]
        assert all(semaphore.acquire(blocking=False) for _ in range(size))
        for _ in range(size):
            semaphore.release()
