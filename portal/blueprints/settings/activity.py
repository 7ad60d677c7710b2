"""Settings → Activity: the audit trail (admins), and its CSV export."""

from flask import render_template, request
from flask_login import current_user

from portal.access import admin_required
from portal.blueprints.settings import bp
from portal.extensions import db
from portal.infra import audit
from portal.models.base import utcnow
from portal.people.activity import Filters, activity_page, csv_lines
from portal.people.admin import people_by_kind
from portal.web.downloads import streamed_download
from portal.web.inputs import parse_id


@bp.route("/activity")
@admin_required
def activity():
    filters = Filters.from_args(request.args, parse_id)
    rows, older = activity_page(filters, after=parse_id(request.args.get("page")))
    internal, clients = people_by_kind()
    return render_template(
        "settings/activity.html",
        rows=rows,
        older=older,
        filters=filters,
        first_page=request.args.get("page") is None,
        people=internal + clients,
        kinds=audit.KINDS,
    )


@bp.route("/activity.csv")
@admin_required
def activity_csv():
    """The filtered trail as a CSV file, streamed; the export itself is recorded first."""
    filters = Filters.from_args(request.args, parse_id)
    shown = ", ".join(f"{k}={v}" for k, v in filters.as_args().items()) or "no filters"
    audit.record(current_user, "export.made", summary=f"Exported Activity as CSV ({shown})")
    db.session.commit()
    name = f"activity-{utcnow():%Y%m%d-%H%M%S}.csv"
    return streamed_download(csv_lines(filters), name, "text/csv")
