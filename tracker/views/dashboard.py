"""The dashboard: obligations by year and agency, the world map, the $50M initiative ledger,
flags by type and reporting coverage; every chart's numbers one click away."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from tracker import charts
from tracker.db import get_session
from tracker.permissions import visible_countries
from tracker.reporting import (
    INITIATIVE,
    RecordFilters,
    country_names,
    coverage_by_post,
    flag_counts,
    program_ledger,
    totals,
)
from tracker.views import get_actor

bp = Blueprint("dashboard", __name__)

#: Codes plotly's world map cannot draw (Kosovo is not in its map data).
NOT_ON_THE_MAP = frozenset({"XKX"})


def dashboard_filters() -> RecordFilters:
    """The page's filters from the query string, within what the user may see."""
    actor = get_actor()
    allowed = visible_countries(actor)
    countries = [c for c in request.args.getlist("country") if c]
    if allowed is not None:
        countries = [c for c in countries if c in allowed] if countries else sorted(allowed)
        countries = countries or ["-"]  # only countries out of scope were asked for: nothing
    return RecordFilters(fiscal_years=[int(y) for y in request.args.getlist("fy") if y.isdigit()],
                         agencies=[a for a in request.args.getlist("agency") if a], countries=countries)


@bp.get("/dashboard")
@login_required
def index() -> ResponseReturnValue:
    """The charts, each with its numbers, matching `tracker totals` exactly."""
    session = get_session()
    filters = dashboard_filters()
    names = country_names(session)
    by_year = totals(session, ["fiscal_year", "agency"], filters)
    by_country = totals(session, ["country"], filters)
    mapped = [r for r in by_country if r["country"] and r["country"] not in NOT_ON_THE_MAP]
    unmapped = [r for r in by_country if not r["country"] or r["country"] in NOT_ON_THE_MAP]
    # An embassy officer sees their own hubs, not other posts' money.
    scope = filters.countries if visible_countries(get_actor()) is not None else None
    program, ledger = program_ledger(session, INITIATIVE, scope)
    scoped = filters.countries or None
    flags = flag_counts(session, scoped)
    posts = coverage_by_post(session, scoped)
    years = sorted({y for ys in posts.values() for y in ys})
    figures = {
        "chart-fy-agency": charts.as_json(charts.obligations_by_year_and_agency(by_year)),
        "chart-map": charts.as_json(charts.world_map(mapped, names)),
        "chart-ledger": charts.as_json(charts.initiative_ledger(ledger, program.ceiling if program else None,
                                                                program.name if program else INITIATIVE)),
        "chart-flags": charts.as_json(charts.flags_by_type(flags)),
        "chart-coverage": charts.as_json(charts.coverage(posts, years, names)),
    }
    grand = sum((r["amount"] for r in by_country), Decimal("0.00"))
    return render_template("dashboard/index.html", figures=figures, by_year=by_year, mapped=mapped,
                           unmapped=unmapped, ledger=ledger, program=program, flags=flags, posts=posts, years=years,
                           names=names, grand=grand, filters=filters, mapped_total=sum((r["amount"] for r in mapped), Decimal(0)),
                           unmapped_total=sum((r["amount"] for r in unmapped), Decimal(0)))
