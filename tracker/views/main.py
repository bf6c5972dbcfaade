"""Start page, plotly.js from the installed package, and the health check."""

from __future__ import annotations

import os

from flask import Blueprint, jsonify, redirect, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from tracker import migrate
from tracker.db import get_engine
from tracker.views import get_actor

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    """Each role's starting point: a post's own page for embassy officers, else the dashboard."""
    actor = get_actor()
    if actor.role == "embassy" and actor.countries:
        return redirect(url_for("uploads.post", country=sorted(actor.countries)[0]))
    return redirect(url_for("dashboard.index"))


@bp.get("/vendor/plotly.min.js")
def plotly_js() -> ResponseReturnValue:
    """plotly.js, served from the plotly package itself (no CDN: embassy networks are closed)."""
    import plotly

    folder = os.path.join(os.path.dirname(plotly.__file__), "package_data")
    return send_from_directory(folder, "plotly.min.js", mimetype="text/javascript", max_age=86400)


@bp.get("/healthz")
def health() -> ResponseReturnValue:
    """Liveness and schema state, for monitoring (no data)."""
    current = migrate.is_current(get_engine())
    return jsonify(status="ok" if current else "schema-behind", schema_current=current), 200 if current else 503
