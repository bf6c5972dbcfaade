"""The obligation_total summary equals the records after every kind of change: an import, a
supersede, an update through record IDs, a hand edit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from tests.workbooks import AGENCY_HEADERS, agency_rows, write_xlsx
from tracker.models import Obligation
from tracker.records import ObligationIn, update_obligation
from tracker.reporting import totals

GROUPS = [["fiscal_year", "agency", "country"], ["office", "program", "status"], ["region"], ["fiscal_year"]]


def _same(session: Session) -> None:
    session.rollback()
    for by in GROUPS:
        assert totals(session, by) == totals(session, by, source="records"), by


def test_summary_follows_imports_supersedes_and_edits(tmp_path: Path, do_import, session: Session) -> None:
    _same(session)
    rows = agency_rows()
    do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *rows]), source="agency", agency="DOS")
    _same(session)
    assert sum(r["amount"] for r in totals(session, ["fiscal_year"])) == Decimal("2950000.00")
    rows[0][8], rows[3][2] = 175000, "Albania"  # a corrected amount; a row moved to another country
    result = do_import(write_xlsx(tmp_path / "v2.xlsx", [AGENCY_HEADERS, *rows]), source="agency", agency="DOS")
    assert result.superseded
    _same(session)
    assert sum(r["amount"] for r in totals(session, ["fiscal_year"])) == Decimal("3025000.00")
    obligation = session.exec(select(Obligation).where(Obligation.current == True)).first()  # noqa: E712
    data = ObligationIn(fiscal_year="2009", office_id=obligation.office_id, country_code="KEN",
                        implementer="IOM", title="Moved", amount="1.00")
    update_obligation(session, obligation, data, user_id=None, actor="test", expected_version=obligation.version)
    session.commit()
    _same(session)
