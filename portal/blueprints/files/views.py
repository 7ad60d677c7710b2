"""Downloads: `/files/<id>/<filename>`, access-checked, served so the browser can't be fooled.

Anonymous users get the same 404 as everyone who may not view the room: it tells
nobody whether the file exists.
"""

from flask import abort, redirect, request, url_for

from portal.access import load_attachment
from portal.blueprints.files import bp
from portal.messaging.filenames import content_disposition
from portal.messaging.images import THUMB_TYPE
from portal.messaging.storage import get_storage
from portal.messaging.uploads import stored_name


@bp.route("/files/<int:attachment_id>/<filename>")
def download(attachment_id, filename):
    attachment = load_attachment(attachment_id)
    thumb = request.args.get("thumb") == "1" and attachment.is_image
    if filename != attachment.filename:
        return redirect(attachment_url(attachment, thumb))
    return _send(attachment, thumb)


def attachment_url(attachment, thumb=False):
    """The canonical URL of an attachment (or of its thumbnail)."""
    extra = {"thumb": 1} if thumb else {}
    return url_for(
        "files.download", attachment_id=attachment.id, filename=attachment.filename, **extra
    )


def _send(attachment, thumb):
    # Only images Pillow decoded and re-encoded are shown inline; every other file is a
    # download the browser must not sniff, render or run.
    mimetype = THUMB_TYPE if thumb and attachment.thumb_name else attachment.content_type
    try:
        response = get_storage().send(stored_name(attachment, thumb), mimetype)
    except FileNotFoundError:
        abort(404)
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if attachment.is_image else "attachment", attachment.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    # Private and revalidated every time (cheap: ETag → 304), so a removed participant's
    # browser cache can't keep showing the file: revalidation answers 404.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response
