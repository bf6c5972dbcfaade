"""The access-control matrix: every route and action, by every role, with the answer expected.

The table below is written by hand from what each kind of user is for (DOMAIN.md's users: SPOG
reviewers see everything and decide flags; embassy officers see and report for their own post's
country only; budget staff see everything and export; agency staff see everything and record
obligations and upload files for their own agency; administrators do everything), not derived
from tracker/permissions.py, so a wrong permission in the app shows up as a difference here.

Columns: an anonymous visitor, then the users of tests/web/conftest.py: admin, reviewer, budget,
jakarta (embassy officer, Indonesia), tirana (embassy officer, Albania: "another country" for
Indonesian records), state (agency staff, DOS) and labor (agency staff, DOL).

Every cell is requested against the live app on the sample scenario, POSTs with a valid CSRF
token so the request reaches the permission check, and with harmless payloads (an empty form, a
wrong password, an unparseable ceiling): the database must be unchanged after every request
(audit entries aside). A separate test fails when the app has a route the table does not list.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select as sa_select
from sqlmodel import Session, SQLModel, select

from tests.web.conftest import PASSWORD, csrf_token
from tracker.models import Agency, Flag, Obligation, Office, Program, UploadJob, User

ACTORS = ("anonymous", "admin", "reviewer", "budget", "jakarta", "tirana", "state", "labor")

LOGIN = "-> /login"  # redirected to the sign-in page
DASH = "-> /dashboard"
ADMIN = "-> /admin/"
IDN_DOS = "-> /obligations/{idn_dos_obligation}"
ALB_DOL = "-> /obligations/{alb_dol_obligation}"
Expected = int | str


@dataclass(frozen=True)
class Row:
    """One route and action, and what each actor gets (in ACTORS order)."""

    method: str
    path: str  # with {placeholders} for the IDs picked from the loaded data
    endpoint: str
    answers: tuple[Expected, ...]
    form: tuple[tuple[str, str], ...] = ()  # POST fields besides the CSRF token


def row(method: str, path: str, endpoint: str, *answers: Expected, **form: str) -> Row:
    assert len(answers) == len(ACTORS), f"{method} {path}: {len(answers)} answers for {len(ACTORS)} actors"
    return Row(method, path, endpoint, answers, tuple(form.items()))


# fmt: off
#          method  path                                   endpoint              anonymous admin reviewer budget jakarta tirana state labor
MATRIX = [
    row("GET",  "/static/tracker.css",                  "static",               200,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/vendor/plotly.min.js",                "main.plotly_js",       200,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/healthz",                             "main.health",          200,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/login",                               "auth.login",           200,  200,  200,  200,  200,  200,  200,  200),
    row("POST", "/login",                               "auth.login",           401,  401,  401,  401,  401,  401,  401,  401,
        username="{nobody}", password="not the password"),
    row("GET",  "/",                                    "main.home",            LOGIN, DASH, DASH, DASH, "-> /post/IDN", "-> /post/ALB", DASH, DASH),
    row("GET",  "/dashboard",                           "dashboard.index",      LOGIN, 200,  200,  200,  200,  200,  200,  200),
    # Obligations: everyone signed in browses and exports what they may see; embassy officers their country only.
    row("GET",  "/obligations",                         "obligations.index",    LOGIN, 200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/obligations.xlsx",                    "obligations.export",   LOGIN, 200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/obligations/{idn_dos_obligation}",    "obligations.detail",   LOGIN, 200,  200,  200,  200,  403,  200,  200),
    row("GET",  "/obligations/{alb_dol_obligation}",    "obligations.detail",   LOGIN, 200,  200,  200,  403,  200,  200,  200),
    row("GET",  "/obligations/{bra_obligation}",        "obligations.detail",   LOGIN, 200,  200,  200,  403,  403,  200,  200),
    row("GET",  "/obligations/999999",                  "obligations.detail",   LOGIN, 404,  404,  404,  404,  404,  404,  404),
    # Recording and correcting: agency staff for their own agency, and administrators.
    row("GET",  "/obligations/new",                     "obligations.new",      LOGIN, 200,  403,  403,  403,  403,  200,  200),
    row("POST", "/obligations/new",                     "obligations.new",      LOGIN, 400,  403,  403,  403,  403,  400,  400),
    row("GET",  "/obligations/{idn_dos_obligation}/edit", "obligations.edit",   LOGIN, 200,  403,  403,  403,  403,  200,  403),
    row("POST", "/obligations/{idn_dos_obligation}/edit", "obligations.edit",   LOGIN, 400,  403,  403,  403,  403,  400,  403),
    row("GET",  "/obligations/{alb_dol_obligation}/edit", "obligations.edit",   LOGIN, 200,  403,  403,  403,  403,  403,  200),
    row("POST", "/obligations/{alb_dol_obligation}/edit", "obligations.edit",   LOGIN, 400,  403,  403,  403,  403,  403,  400),
    row("GET",  "/obligations/999999/edit",             "obligations.edit",     LOGIN, 404,  404,  404,  404,  404,  404,  404),
    # Deleting (no version sent: refused as stale once allowed, so nothing is deleted here).
    row("POST", "/obligations/{idn_dos_obligation}/delete", "obligations.delete", LOGIN, IDN_DOS, 403, 403, 403, 403, IDN_DOS, 403),
    row("POST", "/obligations/{alb_dol_obligation}/delete", "obligations.delete", LOGIN, ALB_DOL, 403, 403, 403, 403, 403, ALB_DOL),
    # Flags: reviewers decide; an embassy officer only acknowledges unaware funding in their country.
    row("GET",  "/flags",                               "review.queue",         LOGIN, 200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/flags/{idn_unaware_flag}",            "review.flag",          LOGIN, 200,  200,  200,  200,  403,  200,  200),
    row("POST", "/flags/{idn_unaware_flag}",            "review.flag",          LOGIN, 400,  400,  403,  400,  403,  403,  403),
    row("GET",  "/flags/{idn_other_flag}",              "review.flag",          LOGIN, 200,  200,  200,  200,  403,  200,  200),
    row("POST", "/flags/{idn_other_flag}",              "review.flag",          LOGIN, 400,  400,  403,  403,  403,  403,  403),
    row("GET",  "/flags/{alb_unaware_flag}",            "review.flag",          LOGIN, 200,  200,  200,  403,  200,  200,  200),
    row("POST", "/flags/{alb_unaware_flag}",            "review.flag",          LOGIN, 400,  400,  403,  403,  400,  403,  403),
    row("GET",  "/flags/{ind_flag}",                    "review.flag",          LOGIN, 200,  200,  200,  403,  403,  200,  200),
    row("GET",  "/flags/999999",                        "review.flag",          LOGIN, 404,  404,  404,  404,  404,  404,  404),
    # The proposal check shows funding across all agencies: not for embassy officers.
    row("GET",  "/proposals/check",                     "review.proposal",      LOGIN, 200,  200,  200,  403,  403,  200,  200),
    row("POST", "/proposals/check",                     "review.proposal",      LOGIN, 400,  400,  400,  403,  403,  400,  400),
    # Uploads: posts and agencies send files; an upload job is its uploader's (and administrators').
    row("GET",  "/upload",                              "uploads.new",          LOGIN, 200,  403,  403,  200,  200,  200,  200),
    row("POST", "/upload",                              "uploads.new",          LOGIN, 400,  403,  403,  400,  400,  400,  400),
    row("GET",  "/upload/{jakarta_job}",                "uploads.job",          LOGIN, 200,  403,  403,  200,  403,  403,  403),
    row("GET",  "/upload/{jakarta_job}/status",         "uploads.status",       LOGIN, 200,  403,  403,  200,  403,  403,  403),
    row("POST", "/upload/{jakarta_job}/commit",         "uploads.commit",       LOGIN, 409,  403,  403,  409,  403,  403,  403),
    row("GET",  "/upload/{state_job}",                  "uploads.job",          LOGIN, 200,  403,  403,  403,  403,  200,  403),
    row("POST", "/upload/{state_job}/commit",           "uploads.commit",       LOGIN, 409,  403,  403,  403,  403,  409,  403),
    row("GET",  "/upload/999999",                       "uploads.job",          LOGIN, 404,  404,  404,  404,  404,  404,  404),
    # A post's page and template: its own officer and everyone who sees all countries.
    row("GET",  "/post/IDN",                            "uploads.post",         LOGIN, 200,  200,  200,  200,  403,  200,  200),
    row("GET",  "/post/ALB",                            "uploads.post",         LOGIN, 200,  200,  200,  403,  200,  200,  200),
    row("GET",  "/post/BRA",                            "uploads.post",         LOGIN, 200,  200,  200,  403,  403,  200,  200),
    row("GET",  "/post/XXX",                            "uploads.post",         LOGIN, 404,  404,  404,  404,  404,  404,  404),
    row("GET",  "/post/IDN/template.xlsx",              "uploads.template",     LOGIN, 200,  200,  200,  200,  403,  200,  200),
    row("GET",  "/post/ALB/template.xlsx",              "uploads.template",     LOGIN, 200,  200,  200,  403,  200,  200,  200),
    # Administration: administrators only.
    row("GET",  "/admin/",                              "admin.index",          LOGIN, 200,  403,  403,  403,  403,  403,  403),
    row("POST", "/admin/",                              "admin.index",          LOGIN, 400,  403,  403,  403,  403,  403,  403),
    row("GET",  "/admin/audit",                         "admin.audit",          LOGIN, 200,  403,  403,  403,  403,  403,  403),
    row("GET",  "/admin/audit.csv",                     "admin.audit_csv",      LOGIN, 200,  403,  403,  403,  403,  403,  403),
    row("POST", "/admin/users/{admin_user}/active",     "admin.toggle_user",    LOGIN, ADMIN, 403, 403,  403,  403,  403,  403),
    row("POST", "/admin/aliases",                       "admin.add_alias",      LOGIN, ADMIN, 403, 403,  403,  403,  403,  403),
    row("POST", "/admin/programs/{program}/ceiling",    "admin.set_ceiling",    LOGIN, ADMIN, 403, 403,  403,  403,  403,  403,
        ceiling="not money"),
    row("POST", "/admin/demo",                          "admin.load_demo",      LOGIN, DASH, 403,  403,  403,  403,  403,  403),
    # The JSON API: 401 for scripts that are not signed in; scope as the pages.
    row("GET",  "/api/openapi.json",                    "api.openapi",          200,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/api/obligations",                     "api.obligations",      401,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/api/reports",                         "api.reports",          401,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/api/flags",                           "api.flags",            401,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/api/totals",                          "api.totals_view",      401,  200,  200,  200,  200,  200,  200,  200),
    row("GET",  "/api/coverage",                        "api.coverage",         401,  200,  200,  200,  200,  200,  200,  200),
    # Last: signing out ends the client's session.
    row("POST", "/logout",                              "auth.logout",          LOGIN, "-> /login", "-> /login", "-> /login",
        "-> /login", "-> /login", "-> /login", "-> /login"),
]
# fmt: on


def pick_ids(app: Flask) -> dict[str, Any]:
    """Concrete IDs for the table's placeholders, chosen from the sample scenario, plus one upload
    job each for the Jakarta officer and State staff (queued: committing it is refused with 409)."""
    with Session(app.extensions["tracker.engine"]) as session:
        def obligation(country: str, agency: str | None = None) -> int:
            query = select(Obligation.id).join(Office, Office.id == Obligation.office_id).join(
                Agency, Agency.id == Office.agency_id).where(Obligation.country_code == country)
            found = session.exec(query.where(Agency.code == agency) if agency else query).first()
            assert found, f"the sample scenario has no {agency or ''} obligation in {country}"
            return found

        def flag(country: str, unaware: bool) -> int:
            kind = Flag.type == "embassy_unaware" if unaware else Flag.type != "embassy_unaware"
            found = session.exec(select(Flag.id).where(Flag.country_code == country, kind)).first()
            assert found, f"the sample scenario has no such flag in {country}"
            return found

        users = {u.username: u.id for u in session.exec(select(User)).all()}
        jobs = {}
        for name, kind, country, agency in (("jakarta", "embassy", "IDN", None), ("state", "agency", None, "DOS")):
            job = UploadJob(user_id=users[f"t-{name}"], filename=f"{name}.xlsx", stored_path="/nonexistent.xlsx",
                            source_kind=kind, country_code=country, agency=agency, fiscal_years=[2007])
            session.add(job)
            session.commit()
            jobs[f"{name}_job"] = job.id
        return {"idn_dos_obligation": obligation("IDN", "DOS"), "alb_dol_obligation": obligation("ALB", "DOL"),
                "bra_obligation": obligation("BRA"), "idn_unaware_flag": flag("IDN", True),
                "idn_other_flag": flag("IDN", False), "alb_unaware_flag": flag("ALB", True),
                "ind_flag": session.exec(select(Flag.id).where(Flag.country_code == "IND")).first(),
                "admin_user": users["t-admin"],
                "program": session.exec(select(Program.id).where(Program.code == "PRES-50M")).one(), **jobs}


def fingerprint(app: Flask) -> dict[str, Any]:
    """What a refused or rejected request must leave as it was: every table's row count (the audit
    trail aside: refusals and failed sign-ins may be recorded) and the fields the table's POSTs
    would change (versions, active accounts, ceilings, job states)."""
    with Session(app.extensions["tracker.engine"]) as session:
        counts = {name: session.execute(sa_select(func.count()).select_from(table)).scalar_one()
                  for name, table in SQLModel.metadata.tables.items() if name not in ("audit_event",)}
        return {**counts,
                "obligations": session.exec(select(Obligation.id, Obligation.version).order_by(Obligation.id)).all(),
                "flags": session.exec(select(Flag.id, Flag.version, Flag.status).order_by(Flag.id)).all(),
                "users": session.exec(select(User.id, User.active).order_by(User.id)).all(),
                "ceilings": session.exec(select(Program.id, Program.ceiling).order_by(Program.id)).all(),
                "jobs": session.exec(select(UploadJob.id, UploadJob.state, UploadJob.phase).order_by(UploadJob.id)).all()}


def client_for(app: Flask, actor: str) -> tuple[FlaskClient, str]:
    """A client signed in as the actor (or not signed in), and its CSRF token."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    if actor != "anonymous":
        response = client.post("/login", data={"username": f"t-{actor}", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, f"t-{actor} could not sign in"
        token = csrf_token(client.get("/login").get_data(as_text=True))
    return client, token


def answer(response: Any) -> Expected:
    """A response as the table writes it: the status, or "-> path" for a redirect."""
    if response.status_code in (301, 302, 303):
        return "-> " + response.headers["Location"].split("?")[0]
    return response.status_code


def test_every_route_answers_every_actor_as_the_table_says(loaded: Flask) -> None:
    ids = pick_ids(loaded)
    before = fingerprint(loaded)
    wrong = []
    for column, actor in enumerate(ACTORS):
        client, token = client_for(loaded, actor)
        for line in MATRIX:
            path = line.path.format(**ids)
            if line.method == "GET":
                response = client.get(path)
            else:
                form = {name: value.format(nobody=f"nobody-{actor}") for name, value in line.form}
                response = client.post(path, data={**form, "csrf_token": token})
            got = answer(response)
            body = response.get_data()
            response.close()
            expected = line.answers[column]
            expected = expected.format(**ids) if isinstance(expected, str) else expected
            if got != expected:
                wrong.append(f"{actor:9} {line.method:4} {path}: expected {expected}, got {got}")
            elif expected == 200 and b"Traceback" in body:
                wrong.append(f"{actor:9} {line.method:4} {path}: a traceback in the page")
        after = fingerprint(loaded)
        changed = sorted(k for k in before if before[k] != after[k])
        if changed:
            wrong.append(f"{actor}'s requests changed stored data: {changed}")
            before = after
    assert not wrong, "\n".join(wrong)


def test_the_table_lists_every_route_and_method(loaded: Flask) -> None:
    """A route the table does not list (or a method of it) fails here: add it to MATRIX with the
    answer each actor should get."""
    routes = {(rule.endpoint, method) for rule in loaded.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(line.endpoint, line.method) for line in MATRIX}
    assert routes - listed == set(), "routes missing from the access matrix"
    assert listed - routes == set(), "the access matrix lists routes the app does not have"
    adapter = loaded.url_map.bind("localhost")
    ids = {name: 1 for name in re.findall(r"{(\w+)}", " ".join(line.path for line in MATRIX))}
    for line in MATRIX:  # each path really is the endpoint it claims to be
        assert adapter.match(line.path.format(**ids), method=line.method)[0] == line.endpoint, line


# --- object-level checks: the Jakarta officer and Albanian (or other countries') data ----------------


def test_an_embassy_officer_gets_no_data_of_another_country(loaded: Flask, sign_in: Callable[[str], FlaskClient]) -> None:
    ids = pick_ids(loaded)
    with Session(loaded.extensions["tracker.engine"]) as session:
        albanian = session.get(Obligation, ids["alb_dol_obligation"])
        albanian_flag = session.get(Flag, ids["alb_unaware_flag"])
        assert albanian is not None and albanian_flag is not None
        title, explanation = albanian.title, albanian_flag.explanation
    jakarta = sign_in("jakarta")
    for path in (f"/obligations/{albanian.id}", f"/obligations/{albanian.id}/edit", f"/flags/{albanian_flag.id}",
                 "/post/ALB", "/post/ALB/template.xlsx"):
        response = jakarta.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert title not in page and explanation[:60] not in page and "Albania" not in page, path

    # The API's lists hold Indonesia only, asked for Albania or not.
    for endpoint in ("obligations", "reports", "flags", "coverage"):
        listed = jakarta.get(f"/api/{endpoint}?limit=5000").get_json()
        assert listed and {item["country"] for item in listed} == {"IDN"}, endpoint
        if endpoint != "coverage":  # (coverage takes no filter)
            assert jakarta.get(f"/api/{endpoint}?country=ALB").get_json() == [], endpoint
    assert {r["country"] for r in jakarta.get("/api/totals?by=country").get_json()} == {"IDN"}
    everyone = sign_in("reviewer").get("/api/totals?by=fiscal_year&country=IDN").get_json()
    assert jakarta.get("/api/totals?by=fiscal_year").get_json() == everyone  # sums of Indonesia only
    assert jakarta.get("/api/totals?by=fiscal_year&country=ALB").get_json() == []

    # Pages listing many countries' data show Indonesia's only, even asked for Albania.
    browser = jakarta.get("/obligations?country=ALB").get_data(as_text=True)
    assert "0 records" in browser and title not in browser
    assert explanation[:60] not in jakarta.get("/flags?country=ALB&status=").get_data(as_text=True)
    assert title not in jakarta.get("/obligations?q=" + title.split()[0]).get_data(as_text=True)


def test_the_dashboard_shows_an_embassy_officer_only_their_country(loaded: Flask,
                                                                    sign_in: Callable[[str], FlaskClient]) -> None:
    """The initiative ledger lists hubs (Brazil, Moldova, ...): not for the Indonesian post."""
    reviewer_page = sign_in("reviewer").get("/dashboard").get_data(as_text=True)
    assert "Brazil" in reviewer_page and "Moldova" in reviewer_page  # the ledger's hubs, shown to reviewers
    page = sign_in("jakarta").get("/dashboard").get_data(as_text=True)
    for other in ("Brazil", "Moldova", "Albania", "Cambodia", "Mexico"):
        assert other not in page, other
    assert "Indonesia" in page


def test_agency_staff_cannot_upload_a_file_for_another_agency(loaded: Flask,
                                                              sign_in: Callable[[str], FlaskClient]) -> None:
    before = fingerprint(loaded)
    state = sign_in("state")
    token = csrf_token(state.get("/upload").get_data(as_text=True))
    def upload(agency: str) -> Any:
        data = {"csrf_token": token, "source": "agency", "agency": agency, "country": "IDN", "fiscal_years": "2007",
                "file": (io.BytesIO(b"Fiscal Year,Country\n2007,Indonesia\n"), "obligations.csv")}
        return state.post("/upload", data=data, content_type="multipart/form-data")

    for other in ("DOL", "Department of Labor", "DOJ/OPDAT"):
        assert upload(other).status_code == 403, other
    assert fingerprint(loaded) == before
    own = upload("DOS/INL")  # their own agency's office: accepted for checking
    assert own.status_code == 302 and own.headers["Location"].startswith("/upload/")


def test_an_embassy_officers_workbook_holds_only_their_country(sign_in: Callable[[str], FlaskClient]) -> None:
    """Every sheet of the export (obligations, summaries, flags, unaware, initiative ledger,
    coverage) as the Jakarta officer downloads it: nothing about another post's country."""
    from openpyxl import load_workbook

    def cells(client: FlaskClient) -> set[str]:
        response = client.get("/obligations.xlsx")
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return {str(value) for sheet in book.worksheets for values in sheet.iter_rows(values_only=True)
                for value in values if value is not None}

    others = {"ALB", "Albania", "BRA", "Brazil", "MDA", "Moldova", "KHM", "Cambodia", "MEX", "Mexico"}
    assert others <= cells(sign_in("budget"))  # the budget analyst's workbook has them all
    found = cells(sign_in("jakarta"))
    assert "IDN" in found and not others & found, sorted(others & found)


def test_agency_staff_cannot_record_another_agencys_obligations_through_a_file(
        loaded: Flask, sign_in: Callable[[str], FlaskClient], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The form offers State staff only State's offices; a file whose row names a Labor office is
    refused at that cell, and nothing is stored (Labor's own staff may send the same file)."""
    from tests.workbooks import AGENCY_HEADERS, write_xlsx

    title = "Child labor survey in Indonesia (access test)"
    path = write_xlsx(tmp_path / "obligations.xlsx", [AGENCY_HEADERS, [
        2007, "DOL/ILAB", "Indonesia", "ILO", title, "Prevention", "X-1", date(2007, 1, 13), 12345]])

    def send(name: str) -> tuple[FlaskClient, str, str]:
        client = sign_in(name)
        token = csrf_token(client.get("/upload").get_data(as_text=True))
        response = client.post("/upload", content_type="multipart/form-data", data={
            "csrf_token": token, "source": "agency", "agency": "", "country": "IDN", "fiscal_years": "2007",
            "file": (io.BytesIO(path.read_bytes()), "obligations.xlsx")})
        assert response.status_code == 302
        return client, response.headers["Location"], token

    def stored() -> list[str]:
        with Session(loaded.extensions["tracker.engine"]) as session:
            return list(session.exec(select(Agency.code).join(Office, Office.agency_id == Agency.id)
                                     .join(Obligation, Obligation.office_id == Office.id)
                                     .where(Obligation.title == title)).all())

    state, job, token = send("state")
    page = re.sub(r"\s+", " ", state.get(job).get_data(as_text=True))
    assert "names DOL; you record obligations for DOS only" in page and "B (Bureau/Office)" in page
    assert state.post(f"{job}/commit", data={"csrf_token": token}).status_code == 409
    assert stored() == []

    labor, job, token = send("labor")
    assert labor.post(f"{job}/commit", data={"csrf_token": token}).status_code == 302
    assert stored() == ["DOL"]
