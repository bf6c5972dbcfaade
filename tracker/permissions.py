"""Who may see and do what: ``can_*`` predicates over a user and plain values, returning bools.

Views wrap them as ``require_*`` (which abort with 403). Roles (see DOMAIN.md):

* administrator: everything, users and reference data included;
* SPOG reviewer: sees everything, decides flags, uses the proposal check, exports;
* embassy officer: only the countries of their post(s): uploads their reports, sees what
  Washington records there, acknowledges unaware items with a note;
* agency staff: sees everything read-only, records and edits obligations and uploads files for
  their own agency (or office);
* budget analyst: sees everything read-only and exports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """What a signed-in user is allowed, in plain values (built once per request)."""

    user_id: int
    username: str
    role: str
    countries: frozenset[str] = frozenset()  # embassy officers' posts
    agency_id: int | None = None  # agency staff's agency
    office_id: int | None = None  # agency staff's office, when scoped to one

    @property
    def is_admin(self) -> bool:
        """An administrator."""
        return self.role == "admin"


def visible_countries(actor: Actor) -> frozenset[str] | None:
    """The countries whose data the actor may see; None means all."""
    return actor.countries if actor.role == "embassy" else None


def can_view_country(actor: Actor, country: str | None) -> bool:
    """Whether the actor may see data about a country or place."""
    allowed = visible_countries(actor)
    return allowed is None or (country is not None and country in allowed)


def can_view_all(actor: Actor) -> bool:
    """Whether the actor sees every country (totals, dashboards, exports of everything)."""
    return visible_countries(actor) is None


def can_export(actor: Actor) -> bool:
    """Whether the actor may download workbooks of the data they can see."""
    return actor.role in ("admin", "reviewer", "budget", "agency", "embassy")


def can_upload_embassy_report(actor: Actor, country: str) -> bool:
    """Whether the actor may upload a post's report for this country."""
    return actor.is_admin or (actor.role == "embassy" and country in actor.countries)


def can_upload_agency_file(actor: Actor, agency_id: int | None) -> bool:
    """Whether the actor may upload obligations for this agency."""
    return actor.is_admin or (actor.role == "agency" and agency_id is not None and agency_id == actor.agency_id)


def can_edit_obligation(actor: Actor, agency_id: int, office_id: int) -> bool:
    """Whether the actor may create or change an obligation of this agency and office."""
    if actor.is_admin:
        return True
    if actor.role != "agency" or actor.agency_id != agency_id:
        return False
    return actor.office_id is None or actor.office_id == office_id


def can_decide_flag(actor: Actor, flag_type: str, country: str | None) -> bool:
    """Reviewers decide every flag; an embassy officer acknowledges unaware funding in their country."""
    if actor.role in ("admin", "reviewer"):
        return True
    return actor.role == "embassy" and flag_type == "embassy_unaware" and country in actor.countries


def can_check_proposal(actor: Actor) -> bool:
    """Whether the actor may use the proposal check (it shows funding across all agencies)."""
    return actor.role in ("admin", "reviewer", "agency", "budget")


def can_administer(actor: Actor) -> bool:
    """Users, roles and reference data (aliases, programs, ceilings)."""
    return actor.is_admin


def can_view_submission(actor: Actor, source_kind: str, country: str | None, agency_id: int | None) -> bool:
    """Whether the actor may see an uploaded file's record (and its rows)."""
    if source_kind == "embassy":
        return can_view_country(actor, country)
    return actor.role != "embassy"


def filter_countries(actor: Actor, wanted: Iterable[str]) -> list[str]:
    """The requested countries the actor may see (all requested ones for unscoped actors)."""
    return [c for c in wanted if can_view_country(actor, c)]
