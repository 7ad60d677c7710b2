"""`GET /app/search?q=` and `GET /portal/search?q=`: search the rooms you may see now."""

from flask import render_template, request
from flask_login import current_user

from portal.blueprints.both_sides import side_route
from portal.messaging.search import QUERY_MAX, search


@side_route("/search", endpoint="search")
def search_page(side):
    query = request.args.get("q", "").strip()[:QUERY_MAX]
    rooms, messages = search(current_user, query)
    return render_template(
        "search/results.html", layout=side.layout, query=query, rooms=rooms, messages=messages
    )
