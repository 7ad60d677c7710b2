"""Settings → Client portal (admins): the firm's name and accent colour, live at once."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.blueprints.settings.forms import PortalForm
from portal.infra import settings

#: Form field → setting name.
FIELDS = {
    "portal_name": "PORTAL_NAME",
    "accent_colour": "PORTAL_ACCENT",
    "sidebar_colour": "PORTAL_SIDEBAR",
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
            changes = {name: form[field].data for field, name in FIELDS.items()}
            changed = settings.save(changes, current_user)
        except settings.SettingError as exc:
            field = next(f for f, name in FIELDS.items() if name == exc.name)
            form[field].errors = [*form[field].errors, str(exc)]
        else:
            flash("Saved: clients see it now." if changed else "No changes.", "success")
            return redirect(url_for(".client_portal"))
    status = 422 if form.errors else 200
    return render_template("settings/client_portal.html", form=form), status
