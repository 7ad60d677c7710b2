"""`GET /app/search?q=` and `GET /portal/search?q=`: search the rooms you may see now."""

from flask import render_template, request
from flask_login import current_user

from portal.messaging.search import QUERY_MAX, search


def register(bp, guard, layout):
    """Add `/search` to `bp`."""

    def search_page():
        query = request.args.get("q", "").strip()[:QUERY_MAX]
        rooms, messages = search(current_user, query)
        return render_template(
            "search/results.html", layout=layout, query=query, rooms=rooms, messages=messages
        )

    bp.add_url_rule("/search", "search", guard(search_page))
