"""The audit trail page and deleting an obligation, in a real browser under the
Content-Security-Policy: no console error (CSP violations included), no serious or critical
accessibility violation."""

from __future__ import annotations

from playwright.sync_api import expect


def _clean(visitor, name: str) -> None:  # type: ignore[no-untyped-def]
    visitor.screenshot(name)
    assert visitor.axe() == []
    assert visitor.errors == []


def test_agency_staff_delete_an_obligation_and_the_administrator_finds_it_in_the_trail(visit) -> None:
    staff = visit("t-state")
    page = staff.page
    staff.go("/obligations?agency=DOS")
    page.click("[data-testid=obligations-table] tbody tr >> nth=0 >> td >> nth=4 >> a")
    record = page.url.rsplit("/", 1)[1]
    page.fill("#delete-reason", "entered twice")
    page.click("button:has-text('Delete this obligation')")
    expect(page.locator(".usa-alert--success")).to_contain_text("Obligation deleted")
    expect(page.locator("dl")).to_contain_text("deleted")
    _clean(staff, "obligation-deleted")

    admin = visit("t-admin")
    admin.go("/admin/audit")
    admin.page.select_option("#action", "obligation.delete")
    admin.page.click("button:has-text('Show')")
    expect(admin.page.locator("[data-testid=audit-count]")).to_have_text("1")
    expect(admin.page.locator("[data-testid=audit-events] tbody")).to_contain_text(f"obligation {record}")
    expect(admin.page.locator("[data-testid=audit-events] tbody")).to_contain_text("entered twice")
    with admin.page.expect_download() as download:
        admin.page.click("text=Download these events (CSV)")
    assert download.value.suggested_filename.endswith(".csv")
    lines = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and "obligation.delete" in lines[1]
    _clean(admin, "audit-trail")
