"""Templates' `url_for` remembers argument-free and static URLs: the memo must still
follow where the app is mounted and which blueprint a relative endpoint names."""

from flask import render_template_string

PAGE = (
    "{{ url_for('static', filename='css/app.css') }} {{ url_for('.rooms') }}"
    " {{ url_for('auth.login') }}"
)


def _render(app, path, script_name=""):
    with app.test_request_context(path, base_url=f"http://localhost{script_name}/"):
        return render_template_string(PAGE)


def test_remembered_urls_follow_the_mount_point_and_the_blueprint(app):
    assert _render(app, "/app/rooms") == "/static/css/app.css /app/rooms /login"
    assert _render(app, "/app/rooms") == "/static/css/app.css /app/rooms /login"  # remembered
    mounted = _render(app, "/app/rooms", "/chat")
    assert mounted == "/chat/static/css/app.css /chat/app/rooms /chat/login"
    assert _render(app, "/portal/rooms").split()[1] == "/portal/rooms"


def test_urls_with_arguments_are_built_each_time(app):
    page = (
        "{{ url_for('static', filename='css/app.css', v=n) }} {{ url_for('auth.login', next=n) }}"
    )
    with app.test_request_context("/app/rooms"):
        first = render_template_string(page, n=1)
        second = render_template_string(page, n=2)
    assert first == "/static/css/app.css?v=1 /login?next=1"
    assert second == "/static/css/app.css?v=2 /login?next=2"
