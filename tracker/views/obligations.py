"""The obligations browser (filters and facets in the query string), a record with its
provenance and flags, and the forms agency staff use to record and correct obligations."""

from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tracker.db import get_session
from tracker.models import (
    AREAS,
    OBLIGATION_STATUSES,
    Agency,
    AuditEvent,
    Country,
    FlagRecord,
    Flag,
    Obligation,
    Office,
    Program,
    Submission,
    User,
)
from tracker.exporting import budget_workbook
from tracker.permissions import can_edit_obligation, can_export, can_view_country, visible_countries
from tracker.reconcile import reconcile
from tracker.records import (ObligationIn, RecordError, StaleRecord, create_obligation, delete_obligation,
                             update_obligation)
from tracker.reporting import BrowseQuery, browse_obligations, country_names
from tracker.views import get_actor, options, require

bp = Blueprint("obligations", __name__)


def browse_query() -> BrowseQuery:
    """Read the browser's state from the query string, once."""
    args = request.args
    ints = lambda name: [int(v) for v in args.getlist(name) if v.isdigit()]  # noqa: E731
    return BrowseQuery(fiscal_years=ints("fy"), agencies=[a for a in args.getlist("agency") if a],
                       offices=ints("office"), countries=[c for c in args.getlist("country") if c],
                       programs=[p for p in args.getlist("program") if p], implementers=ints("implementer"),
                       flag_status=args.get("flags") if args.get("flags") in ("open", "any", "none") else None,
                       search=(args.get("q") or "").strip()[:100] or None, sort=args.get("sort", "-fiscal_year"),
                       all_facets=args.get("facets") == "all",
                       page=max(1, int(args.get("page", "1")) if args.get("page", "1").isdigit() else 1))


@bp.get("/obligations")
@login_required
def index() -> ResponseReturnValue:
    """Filter, facet, sort and page the obligations the user may see."""
    actor = get_actor()
    query = browse_query()
    result = browse_obligations(get_session(), query, visible_countries(actor))
    pages = max(1, -(-result["total"] // query.per_page))
    args = {k: request.args.getlist(k) for k in request.args if k != "page"}
    return render_template("obligations/index.html", query=query, result=result, pages=pages, args=args,
                           description=query.describe(country_names(get_session())))


@bp.get("/obligations.xlsx")
@login_required
def export() -> ResponseReturnValue:
    """The budget workbook for exactly what the browser (or the dashboard) is filtered to."""
    actor = get_actor()
    require(can_export(actor))
    buffer = io.BytesIO()
    budget_workbook(get_session(), browse_query(), buffer, allowed=visible_countries(actor), by=actor.username)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"tracker-{datetime.now():%Y-%m-%d-%H%M}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _toggle(args: dict[str, list[str]], name: str, value: str) -> dict[str, list[str]]:
    current = args.get(name, [])
    chosen = [v for v in current if v != value] if value in current else [*current, value]
    return {**args, name: chosen}


@bp.app_template_global("toggle_url")
def toggle_url(name: str, value: object) -> str:
    """The browser's address with one facet value switched on or off."""
    args = {k: request.args.getlist(k) for k in request.args if k != "page"}
    return url_for("obligations.index", **_toggle(args, name, str(value)))


def _load(obligation_id: int) -> Obligation:
    obligation = get_session().get(Obligation, obligation_id)
    if obligation is None:
        abort(404)
    require(can_view_country(get_actor(), obligation.country_code))
    return obligation


@bp.get("/obligations/<int:obligation_id>")
@login_required
def detail(obligation_id: int) -> ResponseReturnValue:
    """One obligation with where it came from, its flags and its change history."""
    session = get_session()
    obligation = _load(obligation_id)
    office = session.get(Office, obligation.office_id)
    agency = session.get(Agency, office.agency_id)  # type: ignore[union-attr]
    submission = session.get(Submission, obligation.submission_id) if obligation.submission_id else None
    uploader = session.get(User, submission.uploaded_by_id) if submission and submission.uploaded_by_id else None
    flags = session.exec(select(Flag).join(FlagRecord, FlagRecord.flag_id == Flag.id)
                         .where(FlagRecord.obligation_id == obligation_id, Flag.active == True)).all()  # noqa: E712
    history = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "obligation",
                                                    AuditEvent.entity_id == str(obligation_id))
                           .order_by(AuditEvent.at)).all()
    return render_template("obligations/detail.html", o=obligation, office=office, agency=agency, submission=submission,
                           uploader=uploader, flags=flags, history=history,
                           country=session.get(Country, obligation.country_code),
                           program=session.get(Program, obligation.program_id) if obligation.program_id else None,
                           can_edit=can_edit_obligation(get_actor(), agency.id, office.id))  # type: ignore[union-attr,arg-type]


class ObligationForm(FlaskForm):
    """An obligation, as agency staff type it."""

    fiscal_year = StringField("Fiscal year", validators=[DataRequired(), Length(max=12)],
                              description="2007, FY2007 or 2006-07")
    office_id = SelectField("Agency and office", coerce=int)
    country_code = SelectField("Country or place")
    implementer = StringField("Implementing partner", validators=[Optional(), Length(max=300)])
    title = StringField("Program title", validators=[DataRequired(), Length(max=1000)])
    area = SelectField("Area (three Ps)", choices=options([("", "—")] + [(a, a.title()) for a in AREAS]))
    award_number = StringField("Award number", validators=[Optional(), Length(max=100)])
    obligation_date = DateField("Obligation date", validators=[Optional()])
    amount = StringField("Amount (U.S. dollars)", validators=[DataRequired(), Length(max=30)],
                         description="$1,250,000, 1.25M or (25,000) for a de-obligation")
    status = SelectField("Status", choices=options([(s, s) for s in OBLIGATION_STATUSES]))
    program_id = SelectField("Program", coerce=int)
    version = HiddenField()


def _choices(form: ObligationForm) -> None:
    session = get_session()
    actor = get_actor()
    offices = session.exec(select(Office, Agency).join(Agency, Agency.id == Office.agency_id)
                           .order_by(Agency.code, Office.code)).all()
    form.office_id.choices = options([(o.id, f"{a.code} — {o.name}") for o, a in offices
                              if can_edit_obligation(actor, a.id, o.id)])  # type: ignore[arg-type]
    form.country_code.choices = options([(c.code, f"{c.name} ({c.code})") for c in
                                 session.exec(select(Country).order_by(Country.kind, Country.name)).all()])
    form.program_id.choices = options([(0, "—")] + [(p.id, p.name) for p in session.exec(select(Program)).all()])  # type: ignore[misc]


def _save(obligation: Obligation | None) -> ResponseReturnValue:
    session = get_session()
    actor = get_actor()
    # The stored record fills the form to show it; a submitted form is read alone (a field left out
    # of it is missing, not silently the stored value, which would also fail the text validators).
    form = ObligationForm(obj=obligation if request.method == "GET" else None)
    _choices(form)
    require(bool(form.office_id.choices))
    if obligation is not None and request.method == "GET":
        form.implementer.data = obligation.implementer_name
        form.amount.data = str(obligation.amount)
        form.version.data = str(obligation.version)
        form.program_id.data = obligation.program_id or 0
    if form.validate_on_submit():
        data = ObligationIn(fiscal_year=form.fiscal_year.data or "", office_id=form.office_id.data,  # type: ignore[arg-type]
                            country_code=form.country_code.data or "", implementer=form.implementer.data or "",
                            title=form.title.data or "", amount=form.amount.data or "", area=form.area.data or None,
                            award_number=form.award_number.data, obligation_date=form.obligation_date.data,
                            status=form.status.data or "obligated", program_id=form.program_id.data or None)
        try:
            if obligation is None:
                saved = create_obligation(session, data, user_id=actor.user_id, actor=actor.username)
                blocks = {(saved.country_code, saved.fiscal_year)}
            else:
                blocks = {(obligation.country_code, obligation.fiscal_year)}
                saved = update_obligation(session, obligation, data, user_id=actor.user_id, actor=actor.username,
                                          expected_version=int(form.version.data or 0))
                blocks.add((saved.country_code, saved.fiscal_year))
            session.commit()
            reconcile(session, blocks, actor=actor.username)
            session.commit()
        except RecordError as exc:
            session.rollback()
            for name, message in exc.problems.items():
                field = getattr(form, name, None)
                if field is None:  # about the record as a whole, not one field
                    flash(message, "error")
                    form.form_errors.append(message)
                else:
                    field.errors.append(message)
        except StaleRecord as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            flash("Obligation saved.", "success")
            return redirect(url_for("obligations.detail", obligation_id=saved.id))
    return render_template("obligations/form.html", form=form, obligation=obligation), 400 if form.errors else 200


@bp.route("/obligations/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Record an obligation (agency staff, for their agency)."""
    require(get_actor().role in ("agency", "admin"))
    return _save(None)


@bp.route("/obligations/<int:obligation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(obligation_id: int) -> ResponseReturnValue:
    """Correct an obligation (agency staff of its agency); every change is audited."""
    obligation = _load(obligation_id)
    office = get_session().get(Office, obligation.office_id)
    require(can_edit_obligation(get_actor(), office.agency_id, office.id))  # type: ignore[union-attr,arg-type]
    return _save(obligation)


@bp.post("/obligations/<int:obligation_id>/delete")
@login_required
def delete(obligation_id: int) -> ResponseReturnValue:
    """Delete an obligation (agency staff of its agency): kept, no longer counted, audited."""
    session = get_session()
    actor = get_actor()
    obligation = _load(obligation_id)
    office = session.get(Office, obligation.office_id)
    require(can_edit_obligation(actor, office.agency_id, office.id))  # type: ignore[union-attr,arg-type]
    version = request.form.get("version", "")
    try:
        delete_obligation(session, obligation, user_id=actor.user_id, actor=actor.username,
                          expected_version=int(version) if version.isdigit() else -1,
                          reason=request.form.get("reason", ""))
        session.commit()
        reconcile(session, {(obligation.country_code, obligation.fiscal_year)}, actor=actor.username)
        session.commit()
    except (RecordError, StaleRecord) as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash("Obligation deleted; it is kept in the history and no longer counts.", "success")
    return redirect(url_for("obligations.detail", obligation_id=obligation_id))

