"""Administration: users (roles and scope) and reference data (aliases, programs and ceilings),
and loading the sample scenario kept in imports/."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tracker.audit import AuditQuery, list_events, record_event, write_events_csv
from tracker.db import get_session
from tracker.lookups import NameLookupError
from tracker.models import (ROLES, Agency, AgencyAlias, AuditEvent, Country, CountryAlias, Implementer, ImplementerAlias,
                            Office, OfficeAlias, Program, User, UserCountry)
from tracker.money import MoneyError, parse_money
from tracker.permissions import can_administer
from tracker.textnorm import normalize_key
from tracker.users import UserError, create_user, generate_password
from tracker.views import get_actor, options, require

bp = Blueprint("admin", __name__, url_prefix="/admin")

ALIAS_KINDS = {"country": (CountryAlias, "country_code", Country, "code"), "office": (OfficeAlias, "office_id", Office, "id"),
               "agency": (AgencyAlias, "agency_id", Agency, "id"), "implementer": (ImplementerAlias, "implementer_id", Implementer, "id")}


@bp.before_request
@login_required
def _only_administrators() -> None:
    require(can_administer(get_actor()))


class UserForm(FlaskForm):
    """A new user."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    full_name = StringField("Full name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=options([(r, r) for r in ROLES]))
    countries = SelectMultipleField("Countries (embassy officers)")
    agency = StringField("Agency or office (agency staff), e.g. DOS/INL", validators=[Optional(), Length(max=60)])
    password = PasswordField("Password (leave empty to generate one)", validators=[Optional(), Length(min=12, max=200)])


class AliasForm(FlaskForm):
    """A new alias: text people write, and what it means."""

    kind = SelectField("For", choices=options([(k, k) for k in ALIAS_KINDS]))
    alias = StringField("Text as people write it", validators=[DataRequired(), Length(max=200)])
    target = StringField("Means (country code, office id, agency id or implementer id)", validators=[DataRequired(), Length(max=40)])


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """Users and reference data."""
    session = get_session()
    actor = get_actor()
    form = UserForm(prefix="user")
    form.countries.choices = options([(c.code, f"{c.name} ({c.code})") for c in
                              session.exec(select(Country).where(Country.kind == "country").order_by(Country.name)).all()])
    if form.validate_on_submit():
        password = form.password.data or generate_password()
        try:
            create_user(session, username=form.username.data or "", role=form.role.data or "", password=password,
                        countries=form.countries.data or [], agency=form.agency.data or None,
                        full_name=form.full_name.data or None, actor=actor.username)
            session.commit()
        except (UserError, NameLookupError) as exc:
            session.rollback()
            form.username.errors.append(str(exc))  # type: ignore[attr-defined]
        else:
            flash(f"User {form.username.data} created" + ("" if form.password.data else f"; password: {password}"), "success")
            return redirect(url_for("admin.index"))
    users = session.exec(select(User).order_by(User.username)).all()
    scopes = {}
    for user in users:
        scopes[user.id] = ", ".join(session.exec(select(UserCountry.country_code).where(UserCountry.user_id == user.id)).all())
    programs = session.exec(select(Program)).all()
    return render_template("admin/index.html", form=form, users=users, scopes=scopes, programs=programs,
                           alias_form=AliasForm(prefix="alias"),
                           events=session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(30)).all()), \
        400 if form.errors else 200  # type: ignore[union-attr]


@bp.post("/users/<int:user_id>/active")
def toggle_user(user_id: int) -> ResponseReturnValue:
    """Switch an account off (or on again)."""
    session = get_session()
    user = session.get(User, user_id)
    if user is not None and user.id != get_actor().user_id:
        user.active = not user.active
        record_event(session, action="user.update", actor=get_actor().username, user_id=get_actor().user_id,
                     entity_type="user", entity_id=user.id, before={"active": not user.active},
                     after={"active": user.active},
                     summary=f"{'switched on' if user.active else 'switched off'} the account of {user.username}")
        session.commit()
        flash(f"{user.username} is now {'active' if user.active else 'inactive'}.", "success")
    return redirect(url_for("admin.index"))


@bp.post("/aliases")
def add_alias() -> ResponseReturnValue:
    """Teach the tracker a name people write (an unknown country, office or implementer)."""
    session = get_session()
    form = AliasForm(prefix="alias")
    if form.validate_on_submit():
        model, column, target_model, key = ALIAS_KINDS[form.kind.data or "country"]
        target = form.target.data.strip().upper() if key == "code" else form.target.data.strip()
        value = target if key == "code" else int(target) if target.isdigit() else None
        alias_key = normalize_key(form.alias.data or "")
        if value is None or session.get(target_model, value) is None:
            flash(f"There is no {form.kind.data} {form.target.data}.", "error")
        elif session.exec(select(model).where(model.key == alias_key)).first():  # type: ignore[attr-defined]
            flash(f"“{form.alias.data}” already means something.", "error")
        else:
            session.add(model(alias=form.alias.data, key=alias_key, **{column: value}))
            record_event(session, action="alias.create", actor=get_actor().username, user_id=get_actor().user_id,
                         entity_type=model.__tablename__, after={"alias": form.alias.data, column: value})  # type: ignore[attr-defined]
            session.commit()
            flash(f"“{form.alias.data}” added.", "success")
    return redirect(url_for("admin.index"))


@bp.post("/programs/<int:program_id>/ceiling")
def set_ceiling(program_id: int) -> ResponseReturnValue:
    """Change a program's ceiling (audited)."""
    session = get_session()
    program = session.get(Program, program_id)
    try:
        ceiling = parse_money(request.form.get("ceiling", "")) if request.form.get("ceiling") else None
    except MoneyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"))
    if program is not None:
        record_event(session, action="program.update", actor=get_actor().username, user_id=get_actor().user_id,
                     entity_type="program", entity_id=program.id, before={"ceiling": str(program.ceiling)},
                     after={"ceiling": str(ceiling)})
        program.ceiling = ceiling
        session.commit()
        from tracker.reconcile import reconcile

        reconcile(session, set(), actor=get_actor().username)  # ceilings are program-wide
        session.commit()
        flash("Ceiling saved.", "success")
    return redirect(url_for("admin.index"))


def _audit_query() -> AuditQuery:
    """The audit page's filters, from the query string (dates are UTC days, both included)."""
    args = request.args

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(args.get(name, "").strip()) if args.get(name, "").strip() else None
        except ValueError:
            flash(f"{name}: {args.get(name)!r} is not a date (YYYY-MM-DD); ignored.", "error")
            return None

    since, until = day("since"), day("until")
    page = args.get("page", "1")
    return AuditQuery(actor=args.get("actor", "").strip()[:100] or None, action=args.get("action", "").strip()[:40] or None,
                      entity_type=args.get("entity_type", "").strip()[:40] or None,
                      entity_id=args.get("entity_id", "").strip()[:40] or None,
                      since=datetime.combine(since, time(), timezone.utc) if since else None,
                      until=datetime.combine(until + timedelta(days=1), time(), timezone.utc) if until else None,
                      page=int(page) if page.isdigit() and int(page) > 0 else 1)


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """The audit trail, newest first, filtered by actor, action, record and dates, a page at a time."""
    query = _audit_query()
    session = get_session()
    events, total = list_events(session, query)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    actions = session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template("admin/audit.html", events=events, total=total, query=query, args=args, actions=actions,
                           pages=max(1, -(-total // query.per_page)))


@bp.get("/audit.csv")
def audit_csv() -> ResponseReturnValue:
    """The filtered audit trail as CSV (every page), with formula-like text neutralised."""
    query = _audit_query()
    buffer = io.StringIO()
    count = write_events_csv(get_session(), query, buffer)
    record_event(get_session(), action="audit.export", actor=get_actor().username, user_id=get_actor().user_id,
                 summary=f"exported {count} audit events",
                 after={k: v for k, v in request.args.items() if v})
    get_session().commit()
    data = io.BytesIO(buffer.getvalue().encode("utf-8-sig"))  # with a BOM, Excel reads it as UTF-8
    return send_file(data, as_attachment=True, mimetype="text/csv",
                     download_name=f"tracker-audit-{datetime.now(timezone.utc):%Y-%m-%d-%H%M}.csv")


@bp.post("/demo")
def load_demo() -> ResponseReturnValue:
    """Load the sample scenario kept in imports/ (every journey then has real-looking data)."""
    from tracker.demo import load_demo as load

    report = load(current_app._get_current_object(), actor=get_actor().username)  # type: ignore[attr-defined]
    flash(report, "success")
    return redirect(url_for("dashboard.index"))
