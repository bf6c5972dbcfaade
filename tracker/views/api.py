"""Read-only JSON for obligations, embassy report rows, flags, totals and coverage, with the same
filters as the pages and the command line, the same permissions as the pages, and an OpenAPI
document describing it."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from tracker.cli import _json_default
from tracker.db import get_session
from tracker.flags import FlagError, FlagFilters, list_flags
from tracker.permissions import visible_countries
from tracker.reconcile import covered_blocks
from tracker.reporting import GROUPINGS, RecordFilters, list_obligations, list_reports, totals
from tracker.views import get_actor

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 5000


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, default=_json_default, ensure_ascii=False), status=status,
                    mimetype="application/json")


def _filters() -> RecordFilters:
    """Filters from the query string, within the countries the user may see."""
    allowed = visible_countries(get_actor())
    countries = [c for c in request.args.getlist("country") if c]
    if allowed is not None:  # within the user's countries: asked-for ones they may see, else all of theirs
        countries = [c for c in countries if c in allowed] if countries else sorted(allowed)
        countries = countries or ["-"]  # asked only for countries out of scope: nothing
    return RecordFilters(fiscal_years=[int(y) for y in request.args.getlist("fiscal_year") if y.isdigit()],
                         agencies=[a.upper() for a in request.args.getlist("agency") if a], countries=countries,
                         programs=[p for p in request.args.getlist("program") if p])


def _page() -> tuple[int, int]:
    limit = min(MAX_LIMIT, int(request.args.get("limit", "500"))) if request.args.get("limit", "500").isdigit() else 500
    offset = int(request.args.get("offset", "0")) if request.args.get("offset", "0").isdigit() else 0
    return limit, offset


@bp.get("/obligations")
@login_required
def obligations() -> ResponseReturnValue:
    """Obligations with provenance (paged: limit, offset)."""
    limit, offset = _page()
    return _json(list_obligations(get_session(), _filters(), limit=limit, offset=offset))


@bp.get("/reports")
@login_required
def reports() -> ResponseReturnValue:
    """Embassy report rows with provenance (paged)."""
    limit, offset = _page()
    return _json(list_reports(get_session(), _filters(), limit=limit, offset=offset))


@bp.get("/flags")
@login_required
def flags() -> ResponseReturnValue:
    """Flags with their records' provenance."""
    allowed = visible_countries(get_actor())
    countries = tuple(c for c in request.args.getlist("country") if c)
    if allowed is not None:
        countries = tuple(c for c in countries if c in allowed) if countries else tuple(sorted(allowed))
        countries = countries or ("-",)
    try:
        found = list_flags(get_session(), FlagFilters(
            types=tuple(request.args.getlist("type")), statuses=tuple(request.args.getlist("status")),
            countries=countries, fiscal_years=tuple(int(y) for y in request.args.getlist("fiscal_year") if y.isdigit())))
    except FlagError as exc:
        return _json({"error": str(exc)}, 400)
    if allowed is not None:
        found = [f for f in found if f["country"] in allowed]
    return _json(found)


@bp.get("/totals")
@login_required
def totals_view() -> ResponseReturnValue:
    """Sums of obligations as recorded, grouped by `by` (as `tracker totals`)."""
    by = [b for b in request.args.get("by", "fiscal_year,agency,country").split(",") if b]
    if any(b not in GROUPINGS for b in by):
        return _json({"error": f"group by any of {', '.join(GROUPINGS)}"}, 400)
    return _json(totals(get_session(), by, _filters()))


@bp.get("/coverage")
@login_required
def coverage() -> ResponseReturnValue:
    """Which posts reported which fiscal years."""
    allowed = visible_countries(get_actor())
    posts: dict[str, list[int]] = {}
    for country, year in sorted(covered_blocks(get_session())):
        if allowed is None or country in allowed:
            posts.setdefault(country, []).append(year)
    return _json([{"country": c, "fiscal_years": y} for c, y in posts.items()])


_FILTERS = [{"name": "fiscal_year", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}, "explode": True},
            {"name": "agency", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True},
            {"name": "country", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
             "description": "ISO 3166-1 alpha-3, or a place code (GLOBAL, RG-AF, ...)"},
            {"name": "program", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True}]
_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": MAX_LIMIT, "default": 500}},
         {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}}]
_RECORD = {"type": "object", "properties": {k: {} for k in (
    "id", "fiscal_year", "agency", "office", "country", "region", "program", "implementer", "title", "amount", "file",
    "sheet", "row")}}


def openapi_document() -> dict[str, Any]:
    """The API described as OpenAPI 3.0."""
    def get(summary: str, parameters: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "parameters": parameters, "security": [{"session": []}],
                        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                                      "401": {"description": "Not signed in"}, "403": {"description": "Not allowed"}}}}
    array = lambda item: {"type": "array", "items": item}  # noqa: E731
    return {
        "openapi": "3.0.3",
        "info": {"title": "Anti-Trafficking Funding Tracker API", "version": "1",
                 "description": "Read-only. Amounts are decimal strings in U.S. dollars. Scope follows the signed-in "
                                "user's role (an embassy officer sees only their post's countries)."},
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "paths": {
            "/api/obligations": get("Obligations with provenance", _FILTERS + _PAGE, array(_RECORD)),
            "/api/reports": get("Embassy report rows with provenance", _FILTERS + _PAGE, array(_RECORD)),
            "/api/flags": get("Flags with their records", [
                {"name": "type", "in": "query", "schema": {"type": "string"}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "decided"]}},
                *[f for f in _FILTERS if f["name"] in ("country", "fiscal_year")]],
                array({"type": "object", "properties": {k: {} for k in ("id", "type", "status", "explanation",
                                                                         "evidence", "records")}})),
            "/api/totals": get("Sums of obligations as recorded", [
                {"name": "by", "in": "query", "schema": {"type": "string", "default": "fiscal_year,agency,country"},
                 "description": "comma-separated: " + ", ".join(GROUPINGS)}, *_FILTERS],
                array({"type": "object", "properties": {"amount": {"type": "string"}}})),
            "/api/coverage": get("Fiscal years each post reported", [],
                                 array({"type": "object", "properties": {"country": {"type": "string"},
                                                                         "fiscal_years": array({"type": "integer"})}})),
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI document (public: it describes, it holds no data)."""
    return _json(openapi_document())
