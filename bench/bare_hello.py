"""The bare Flask baseline for `bench/stack.py`: one template-rendered line per request."""

from flask import Flask, render_template_string

app = Flask(__name__)


@app.get("/")
def hello():
    """Hello, through Jinja like any page."""
    return render_template_string("<p>Hello {{ name }}</p>", name="world")
