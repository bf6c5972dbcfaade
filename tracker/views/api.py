"""Read-only JSON for obligations, embassy report rows, flags, totals and coverage, with the same
filters as the pages and the command line, the same permissions as the pages, and an OpenAPI
document describing it."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from tracker.cli import _json_default
from tracker.db import get_session
from tracker.fiscal import FY_MAX, FY_MIN
from tracker.flags import FlagError, FlagFilters, list_flags
from tracker.models import FLAG_STATUSES, FLAG_TYPES
from tracker.permissions import visible_countries
from tracker.reconcile import covered_blocks
from tracker.reporting import GROUPINGS, RecordFilters, list_obligations, list_reports, totals
from tracker.views import get_actor

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 5000
#: The largest offset asked for that is still a number every database can take.
MAX_OFFSET = 2**31 - 1


class BadParameter(Exception):
    """A query parameter the API cannot use; answered 400 with the parameter named."""


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> ResponseReturnValue:
    return _json({"error": str(error)}, 400)


@bp.before_request
def _signed_in() -> None:
    """A caller that is not signed in gets 401 (JSON), not the sign-in page's redirect: a script
    cannot fill in a form. The OpenAPI document itself is public."""
    if request.endpoint != "api.openapi" and not current_user.is_authenticated:
        abort(401)


def _texts(name: str) -> list[str]:
    """A repeatable text parameter's non-empty values (NUL cannot be stored or compared anywhere)."""
    values = [v for v in request.args.getlist(name) if v]
    if any("\x00" in v for v in values):
        raise BadParameter(f"{name} must not contain a NUL character")
    return values


def _int(name: str, text: str, low: int, high: int) -> int:
    if not text.isdecimal() or not low <= int(text) <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}, not {text[:40]!r}")
    return int(text)


def _years() -> list[int]:
    return [_int("fiscal_year", y, FY_MIN, FY_MAX) for y in request.args.getlist("fiscal_year") if y]


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, default=_json_default, ensure_ascii=False), status=status,
                    mimetype="application/json")


def _filters() -> RecordFilters:
    """Filters from the query string, within the countries the user may see."""
    allowed = visible_countries(get_actor())
    countries = _texts("country")
    if allowed is not None:  # within the user's countries: asked-for ones they may see, else all of theirs
        countries = [c for c in countries if c in allowed] if countries else sorted(allowed)
        countries = countries or ["-"]  # asked only for countries out of scope: nothing
    return RecordFilters(fiscal_years=_years(), agencies=[a.upper() for a in _texts("agency")], countries=countries,
                         programs=_texts("program"))


def _page() -> tuple[int, int]:
    limit = _int("limit", request.args.get("limit") or "500", 0, MAX_LIMIT)
    offset = _int("offset", request.args.get("offset") or "0", 0, MAX_OFFSET)
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
    countries = tuple(_texts("country"))
    if allowed is not None:
        countries = tuple(c for c in countries if c in allowed) if countries else tuple(sorted(allowed))
        countries = countries or ("-",)
    try:
        found = list_flags(get_session(), FlagFilters(
            types=tuple(_texts("type")), statuses=tuple(_texts("status")), countries=countries,
            fiscal_years=tuple(_years())))
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
    if not by or any(b not in GROUPINGS for b in by):
        raise BadParameter(f"by must list one or more of {', '.join(GROUPINGS)}, separated by commas")
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


def _repeated(name: str, items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "array", "items": items}, "style": "form", "explode": True,
            "description": description}


_YEARS = _repeated("fiscal_year", {"type": "integer", "minimum": FY_MIN, "maximum": FY_MAX},
                   "fiscal year, e.g. 2007 (repeat for several)")
#: Text parameters: any characters but NUL (no database can compare it; answered 400); empty
#: values are ignored.
_CODE = {"type": "string", "pattern": "^[^\\u0000]*$"}
_COUNTRIES = _repeated("country", _CODE,
                       "ISO 3166-1 alpha-3, or a place code (GLOBAL, RG-AF, ...); outside an embassy officer's "
                       "countries: nothing")
_FILTERS = [_YEARS, _repeated("agency", _CODE, "agency code, e.g. DOS"), _COUNTRIES,
            _repeated("program", _CODE, "program code, e.g. PRES-50M")]
_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": 500}},
         {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}}]
_TEXT = {"type": "string", "nullable": True}
_INT = {"type": "integer", "nullable": True}
_MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "U.S. dollars and cents"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object that always carries these keys (more may be added later)."""
    return {"type": "object", "required": sorted(properties), "properties": properties}


_OBLIGATION = _object({
    "id": {"type": "integer"}, "fiscal_year": {"type": "integer"}, "agency": {"type": "string"},
    "office": {"type": "string"}, "country": _TEXT, "region": _TEXT, "program": _TEXT, "implementer": _TEXT,
    "title": {"type": "string"}, "area": _TEXT, "award_number": _TEXT, "date": {**_TEXT, "format": "date"},
    "status": {"type": "string"}, "amount": _MONEY, "file": _TEXT, "sheet": _TEXT, "row": _INT})
_REPORT = _object({
    "id": {"type": "integer"}, "fiscal_year": {"type": "integer"}, "country": _TEXT, "region": _TEXT, "agency": _TEXT,
    "office": _TEXT, "agency_text": _TEXT, "implementer": _TEXT, "title": _TEXT, "area": _TEXT,
    "start_date": {**_TEXT, "format": "date"}, "amount": {**_MONEY, "nullable": True}, "file": _TEXT, "sheet": _TEXT,
    "row": _INT})
_FLAG = _object({
    "id": {"type": "integer"}, "type": {"type": "string", "enum": list(FLAG_TYPES)},
    "status": {"type": "string", "enum": list(FLAG_STATUSES)}, "active": {"type": "boolean"}, "country": _TEXT,
    "fiscal_year": _INT, "explanation": {"type": "string"}, "evidence": {"nullable": True}, "decision": _TEXT,
    "comment": _TEXT, "gao_class": _TEXT, "effect": _TEXT, "decided_at": _TEXT, "version": {"type": "integer"},
    "records": {"type": "array", "items": _object({
        "kind": {"type": "string", "enum": ["obligation", "embassy_row"]}, "id": {"type": "integer"}, "file": _TEXT,
        "sheet": _TEXT, "row": _INT})}})
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def openapi_document() -> dict[str, Any]:
    """The API described as OpenAPI 3.0 (what tests/web/test_api_fuzz.py fuzzes every role against)."""
    def get(summary: str, parameters: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
        error = lambda text: {"description": text, "content": {"application/json": {"schema": _ERROR}}}  # noqa: E731
        return {"get": {"summary": summary, "parameters": parameters, "security": [{"session": []}],
                        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                                      "400": error("A parameter the API cannot use (the message names it)"),
                                      "401": error("Not signed in")}}}
    array = lambda item: {"type": "array", "items": item}  # noqa: E731
    groupings = "|".join(GROUPINGS)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Anti-Trafficking Funding Tracker API", "version": "1",
                 "description": "Read-only. Amounts are decimal strings in U.S. dollars. Scope follows the signed-in "
                                "user's role (an embassy officer sees only their post's countries)."},
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "paths": {
            "/api/obligations": get("Obligations with provenance", _FILTERS + _PAGE, array(_OBLIGATION)),
            "/api/reports": get("Embassy report rows with provenance", _FILTERS + _PAGE, array(_REPORT)),
            "/api/flags": get("Flags with their records", [
                _repeated("type", {"type": "string", "enum": list(FLAG_TYPES)}, "flag type (repeat for several)"),
                _repeated("status", {"type": "string", "enum": list(FLAG_STATUSES)}, "open or decided"),
                _COUNTRIES, _YEARS], array(_FLAG)),
            "/api/totals": get("Sums of obligations as recorded", [
                {"name": "by", "in": "query",
                 "schema": {"type": "string", "default": "fiscal_year,agency,country",
                            "pattern": f"^({groupings})(,({groupings}))*$"},
                 "description": "comma-separated: " + ", ".join(GROUPINGS)}, *_FILTERS],
                array({"type": "object", "required": ["amount"], "properties": {
                    "amount": _MONEY, "fiscal_year": {"type": "integer"}, "country": _TEXT, "region": _TEXT}})),
            "/api/coverage": get("Fiscal years each post reported", [],
                                 array(_object({"country": {"type": "string"},
                                                "fiscal_years": array({"type": "integer"})}))),
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI document (public: it describes, it holds no data)."""
    return _json(openapi_document())
