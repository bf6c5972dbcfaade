"""The upload journey (template, upload, background check with progress, preview with issues at
their cells, commit) and a post's own page: what Washington records there against what the post
reported."""

from __future__ import annotations

import os
import uuid

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlmodel import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from tracker import jobs
from tracker.db import get_session
from tracker.exporting import embassy_template
from tracker.fiscal import FiscalYearError, parse_fiscal_year_set
from tracker.flags import FlagFilters, list_flags
from tracker.importing.cells import RejectedFile
from tracker.importing.sniff import check_filename
from tracker.models import Country, ReportMatch, Submission, UploadJob, User, utcnow
from tracker.permissions import can_upload_agency_file, can_upload_embassy_report, can_view_country
from tracker.reconcile import awareness, covered_blocks
from tracker.reporting import country_names, list_obligations, list_reports, RecordFilters
from tracker.views import get_actor, options, require

bp = Blueprint("uploads", __name__)


class UploadForm(FlaskForm):
    """A file, what it is and what it covers."""

    file = FileField("Spreadsheet (.xlsx, .xlsm, .xls, .ods or .csv)", validators=[FileRequired("Choose a file.")])
    source = SelectField("What the file is", choices=options([("embassy", "The post's report"), ("agency", "Agency obligations")]))
    country = SelectField("Post's country")
    agency = StringField("Agency (and office)", validators=[Length(max=60)])
    fiscal_years = StringField("Fiscal years the report covers", validators=[DataRequired(), Length(max=40)],
                               description="e.g. 2005-2007 or 2007; a covered year with no row means the post knows of nothing that year")


def _form() -> UploadForm:
    actor = get_actor()
    form = UploadForm()
    names = country_names(get_session())
    countries = sorted(actor.countries) if actor.role == "embassy" else \
        [c.code for c in get_session().exec(select(Country).where(Country.kind == "country").order_by(Country.name)).all()]
    form.country.choices = options([(c, f"{names.get(c, c)} ({c})") for c in countries])
    if actor.role == "embassy":
        form.source.choices = options([("embassy", "The post's report")])
    elif actor.role == "agency":
        form.source.choices = options([("agency", "Agency obligations")])
        form.fiscal_years.validators = []
    return form


@bp.route("/upload", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Upload a spreadsheet; it is checked in the background, then shown for review before it commits."""
    actor = get_actor()
    require(actor.role in ("embassy", "agency", "admin"))
    form = _form()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            check_filename(upload.filename or "")
            years = parse_fiscal_year_set(form.fiscal_years.data) if form.fiscal_years.data else None
        except RejectedFile as exc:
            form.file.errors.append(str(exc))  # type: ignore[attr-defined]
        except FiscalYearError as exc:
            form.fiscal_years.errors.append(str(exc))  # type: ignore[attr-defined]
        else:
            return _start(form, upload, years)
    status = 400 if form.errors else 200
    return render_template("uploads/new.html", form=form), status


def _start(form: UploadForm, upload, years: list[int] | None) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    actor = get_actor()
    session = get_session()
    source = form.source.data
    agency = form.agency.data or None
    if source == "embassy":
        require(can_upload_embassy_report(actor, form.country.data or ""))
    elif actor.role == "agency":
        from tracker.models import Agency

        agency = agency or session.get(Agency, actor.agency_id).code  # type: ignore[union-attr]
        require(can_upload_agency_file(actor, _named_agency(agency) or actor.agency_id))
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    extension = os.path.splitext(upload.filename or "")[1].lower()
    stored = os.path.join(folder, f"{uuid.uuid4().hex}{extension}")  # never the client's path
    upload.save(stored)
    display = os.path.basename((upload.filename or "upload").replace("\\", "/")).replace("\x00", "")
    if len(display) > 200:  # shortened for display, keeping the extension the file is read by
        stem, ext = os.path.splitext(display)
        display = stem[: 199 - len(ext[:20])] + "…" + ext[:20]
    job = UploadJob(user_id=actor.user_id, filename=display, stored_path=stored, source_kind=source,
                    country_code=form.country.data if source == "embassy" else None, agency=agency,
                    fiscal_years=years)
    session.add(job)
    session.commit()
    jobs.start(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return redirect(url_for("uploads.job", job_id=job.id))


def _named_agency(text: str) -> int | None:
    """The agency an upload's agency text names (None when it names none: the import then rejects
    the file with the reason), so agency staff cannot send a file as another agency."""
    from tracker.lookups import NameLookupError
    from tracker.offices import OfficeResolver

    try:
        return OfficeResolver(get_session()).resolve(text).agency_id
    except NameLookupError:
        return None


def _load_job(job_id: int) -> UploadJob:
    job = get_session().get(UploadJob, job_id)
    if job is None:
        abort(404)
    actor = get_actor()
    require(actor.is_admin or job.user_id == actor.user_id)
    return job


@bp.get("/upload/<int:job_id>")
@login_required
def job(job_id: int) -> ResponseReturnValue:
    """Progress while the file is read; then the preview (or the outcome of the commit)."""
    item = _load_job(job_id)
    if item.state in ("queued", "running"):
        return render_template("uploads/progress.html", job=item)
    issues = {}
    for kind in ("errors", "warnings"):
        for issue in (item.result or {}).get(kind, []):
            issues[(issue["sheet"], issue["row"], issue["column"])] = kind
    # A refused file answers 422 (the upload could not be used), so scripts and the browser's
    # history see a failure, not a success page that happens to list errors.
    code = 422 if (item.result or {}).get("status") == "rejected" else 200
    return render_template("uploads/result.html", job=item, result=item.result or {}, preview=item.preview or {},
                           issues=issues, letters=[_letter(i) for i in range(120)]), code


def _letter(index: int) -> str:
    from tracker.importing.cells import column_letter

    return column_letter(index)


@bp.get("/upload/<int:job_id>/status")
@login_required
def status(job_id: int) -> ResponseReturnValue:
    """How far a job has got, for the progress page's script."""
    item = _load_job(job_id)
    done, total = jobs.progress(job_id) or (0, None)
    message = {"queued": "Waiting to start…", "running": f"Reading the file: {done:,} rows so far…",
               "done": "Done.", "failed": "The file could not be processed."}[item.state]
    return jsonify(state=item.state, done=done, total=total, message=message,
                   next=url_for("uploads.job", job_id=job_id))


@bp.post("/upload/<int:job_id>/commit")
@login_required
def commit(job_id: int) -> ResponseReturnValue:
    """Store a checked file (it is read again and committed whole, or not at all)."""
    item = _load_job(job_id)
    if item.phase != "preview" or item.state != "done" or (item.result or {}).get("status") != "dry-run":
        abort(409)
    session = get_session()
    item.phase, item.state, item.updated_at = "commit", "queued", utcnow()
    session.commit()
    jobs.start(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
    return redirect(url_for("uploads.job", job_id=job_id))


@bp.get("/post/<country>")
@login_required
def post(country: str) -> ResponseReturnValue:
    """What Washington records for a country against what its post reported."""
    actor = get_actor()
    session = get_session()
    place = session.get(Country, country)
    if place is None:
        abort(404)
    require(can_view_country(actor, country))
    flags = {kind: list_flags(session, FlagFilters(types=(kind,), countries=(country,)))
             for kind in ("embassy_unaware", "not_in_agency_records", "amount_mismatch")}
    matches = session.exec(select(ReportMatch).where(ReportMatch.country_code == country)
                           .order_by(ReportMatch.fiscal_year, ReportMatch.id)).all()
    reports = {r["id"]: r for r in list_reports(session, RecordFilters(countries=[country]))}
    obligations = {r["id"]: r for r in list_obligations(session, RecordFilters(countries=[country]))}
    submissions = session.exec(select(Submission).where(Submission.country_code == country,
                                                        Submission.source_kind == "embassy")
                               .order_by(Submission.uploaded_at.desc())).all()  # type: ignore[attr-defined]
    uploaders = {u.id: u.username for u in session.exec(select(User)).all()}
    return render_template("uploads/post.html", place=place, flags=flags, matches=matches, reports=reports,
                           obligations=obligations, submissions=submissions, uploaders=uploaders,
                           metrics=awareness(session, country),
                           covered=sorted(y for c, y in covered_blocks(session) if c == country),
                           can_upload=can_upload_embassy_report(actor, country))


@bp.get("/post/<country>/template.xlsx")
@login_required
def template(country: str) -> ResponseReturnValue:
    """The post's report template, pre-filled with its current rows."""
    require(can_view_country(get_actor(), country))
    session = get_session()
    if session.get(Country, country) is None:
        abort(404)
    years = [int(y) for y in request.args.getlist("fy") if y.isdigit()] or list(range(2003, 2011))
    import io

    data = embassy_template(session, country, years)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{country}-anti-TIP-report.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
