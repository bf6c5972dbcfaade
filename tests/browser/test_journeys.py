"""The journeys in a real browser (Debian's Chromium under Playwright) against a live server:
each journey end to end, its key page screenshotted, scanned with axe-core (no serious or
critical violation), and no console error (a script blocked by the Content-Security-Policy
would show there)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.workbooks import EMBASSY_HEADERS, embassy_rows, write_xlsx


def _clean(visitor, name: str) -> None:  # type: ignore[no-untyped-def]
    visitor.screenshot(name)
    assert visitor.axe() == []
    assert visitor.errors == []


def test_embassy_officer_journey(visit, tmp_path: Path) -> None:
    officer = visit("t-jakarta")
    page = officer.page
    expect(page.locator("h1")).to_contain_text("Indonesia")  # lands on the post's own page
    _clean(officer, "embassy-1-post")
    with page.expect_download() as download:
        page.click("text=Download the template")
    assert download.value.suggested_filename == "IDN-anti-TIP-report.xlsx"

    rows = embassy_rows("Indonesia", 2024)
    rows[1][7] = "TBD"
    broken = write_xlsx(tmp_path / "jakarta.xlsx", [EMBASSY_HEADERS, *rows])
    officer.go("/upload")
    _clean(officer, "embassy-2-upload-form")
    page.set_input_files("input[type=file]", str(broken))
    page.fill("#fiscal_years", "2024")
    page.click("button:has-text('Check the file')")
    expect(page.locator("h2.usa-alert__heading")).to_contain_text("cannot be stored", timeout=20000)
    expect(page.locator("[data-testid=errors]")).to_contain_text("'TBD' is not an amount")
    expect(page.locator("[data-testid=preview] td.tracker-cell-error")).to_have_text("TBD")
    # A refused file's preview answers 422 (the browser also logs it): expected, not a page error.
    refused = [e for e in officer.errors if (e.startswith("422 ") and "/upload/" in e) or "status of 422" in e]
    assert refused, officer.errors
    officer.errors[:] = [e for e in officer.errors if e not in refused]
    _clean(officer, "embassy-3-preview-with-errors")

    rows[1][7] = 87500
    fixed = write_xlsx(tmp_path / "jakarta-fixed.xlsx", [EMBASSY_HEADERS, *rows])
    officer.go("/upload")
    page.set_input_files("input[type=file]", str(fixed))
    page.fill("#fiscal_years", "2024")
    page.click("button:has-text('Check the file')")
    expect(page.locator("h2.usa-alert__heading")).to_contain_text("Ready to store", timeout=20000)
    expect(page.locator("[data-testid=mapping]")).to_contain_text("Implementing Partner")
    page.click("button:has-text('Store these records')")
    expect(page.locator("h2.usa-alert__heading")).to_contain_text("Stored", timeout=20000)
    page.click("text=See what Washington records")
    expect(page.locator("[data-testid=matched]")).to_be_visible()

    page.click("[data-testid=unaware] a:has-text('Acknowledge') >> nth=0")
    page.select_option("#decision", "explained")
    page.fill("#comment", "The post learned of it from the implementer in March.")
    page.click("button:has-text('Record decision')")
    expect(page.locator(".usa-alert--success")).to_contain_text("Decision recorded")
    expect(page.locator("table").last).to_contain_text("The post learned of it")
    _clean(officer, "embassy-4-acknowledged")


def test_reviewer_journey(visit) -> None:
    reviewer = visit("t-reviewer")
    page = reviewer.page
    reviewer.go("/flags?type=possible_duplicate_funding")
    expect(page.locator("[data-testid=flag-count]")).to_contain_text("6 flags")
    _clean(reviewer, "review-1-queue")
    page.click("table tbody tr >> nth=0 >> a")
    expect(page.locator("[data-testid=flag-record]")).to_have_count(2)
    expect(page.locator("[data-testid=explanation]")).to_contain_text("both record")
    page.select_option("#decision", "confirmed")
    page.select_option("#gao_class", "duplication")
    page.select_option("#effect", "funds redirected")
    page.fill("#comment", "USAID and State report the same UNICEF grant.")
    page.click("button:has-text('Record decision')")
    expect(page.locator(".usa-alert--success")).to_contain_text("Decision recorded")
    _clean(reviewer, "review-2-decided")

    reviewer.go("/proposals/check")
    page.select_option("#office_id", label="DOS — Bureau of Population, Refugees, and Migration")
    page.select_option("#country_code", "ALB")
    page.fill("#implementer", "UNICEF")
    page.fill("#purpose", "Training judges and prosecutors")
    page.fill("#amount", "$100,000")
    page.fill("#fiscal_year", "2005")
    page.click("button:has-text('Check')")
    expect(page.locator("[data-testid=related-funding]")).to_contain_text("possible duplicate")
    _clean(reviewer, "review-3-proposal")


def test_dashboard_journey(visit) -> None:
    analyst = visit("t-budget")
    page = analyst.page
    analyst.go("/dashboard")
    for chart in ("chart-fy-agency", "chart-map", "chart-ledger", "chart-flags", "chart-coverage"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible(timeout=20000)
    expect(page.locator("#chart-map .choropleth path").first).to_be_attached(timeout=20000)  # the map data loaded
    page.click("text=Numbers: fiscal year by agency")
    expect(page.locator("details[open] table")).to_contain_text("FY2005")
    expect(page.locator("[data-testid=not-on-map]")).to_contain_text("Kosovo")
    expect(page.locator("[data-testid=grand-total]")).to_have_text("$77,985,000.00")
    _clean(analyst, "dashboard")


def test_obligations_browser_journey(visit) -> None:
    staff = visit("t-state")
    page = staff.page
    staff.go("/obligations")
    page.click(".tracker-facets a:has-text('FY2006')")
    page.click(".tracker-facets a:has-text('DOS')")
    expect(page.locator("[data-testid=filter-description]")).to_contain_text("Obligations FY2006; DOS")
    page.click("th a:has-text('Amount')")
    _clean(staff, "browser-1-filtered")
    with page.expect_download() as download:  # the workbook holds what the screen shows, in its order
        page.click("text=Download as Excel")
    assert download.value.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(download.value.path().read_bytes()))["Obligations"].iter_rows(min_row=2, values_only=True))
    shown = page.locator("[data-testid=obligations-table] tbody tr td:nth-child(6)").all_inner_texts()
    assert [f"${r[12]:,.2f}" for r in rows] == shown and {(r[1], r[2]) for r in rows} == {(2006, "DOS")}
    page.click("[data-testid=obligations-table] tbody tr >> nth=0 >> td >> nth=4 >> a")
    expect(page.locator("dl")).to_contain_text("State_TIP_obligations_FY2005-2007.xlsx")
    page.click("text=Correct this obligation")
    _clean(staff, "browser-2-form")
    page.fill("#amount", "1.5M")
    page.click("button:has-text('Save')")
    expect(page.locator(".usa-alert--success")).to_contain_text("Obligation saved")
    expect(page.locator("dl")).to_contain_text("$1,500,000.00")
    expect(page.locator("table").last).to_contain_text("updated obligation")
    _clean(staff, "browser-3-record")


def test_first_run_demo_button_for_administrators(visit) -> None:
    admin = visit("t-admin")
    admin.go("/admin/")
    admin.page.click("button:has-text('Load the sample scenario')")
    expect(admin.page.locator(".usa-alert--success")).to_contain_text("Sample scenario", timeout=30000)
    _clean(admin, "admin")


def test_sign_in_page_and_error_pages(chromium, live_server) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.conftest import Visitor

    visitor = Visitor(chromium, live_server)
    visitor.go("/login")
    _clean(visitor, "sign-in")
    visitor.sign_in("t-jakarta", "a long enough passphrase")
    response = visitor.go("/post/ALB")
    assert response.status == 403
    expect(visitor.page.locator("h1")).to_have_text("You do not have access to this page")
    visitor.errors.clear()  # the 403 itself is the expected answer
    visitor.screenshot("error-403")
    assert visitor.axe() == []
    visitor.close()
