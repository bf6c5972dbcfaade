"""Layouts: title rows, header wordings, agency and office in one column or two, a sheet per
fiscal year, hidden sheets, blank, total and note rows, merged two-row headers, year columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.importing.conftest import messages
from tests.workbooks import (
    AGENCY_HEADERS,
    EMBASSY_HEADERS,
    F,
    Sheet,
    agency_rows,
    embassy_rows,
    write_openpyxl,
    write_xlsx,
)
from tracker.models import EmbassyReportRow, Obligation
from tracker.reporting import list_obligations, list_reports


def _reports(session: Session) -> list[dict]:
    session.rollback()
    return list_reports(session)


def _obligations(session: Session) -> list[dict]:
    session.rollback()
    return list_obligations(session)


def test_title_rows_above_the_header_and_provenance(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["U.S. Embassy Bangkok, Thailand"], ["Anti-Trafficking in Persons programs, as known to post"], None,
            EMBASSY_HEADERS, *embassy_rows()]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [Sheet("Funding", rows)]))
    assert result.status == "committed", messages(result.errors)
    stored = _reports(session)
    assert [(r["sheet"], r["row"]) for r in stored] == [("Funding", n) for n in range(5, 10)]
    assert {r["file"] for r in stored} == {"r.xlsx"}


@pytest.mark.parametrize(
    "headers",
    [
        ["Agency", "Country", "FY", "Office", "Implementer", "Activity", "Period Start", "Funding ($)"],
        ["Agency", "Country", "Yr", "Bureau/Office", "Grantee", "Description", "Date", "Amt"],
        ["Agency", "Recipient Country", "Fiscal Year", "Operating Unit", "Partner Org", "Project", "Start", "Obligated Amount"],
        ["Department", "Country Name", "FISCAL YEAR", "Component", "Partner Organization", "Project Name",
         "Award Date", "Amount in USD"],
    ],
)
def test_header_wordings(tmp_path: Path, do_import, session: Session, headers: list[str]) -> None:
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [headers, *embassy_rows()]))
    assert result.status == "committed", messages(result.errors)
    assert {m["field"] for m in result.mapping} == {"agency", "country", "fiscal_year", "office", "implementer",
                                                     "title", "date", "amount"}
    assert all(m["confidence"] >= 0.75 for m in result.mapping)
    assert sum(r["amount"] for r in _reports(session)) == Decimal("369750.74")


def test_agency_and_office_in_one_column(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["FY", "USG Agency/Office", "Implementer", "Activity", "Funding ($)"],
            ["FY24", "DOJ Criminal Division (OPDAT)", "IJM", "Judges training", "$750,000"],
            [2024, "State/PRM", "Winrock Intl", "Hotline", "USD 175,000"],
            ["FY 2024", "USAID/Bangkok", "Save the Children", "Shelter", "1.2M"],
            ["2023-24", "Embassy Bangkok", "Vital Voices", "Small grant", "45K"],
            [2024, "Labor-ILAB", "Solidarity Center", "Inspections", "(25,000)"]]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.status == "committed", messages(result.errors)
    stored = _reports(session)
    assert [r["office"] for r in stored] == ["DOJ/OPDAT", "DOS/PRM", "USAID/MISSION", "DOS/POST", "DOL/ILAB"]
    assert [r["amount"] for r in stored] == [Decimal("750000.00"), Decimal("175000.00"), Decimal("1200000.00"),
                                             Decimal("45000.00"), Decimal("-25000.00")]
    assert {r["country"] for r in stored} == {"THA"} and {r["fiscal_year"] for r in stored} == {2024}
    assert stored[0]["implementer"] == "International Justice Mission"  # alias


def test_one_sheet_per_fiscal_year_with_instructions_and_hidden_sheets(tmp_path: Path, do_import,
                                                                         session: Session) -> None:
    headers = ["Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"]
    sheets = [
        Sheet("Instructions", [["List every USG-funded program. One sheet per fiscal year."]]),
        Sheet("FY2005", [headers]),
        Sheet("FY2006", [headers, ["State", "DRL", "UNICEF", "Border police training", 600000], None,
                         ["DOS", "INL", "IOM", "Shelter", 150000]]),
        Sheet("FY 07", [headers, ["Justice", "ICITAP", "Winrock", "Prevention", 750000]]),
        Sheet("Old data", [headers, ["State", "DRL", "UNICEF", "Draft", 999]], state="hidden"),
        Sheet("Scratch", [["x"], [1]], state="veryHidden"),
    ]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", sheets), fiscal_years=[2005, 2006, 2007])
    assert result.status == "committed", messages(result.errors)
    stored = _reports(session)
    assert [(r["sheet"], r["row"], r["fiscal_year"]) for r in stored] == [
        ("FY2006", 2, 2006), ("FY2006", 4, 2006), ("FY 07", 2, 2007)]
    assert "'Old data', 'Scratch' were not read" in messages(result.warnings)
    assert any("Instructions" in n and "no table" in n for n in result.notes)
    assert result.fiscal_years == [2005, 2006, 2007]


def test_coverage_defaults_to_the_years_rows_and_sheet_names_show(tmp_path: Path, do_import) -> None:
    headers = ["Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"]
    sheets = [Sheet("FY2005", [headers]), Sheet("FY2006", [headers, ["State", "DRL", "UNICEF", "Training", 1]])]
    assert do_import(write_xlsx(tmp_path / "r.xlsx", sheets)).fiscal_years == [2005, 2006]


def test_totals_notes_blank_and_repeated_header_rows(tmp_path: Path, do_import, session: Session) -> None:
    rows = [EMBASSY_HEADERS, embassy_rows()[0], embassy_rows()[1],
            [None, "Subtotal FY2024", None, None, None, None, None, F("SUM(H2:H3)", 212500.5)],
            None, [None] * 8,
            EMBASSY_HEADERS,
            embassy_rows()[2],
            [None, None, None, None, None, None, "Total", F("SUM(H2:H8)")],  # no saved value: still a total
            [None, None, None, None, None, None, None, F("SUBTOTAL(9,H2:H9)", 254500.5)],
            ["GRAND TOTAL", None, None, None, None, None, None, 254500.5],
            ["Source: post records; figures unofficial."]]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.status == "committed", messages(result.errors)
    assert [r["row"] for r in _reports(session)] == [2, 3, 8]
    assert [(s.row, s.reason.split(":")[0]) for s in result.skipped] == [
        (4, "total or subtotal row"), (7, "the header row repeated"), (9, "total or subtotal row"),
        (10, "total or subtotal row"), (11, "total or subtotal row"), (12, "a note, not a program")]


def test_merged_two_row_header(tmp_path: Path, do_import, session: Session) -> None:
    upper = ["Funding source", None, None, None, "Project", None, "Start Date", "Amount (USD)"]
    lower = ["Agency", "Country", "Fiscal Year", "Office", "Implementing Partner", "Project Title", None, None]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [upper, lower, *embassy_rows()]))
    assert result.status == "committed", messages(result.errors)
    stored = _reports(session)
    assert [r["row"] for r in stored] == [3, 4, 5, 6, 7]
    assert sum(r["amount"] for r in stored) == Decimal("369750.74")
    assert len(result.mapping) == 8


def test_year_columns_are_unpivoted_one_record_per_year(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["Office", "Country", "Implementing Partner", "Project Title", "FY2005", "FY 2006", "FY07 ($)"],
            ["INL", "Indonesia", "IOM", "Border training", 100000, None, "250,000"],
            ["G/TIP", "Albania", "UNICEF", "Shelter", 0, 50000, 60000]]
    result = do_import(write_xlsx(tmp_path / "a.xlsx", rows), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    stored = [(r["row"], r["fiscal_year"], r["country"], r["amount"]) for r in _obligations(session)]
    assert sorted(stored) == [(2, 2005, "IDN", Decimal("100000.00")), (2, 2007, "IDN", Decimal("250000.00")),
                              (3, 2006, "ALB", Decimal("50000.00")), (3, 2007, "ALB", Decimal("60000.00"))]
    assert result.fiscal_years == [2005, 2006, 2007]


def test_amounts_in_thousands_when_the_header_says_so(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["FY", "Office", "Country", "Partner", "Activity", "Amount ($000)"],
            [2006, "INL", "Indonesia", "IOM", "Training", 1250], [2006, "INL", "Indonesia", "IOM", "Shelter", "37.5"]]
    result = do_import(write_xlsx(tmp_path / "a.xlsx", rows), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    assert [r["amount"] for r in _obligations(session)] == [Decimal("1250000.00"), Decimal("37500.00")]
    assert "thousands" in messages(result.warnings)


def test_agency_file_with_a_title_row_and_formula_total(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["State Department TIP obligations, FY2005-FY2007"], None, AGENCY_HEADERS, *agency_rows(), None,
            [None] * 7 + ["Total", "=SUM(I4:I9)"]]  # openpyxl saves formulas without values
    result = do_import(write_openpyxl(tmp_path / "state.xlsx", [Sheet("Obligations", rows)]), source="agency",
                       agency="DOS")
    assert result.status == "committed", messages(result.errors)
    stored = _obligations(session)
    assert len(stored) == 6
    assert [r["office"] for r in stored][:2] == ["DOS/PRM", "DOS/G/TIP"]
    assert {r["award_number"] for r in stored} >= {"0042", "DOS-05-0001"}  # codes stay text, zeros kept
    assert [s.row for s in result.skipped] == [11]
    global_row = next(r for r in stored if r["title"] == "Global hotline network")
    assert (global_row["country"], global_row["region"]) == (None, "GLOBAL")
    kosovo = next(r for r in stored if r["title"] == "Community prevention")
    assert (kosovo["country"], kosovo["region"]) == ("XKX", "EUR")
    assert next(r for r in stored if r["award_number"] == "0042")["date"] == date(2006, 3, 1).isoformat()


def test_remembered_mapping_reads_a_heading_no_synonym_knows(tmp_path: Path, do_import, session: Session) -> None:
    from tracker.models import ColumnMapping

    headers = EMBASSY_HEADERS[:-1] + ["Pot of money"]
    path = write_xlsx(tmp_path / "r.xlsx", [headers, *embassy_rows()])
    first = do_import(path, dry_run=True)
    assert first.status == "rejected" or all(m["header"] != "Pot of money" for m in first.mapping)
    session.add(ColumnMapping(scope_key="embassy:THA", header_key="pot of money", field_name="amount"))
    session.commit()
    result = do_import(path)
    assert result.status == "committed", messages(result.errors)
    assert {"header": "Pot of money", "field": "amount"}.items() <= next(
        m for m in result.mapping if m["column"] == "H").items()


def test_a_title_that_starts_with_total_is_data_not_a_total(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    rows[0][5] = "Total Action Against Trafficking"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert result.records == 5 and result.skipped == []


def test_formulas_are_read_by_their_saved_value(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    rows[0][7] = F("62500*2", 125000)
    rows[1][5] = F('"Legal aid "&"for survivors"', "Legal aid for survivors")
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert result.status == "committed", messages(result.errors)
    stored = _reports(session)
    assert stored[0]["amount"] == Decimal("125000.00") and stored[1]["title"] == "Legal aid for survivors"


@pytest.mark.parametrize(
    ("headers", "fields"),
    [(["Region", "Country", "FY", "Implementing Mechanism", "Agency/Bureau", "Total ($)"],
      ["country", "fiscal_year", "title", "agency_office", "amount"]),
     (["Grant #", "Beneficiary Country", "Fiscal Year (FY)", "Implementing Organization", "Funding Source",
       "Obligations ($)", "Funding Mechanism"],
      ["award_number", "country", "fiscal_year", "implementer", "agency_office", "amount"])],
)
def test_less_common_wordings(headers: list[str], fields: list[str]) -> None:
    from tracker.importing.layout import map_columns

    layout = map_columns(dict(enumerate(headers)))
    assert sorted(c.field for c in layout.columns) == sorted(fields)
    if "Region" in headers:  # "Country" names the field outright and wins over "Region"
        assert layout.by_field()["country"].header == "Country"


def test_year_columns_with_words_before_the_year(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["Office", "Country", "Partner", "Activity", "Amount FY2006", "Amount FY2007"],
            ["INL", "Nepal", "UNODC", "Prevention", 100, 200]]
    result = do_import(write_xlsx(tmp_path / "a.xlsx", rows), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    assert sorted((r["fiscal_year"], r["amount"]) for r in _obligations(session)) == [
        (2006, Decimal("100.00")), (2007, Decimal("200.00"))]
