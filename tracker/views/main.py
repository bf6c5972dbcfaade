"""Home page and health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from tracker import migrate
from tracker.db import get_engine, get_session
from tracker.reporting import reference_counts

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    """What the tracker holds, in brief."""
    return render_template("home.html", counts=reference_counts(get_session()))


@bp.get("/healthz")
def health() -> ResponseReturnValue:
    """Liveness and schema state, for monitoring (no data)."""
    current = migrate.is_current(get_engine())
    return jsonify(status="ok" if current else "schema-behind", schema_current=current), 200 if current else 503
