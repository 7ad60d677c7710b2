from flask import abort, redirect, render_template, url_for
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm

from portal.access import home_endpoint
from portal.blueprints.auth import bp
from portal.blueprints.auth.passwords import email_request_page
from portal.blueprints.auth.token_pages import invalid_link, token_page
from portal.people.login_links import login_link, offered, request_login_link, use_login_link
from portal.people.sessions import start_session
from portal.people.throttling import ip_and_email, post_limit


@bp.route("/login/link", methods=["GET", "POST"])
@post_limit("LOGIN_LINK_IP_LIMIT", get_remote_address)
@post_limit("LOGIN_LINK_LIMIT", ip_and_email)
def login_link_request():
    if not offered():
        abort(404)
    return email_request_page(
        request_login_link, "auth/login_link.html", "auth/login_link_sent.html"
    )


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@token_page
def login_by_link(token):
    """GET shows a "Log in" button; only its POST spends the link (scanners only GET)."""
    link = login_link(token)
    if link is None:
        return invalid_link()
    form = FlaskForm()
    if form.validate_on_submit():
        user = use_login_link(link)
        if user is None:
            return invalid_link()
        start_session(user)
        return redirect(url_for(home_endpoint(user)))
    page = render_template("auth/login_by_link.html", form=form, user=link.user)
    return page, 400 if form.errors else 200
