"""Settings → Client portal (admins): the firm's name, colours and logo, live at once."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.blueprints.settings.forms import PortalForm
from portal.infra import settings
from portal.people.branding import remove_logo, set_logo

#: Form field → setting name.
FIELDS = {
    "portal_name": "PORTAL_NAME",
    "accent_colour": "PORTAL_ACCENT",
    "sidebar_colour": "PORTAL_SIDEBAR",
    "login_links": "LOGIN_LINKS",
}


@bp.route("/portal", methods=["GET", "POST"])
@admin_required
def client_portal():
    form = PortalForm()
    if not form.is_submitted():
        for field, name in FIELDS.items():
            form[field].data = settings.value(name)
    elif form.validate_on_submit():
        try:
            changed = _save(form)
        except settings.SettingError as exc:
            _refused(form, exc)
        else:
            flash("Saved: clients see it now." if changed else "No changes.", "success")
            return redirect(url_for(".client_portal"))
    status = 422 if form.errors else 200
    return render_template("settings/client_portal.html", form=form), status


def _refused(form, error):
    """Show a refused value's message at its field (the logo's when it is about the logo)."""
    field = next((f for f, name in FIELDS.items() if name == error.name), "logo")
    form[field].errors = [*form[field].errors, str(error)]


def _save(form):
    """Check everything first (the logo, then the values), then store: all or nothing."""
    # A field the post left out (an older page) keeps its value.
    changes = {name: form[field].data for field, name in FIELDS.items() if form[field].raw_data}
    for name, raw in changes.items():
        settings.EDITABLE[name](raw)
    changed = []
    upload = form.logo.data
    if upload is not None and getattr(upload, "filename", ""):
        changed += set_logo(upload, current_user)
    elif form.remove_logo.data and settings.value(settings.LOGO_VERSION):
        changed += remove_logo(current_user)
    return changed + settings.save(changes, current_user)
