"""The SPOG review queue, a flag side by side with its evidence and decision history, and the
proposal check."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker.db import DatabaseBusy, begin_write, get_session
from tracker.flags import FlagError, QueueQuery, StaleFlag, decide_flag, flag_history, flag_records, review_queue
from tracker.models import DECISIONS, FLAG_TYPES, GAO_CLASSES, Agency, Country, Flag, Office, Program, User
from tracker.money import MoneyError, parse_money
from tracker.permissions import can_check_proposal, can_decide_flag, can_view_country, visible_countries
from tracker.proposals import Proposal, check_proposal
from tracker.reporting import country_names
from tracker.views import get_actor, options, require

bp = Blueprint("review", __name__)

DECISION_LABELS = {"confirmed": "Confirmed (a real problem)", "not_a_problem": "Not a problem (e.g. not a duplicate)",
                   "explained": "Explained", "follow_up": "Follow up"}
EFFECTS = ("no change", "funds redirected", "award modified", "award cancelled", "agencies coordinating",
           "records corrected", "post informed")


@bp.get("/flags")
@login_required
def queue() -> ResponseReturnValue:
    """Flags filtered by type, status, fiscal year, agency, country and program."""
    actor = get_actor()
    args = request.args
    query = QueueQuery(types=tuple(t for t in args.getlist("type") if t in FLAG_TYPES),
                       statuses=tuple(s for s in args.getlist("status") if s in ("open", "decided")) or
                       (() if args.get("status") == "" else ("open",)),
                       fiscal_years=tuple(int(y) for y in args.getlist("fy") if y.isdigit()),
                       countries=tuple(c for c in args.getlist("country") if c),
                       agencies=tuple(a for a in args.getlist("agency") if a),
                       programs=tuple(p for p in args.getlist("program") if p),
                       page=int(args["page"]) if args.get("page", "").isdigit() else 1)
    flags, total = review_queue(get_session(), query, visible_countries(actor))
    session = get_session()
    return render_template("review/queue.html", flags=flags, total=total, query=query, types=FLAG_TYPES,
                           pages=max(1, -(-total // query.per_page)), names=country_names(session),
                           agencies=session.exec(select(Agency.code).order_by(Agency.code)).all(),
                           programs=session.exec(select(Program)).all(),
                           args={k: args.getlist(k) for k in args if k != "page"})


class DecisionForm(FlaskForm):
    """A reviewer's decision."""

    decision = SelectField("Decision", choices=options([(d, DECISION_LABELS[d]) for d in DECISIONS]))
    gao_class = SelectField("GAO classification (duplicate funding)", validate_choice=False,
                            choices=options([("", "—")] + [(g, g.title()) for g in GAO_CLASSES]))
    effect = SelectField("Effect of the decision", validate_choice=False, choices=options([("", "—")] + [(e, e) for e in EFFECTS]))
    comment = TextAreaField("Comment", validators=[DataRequired(message="Say why."), Length(max=4000)])
    version = HiddenField()


def _load_flag(flag_id: int) -> Flag:
    flag = get_session().get(Flag, flag_id)
    if flag is None:
        abort(404)
    require(flag.country_code is None and visible_countries(get_actor()) is None
            or can_view_country(get_actor(), flag.country_code))
    return flag


@bp.route("/flags/<int:flag_id>", methods=["GET", "POST"])
@login_required
def flag(flag_id: int) -> ResponseReturnValue:
    """A flag: its records side by side with provenance, the evidence, the explanation, and the decision."""
    session = get_session()
    actor = get_actor()
    item = _load_flag(flag_id)
    allowed = can_decide_flag(actor, item.type, item.country_code)
    form = DecisionForm()
    if actor.role == "embassy":
        form.decision.choices = options([("explained", "Acknowledged: the post knows of it"), ("follow_up", "Follow up")])
        form.decision.label.text = "Acknowledge"
    status = 200
    if request.method == "POST":
        require(allowed)
        if form.validate_on_submit():
            # End this request's read snapshot: the decision reads and writes in a transaction of its
            # own (on SQLite a write transaction from its start, see begin_write).
            session.rollback()
            try:
                begin_write(session)
                user = session.get(User, actor.user_id)
                decide_flag(session, flag_id, decision=form.decision.data or "", comment=form.comment.data or "",
                            by=user, gao_class=form.gao_class.data or None, effect=form.effect.data or None,
                            expected_version=int(form.version.data or 0))
                session.commit()
            except (StaleFlag, DatabaseBusy) as exc:
                # Told, not overwritten: the page shows the flag as it is now, their comment kept.
                session.rollback()
                flash(str(exc), "error")
                status = 409 if isinstance(exc, StaleFlag) else 503
            except FlagError as exc:
                session.rollback()
                form.comment.errors.append(str(exc))  # type: ignore[attr-defined]
            else:
                flash("Decision recorded.", "success")
                return redirect(url_for("review.flag", flag_id=flag_id))
    form.version.data = str(item.version)
    history = flag_history(session, flag_id)
    deciders = {u.id: u.username for u in session.exec(select(User)).all()}
    return render_template("review/flag.html", flag=item, records=flag_records(session, flag_id), form=form,
                           history=history, deciders=deciders, can_decide=allowed,
                           country=session.get(Country, item.country_code) if item.country_code else None), \
        400 if form.errors else status


class ProposalForm(FlaskForm):
    """A proposed grant."""

    office_id = SelectField("Agency and office", coerce=int)
    country_code = SelectField("Country or place")
    implementer = StringField("Implementing partner", validators=[Optional(), Length(max=300)])
    purpose = StringField("Purpose", validators=[DataRequired(), Length(max=1000)])
    amount = StringField("Amount (U.S. dollars)", validators=[DataRequired(), Length(max=30)])
    fiscal_year = IntegerField("Fiscal year", validators=[DataRequired(), NumberRange(2000, 2035)])
    program_id = SelectField("Program", coerce=int)


@bp.route("/proposals/check", methods=["GET", "POST"])
@login_required
def proposal() -> ResponseReturnValue:
    """Before any money moves: existing funding, the embassy's awareness, open flags, ceiling left."""
    require(can_check_proposal(get_actor()))
    session = get_session()
    form = ProposalForm()
    offices = session.exec(select(Office, Agency).join(Agency, Agency.id == Office.agency_id)
                           .order_by(Agency.code, Office.code)).all()
    form.office_id.choices = options([(o.id, f"{a.code} — {o.name}") for o, a in offices])  # type: ignore[misc]
    form.country_code.choices = options([(c.code, c.name) for c in session.exec(
        select(Country).order_by(Country.kind, Country.name)).all()])
    form.program_id.choices = options([(0, "—")] + [(p.id, p.name) for p in session.exec(select(Program)).all()])  # type: ignore[misc]
    result = None
    if form.validate_on_submit():
        try:
            amount = parse_money(form.amount.data)
        except MoneyError as exc:
            form.amount.errors.append(str(exc))  # type: ignore[attr-defined]
        else:
            result = check_proposal(session, Proposal(
                office_id=form.office_id.data, country_code=form.country_code.data or "",  # type: ignore[arg-type]
                implementer=form.implementer.data or "", purpose=form.purpose.data or "", amount=amount,
                fiscal_year=form.fiscal_year.data or 0, program_id=form.program_id.data or None))
    return render_template("review/proposal.html", form=form, result=result, names=country_names(session)), \
        400 if form.errors else 200
