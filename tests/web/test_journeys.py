"""The web journeys through the test client: pages by role and scope, forms, uploads, decisions."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from tests.web.conftest import csrf_token
from tests.workbooks import EMBASSY_HEADERS, embassy_rows, write_xlsx
from tracker.models import AuditEvent, Flag, Obligation, Submission
from tracker.reporting import totals


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["admin", "reviewer", "budget", "jakarta", "state"])
@pytest.mark.parametrize("path", ["/", "/dashboard", "/obligations", "/flags", "/api/totals", "/api/openapi.json"])
def test_every_role_reaches_the_common_pages(sign_in, role: str, path: str) -> None:
    response = sign_in(role).get(path, follow_redirects=True)
    assert response.status_code == 200
    assert "Traceback" not in response.get_data(as_text=True)


def test_dashboard_numbers_equal_the_totals_command(sign_in, loaded, session: Session) -> None:
    page = text(sign_in("budget").get("/dashboard"))
    grand = sum((r["amount"] for r in totals(session, ["country"])), Decimal("0.00"))
    assert f"${grand:,.2f}" in page
    for row in totals(session, ["fiscal_year", "agency"]):
        assert f"FY{row['fiscal_year']}</td><td>{row['agency']}</td><td class=\"num\">${row['amount']:,.2f}" in page.replace("> <", "><")
    assert "Kosovo" in page  # listed beside the map, which cannot draw it
    assert 'script type="application/json" data-chart="chart-map"' in page


def test_an_embassy_officer_sees_only_their_country(sign_in, session: Session) -> None:
    client = sign_in("jakarta")
    assert client.get("/post/ALB").status_code == 403
    assert client.get("/post/IDN").status_code == 200
    listed = client.get("/api/obligations?limit=5000").get_json()
    assert listed and {r["country"] for r in listed} == {"IDN"}
    assert client.get("/api/obligations?country=ALB").get_json() == []
    albania = session.exec(select(Obligation).where(Obligation.country_code == "ALB")).first()
    assert client.get(f"/obligations/{albania.id}").status_code == 403
    other_flag = session.exec(select(Flag).where(Flag.country_code == "ALB")).first()
    assert client.get(f"/flags/{other_flag.id}").status_code == 403
    assert client.get("/admin/").status_code == 403


def test_agency_staff_record_an_obligation_audited(sign_in, session: Session) -> None:
    client = sign_in("state")
    page = client.get("/obligations/new").get_data(as_text=True)
    office = re.search(r'<option[^>]*value="(\d+)"[^>]*>DOS — Bureau of International Narcotics', page)
    assert office, page[-3000:]
    office = office[1]
    form = {"csrf_token": csrf_token(page), "fiscal_year": "FY07", "office_id": office, "country_code": "IDN",
            "implementer": "IOM", "title": "New shelter program", "area": "protection", "amount": "$125,000",
            "status": "obligated", "program_id": "0", "award_number": "007", "obligation_date": ""}
    response = client.post("/obligations/new", data=form)
    assert response.status_code == 302, text(response)[:2000]
    created = session.exec(select(Obligation).where(Obligation.title == "New shelter program")).one()
    assert (created.fiscal_year, created.amount, created.award_number) == (2007, Decimal("125000.00"), "007")
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "obligation.create")).one().actor == "t-state"
    bad = client.post("/obligations/new", data={**form, "amount": "TBD", "fiscal_year": "soon"})
    assert bad.status_code == 400 and "is not an amount" in text(bad) and "is not a fiscal year" in text(bad)


def test_agency_staff_cannot_edit_another_agencys_obligation(sign_in, session: Session) -> None:
    from tracker.models import Agency, Office

    dol = session.exec(select(Obligation).join(Office, Office.id == Obligation.office_id)
                       .join(Agency, Agency.id == Office.agency_id).where(Agency.code == "DOL")).first()
    assert sign_in("state").get(f"/obligations/{dol.id}/edit").status_code == 403
    assert sign_in("labor").get(f"/obligations/{dol.id}/edit").status_code == 200
    assert sign_in("reviewer").get("/obligations/new").status_code == 403


def test_a_deleted_obligation_cannot_be_corrected(sign_in, session: Session) -> None:
    from tracker.models import Agency, Office

    dol = session.exec(select(Obligation).join(Office, Office.id == Obligation.office_id)
                       .join(Agency, Agency.id == Office.agency_id)
                       .where(Agency.code == "DOL", Obligation.current == True)).first()  # noqa: E712
    client = sign_in("labor")
    form_page = text(client.get(f"/obligations/{dol.id}/edit"))
    detail = text(client.get(f"/obligations/{dol.id}"))
    deleted = client.post(f"/obligations/{dol.id}/delete", data={"csrf_token": csrf_token(detail),
                                                                  "version": str(dol.version), "reason": "twice"})
    assert deleted.status_code == 302
    session.rollback()
    session.refresh(dol)
    amount, version = dol.amount, dol.version
    assert not dol.current and "Correct this obligation" not in text(client.get(f"/obligations/{dol.id}"))
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', form_page))
    form = {**fields, "csrf_token": csrf_token(form_page), "fiscal_year": str(dol.fiscal_year),
            "office_id": str(dol.office_id), "country_code": dol.country_code, "implementer": dol.implementer_name,
            "title": dol.title or "x", "amount": "1", "status": "obligated", "program_id": "0", "area": "protection",
            "version": str(version)}
    refused = client.post(f"/obligations/{dol.id}/edit", data=form)
    assert refused.status_code == 400 and "cannot be corrected" in text(refused), re.findall(r"error[^<]{0,40}<[^<]{0,200}", text(refused))
    session.rollback()
    session.refresh(dol)
    assert (dol.amount, dol.version, dol.current) == (amount, version, False)


def test_reviewer_decides_a_flag_and_a_stale_form_is_told(sign_in, session: Session) -> None:
    flag = session.exec(select(Flag).where(Flag.type == "possible_duplicate_funding")).first()
    client = sign_in("reviewer")
    page = client.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "Agency obligation" in page and "sheet" in page
    form = {"csrf_token": csrf_token(page), "decision": "confirmed", "gao_class": "duplication",
            "effect": "funds redirected", "comment": "same money reported twice", "version": str(flag.version)}
    assert client.post(f"/flags/{flag.id}", data=form).status_code == 302
    session.rollback()  # end this session's read snapshot; the request committed on its own
    session.refresh(flag)
    assert (flag.status, flag.gao_class, flag.effect) == ("decided", "duplication", "funds redirected")
    stale = client.post(f"/flags/{flag.id}", data=form)  # the same old version again
    assert stale.status_code == 409


def test_embassy_officer_acknowledges_unaware_funding_in_their_country(sign_in, session: Session) -> None:
    flag = session.exec(select(Flag).where(Flag.type == "embassy_unaware", Flag.country_code == "IDN")).first()
    client = sign_in("jakarta")
    page = client.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert "Acknowledge" in page
    response = client.post(f"/flags/{flag.id}", data={"csrf_token": csrf_token(page), "decision": "explained",
                                                       "comment": "known to post since May", "version": str(flag.version)})
    assert response.status_code == 302
    session.rollback()
    session.refresh(flag)
    assert (flag.status, flag.comment) == ("decided", "known to post since May")
    mismatch = session.exec(select(Flag).where(Flag.type == "possible_duplicate_funding")).first()
    assert client.post(f"/flags/{mismatch.id}", data={"decision": "confirmed"}).status_code in (400, 403)


def test_proposal_check_shows_existing_funding(sign_in) -> None:
    client = sign_in("reviewer")
    page = client.get("/proposals/check").get_data(as_text=True)
    office = re.search(r'<option value="(\d+)">DOS — Bureau of Population', page)[1]
    result = client.post("/proposals/check", data={
        "csrf_token": csrf_token(page), "office_id": office, "country_code": "ALB", "implementer": "UNICEF",
        "purpose": "Training judges and prosecutors", "amount": "100000", "fiscal_year": "2005", "program_id": "0"})
    assert result.status_code == 200
    body = text(result)
    assert "Training judges and prosecutors on anti-trafficking law" in body and "possible duplicate" in body
    assert "The post has reported for 2005, 2006, 2007" in body


def test_upload_journey_preview_then_commit(sign_in, tmp_path, session: Session) -> None:
    client = sign_in("tirana")
    rows = embassy_rows("Albania", 2024)
    rows[2][7] = "TBD"
    bad = write_xlsx(tmp_path / "report.xlsx", [EMBASSY_HEADERS, *rows])
    page = client.get("/upload").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "source": "embassy", "country": "ALB", "fiscal_years": "2024",
            "file": (io.BytesIO(bad.read_bytes()), "../../report.xlsx")}
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    preview = text(client.get(response.location))
    assert "cannot be stored as it is" in preview and "&#39;TBD&#39; is not an amount" in preview
    assert 'class="tracker-cell-error">TBD' in preview.replace("> ", ">")
    rows[2][7] = 42000
    good = write_xlsx(tmp_path / "report2.xlsx", [EMBASSY_HEADERS, *rows])
    data = {"csrf_token": csrf_token(page), "source": "embassy", "country": "ALB", "fiscal_years": "2024",
            "file": (io.BytesIO(good.read_bytes()), "report.xlsx")}
    location = client.post("/upload", data=data, content_type="multipart/form-data").location
    preview = client.get(location).get_data(as_text=True)
    assert "Ready to store" in preview and "How the columns were read" in preview
    session.rollback()
    assert session.exec(select(Submission).where(Submission.filename == "report.xlsx")).first() is None
    done = client.post(location + "/commit", data={"csrf_token": csrf_token(preview)})
    assert "Stored" in text(client.get(done.location))
    session.rollback()
    stored = session.exec(select(Submission).where(Submission.filename == "report.xlsx")).one()
    assert stored.uploaded_by_id is not None and stored.country_code == "ALB"
    assert client.post(location + "/commit", data={"csrf_token": csrf_token(preview)}).status_code == 409


def test_an_embassy_officer_cannot_upload_for_another_country(sign_in, tmp_path) -> None:
    client = sign_in("tirana")
    page = client.get("/upload").get_data(as_text=True)
    path = write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows("Indonesia", 2024)])
    response = client.post("/upload", data={"csrf_token": csrf_token(page), "source": "embassy", "country": "IDN",
                                            "fiscal_years": "2024", "file": (io.BytesIO(path.read_bytes()), "r.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code in (400, 403)


def test_error_pages(sign_in, loaded) -> None:
    client = sign_in("tirana")
    assert "Page not found" in text(client.get("/obligations/999999999"))
    loaded.config["MAX_CONTENT_LENGTH"] = 1024
    page = client.get("/upload").get_data(as_text=True)
    big = client.post("/upload", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(b"x" * 5000), "big.xlsx")},
                      content_type="multipart/form-data")
    assert big.status_code == 413 and "The file is too large" in text(big)


def test_template_download_is_a_real_workbook(sign_in) -> None:
    from openpyxl import load_workbook

    response = sign_in("jakarta").get("/post/IDN/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[:2] == ["Instructions", "Report"]
    sheet = book["Report"]
    assert [c.value for c in sheet[4]][:4] == ["Tracker ID", "Fiscal Year", "Agency", "Office"]
    assert sheet.column_dimensions["A"].hidden and str(sheet["A5"].value).isdigit()  # pre-filled, with its ID
    assert sheet.max_row > 4 and sheet.data_validations.dataValidation


def test_a_refilled_template_previews_its_changes_before_storing(sign_in, tmp_path) -> None:
    from openpyxl import load_workbook

    client = sign_in("jakarta")
    book = load_workbook(io.BytesIO(client.get("/post/IDN/template.xlsx").data))
    sheet = book["Report"]
    years = sorted({sheet.cell(row=r, column=2).value for r in range(5, sheet.max_row + 1)})
    sheet["I5"] = 123456.78
    book.save(tmp_path / "refilled.xlsx")
    page = client.get("/upload").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "source": "embassy", "country": "IDN",
            "fiscal_years": ",".join(map(str, years)), "file": ((tmp_path / "refilled.xlsx").open("rb"), "refilled.xlsx")}
    location = client.post("/upload", data=data, content_type="multipart/form-data").location
    preview = text(client.get(location))
    assert "Ready to store" in preview and "What changes against the post" in preview
    changes = preview[preview.index('data-testid="changes"'):]
    assert "<td>changed</td><td>5</td><td>amount</td>" in changes and "<td>123456.78</td>" in changes


def test_security_headers(sign_in) -> None:
    response = sign_in("budget").get("/dashboard")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script
