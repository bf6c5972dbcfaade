"""Values: each form read through the one-place parsers; each bad value a blocking error or a
warning, as the rules say, naming sheet, row, column, header and value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.importing.conftest import messages
from tests.workbooks import EMBASSY_HEADERS, F, Serial, embassy_rows, write_xlsx
from tracker.models import Implementer
from tracker.reporting import list_obligations, list_reports

AGENCY = ["FY", "Office", "Country", "Implementing Partner", "Project Title", "Obligation Date", "Amount", "Status"]


def _agency_file(tmp_path: Path, *rows: list) -> Path:
    return write_xlsx(tmp_path / "a.xlsx", [AGENCY, *rows])


def _row(**changes) -> list:
    base = {"FY": 2006, "Office": "INL", "Country": "Indonesia", "Implementing Partner": "IOM",
            "Project Title": "Training", "Obligation Date": "10/15/2005", "Amount": 1000, "Status": None}
    base.update(changes)
    return [base[h] for h in AGENCY]


@pytest.mark.parametrize(
    ("cell", "stored"),
    [({"FY": "FY06"}, ("fiscal_year", 2006)), ({"FY": "2005-06"}, ("fiscal_year", 2006)),
     ({"FY": "FY 2006"}, ("fiscal_year", 2006)),
     ({"Amount": "$1,250,000"}, ("amount", Decimal("1250000.00"))), ({"Amount": "1.25M"}, ("amount", Decimal("1250000.00"))),
     ({"Amount": "USD 500K"}, ("amount", Decimal("500000.00"))), ({"Amount": Decimal("0.1")}, ("amount", Decimal("0.10"))),
     ({"Obligation Date": "15-Oct-2005"}, ("date", "2005-10-15")), ({"Obligation Date": "2005-10-15"}, ("date", "2005-10-15")),
     ({"Obligation Date": Serial(38640)}, ("date", "2005-10-15")),
     ({"Country": "Burma"}, ("country", "MMR")), ({"Country": "Côte d’Ivoire"}, ("country", "CIV")),
     ({"Country": "Africa Regional"}, ("region", "AF")),
     ({"Office": "Labor-ILAB"}, ("office", "DOL/ILAB")),
     ({"Implementing Partner": "Int'l Org. for Migration"}, ("implementer", "International Organization for Migration")),
     ({"Status": "Proposed"}, ("status", "proposed"))],
)
def test_value_forms(tmp_path: Path, do_import, session: Session, cell: dict, stored: tuple) -> None:
    result = do_import(_agency_file(tmp_path, _row(**cell)), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    session.rollback()
    record = list_obligations(session)[0]
    assert record[stored[0]] == stored[1]
    if stored[0] == "region":
        assert record["country"] is None


@pytest.mark.parametrize(
    ("cell", "column", "message"),
    [({"FY": "next year"}, "A", "not a fiscal year"), ({"FY": 1999}, "A", "outside the accepted range"),
     ({"Amount": "TBD"}, "G", "is not an amount"), ({"Amount": "1.005"}, "G", "more than two decimals"),
     ({"Amount": None}, "G", "no amount given"), ({"Amount": F("A1*2")}, "G", "without a saved value"),
     ({"Country": "Narnia"}, "C", "not a known country"), ({"Country": "Congo"}, "C", "could be"),
     ({"Obligation Date": "31/02/2006"}, "F", "not a real date"), ({"Obligation Date": Serial(60)}, "F", "never existed"),
     ({"Project Title": "x" * 1001}, "E", "more than the 1,000 allowed")],
)
def test_blocking_errors_name_the_cell_and_store_nothing(tmp_path: Path, do_import, session: Session, cell: dict,
                                                         column: str, message: str) -> None:
    result = do_import(_agency_file(tmp_path, _row(), _row(**cell)), source="agency", agency="DOS")
    assert result.status == "rejected"
    error = next(e for e in result.errors if message in e.message)
    assert (error.sheet, error.row, error.column, error.header) == ("Sheet1", 3, column, AGENCY["ABCDEFGH".index(column)])
    session.rollback()
    assert list_obligations(session) == []


def test_a_country_read_from_part_of_its_name_is_said(tmp_path: Path, do_import, session: Session) -> None:
    result = do_import(_agency_file(tmp_path, _row(Country="Saudi")), source="agency", agency="DOS")
    assert result.status == "committed"
    assert '"Saudi" read as the only country whose name contains it: Saudi Arabia' in messages(result.warnings)


def test_unknown_agency_is_blocking(tmp_path: Path, do_import) -> None:
    rows = [EMBASSY_HEADERS, *embassy_rows()]
    rows[3][0], rows[3][3] = "Ministry of Magic", "Department of Mysteries"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.status == "rejected"
    error = next(e for e in result.errors if "not a known agency or office" in e.message)
    assert (error.row, error.column, error.value) == (4, "D", "Ministry of Magic / Department of Mysteries")


def test_unknown_office_of_a_known_agency_is_a_warning_and_the_text_is_kept(tmp_path: Path, do_import,
                                                                            session: Session) -> None:
    result = do_import(_agency_file(tmp_path, _row(Office="Labor / Office of Foo Affairs"), _row(Office="Foo desk")),
                       source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    assert "kept under DOL (office not stated)" in messages(result.warnings)
    assert "kept under DOS (office not stated)" in messages(result.warnings)
    session.rollback()
    assert [r["office"] for r in list_obligations(session)] == ["DOL", "DOS"]
    from tracker.models import Obligation
    assert set(session.exec(select(Obligation.office_text)).all()) == {"Labor / Office of Foo Affairs", "Foo desk"}


def test_a_row_naming_another_agency_is_kept_as_that_agencys(tmp_path: Path, do_import, session: Session) -> None:
    result = do_import(_agency_file(tmp_path, _row(Office="DOJ/OPDAT"), _row(Office=None)), source="agency",
                       agency="DOS/INL")
    assert result.status == "committed", messages(result.errors)
    session.rollback()
    assert [r["office"] for r in list_obligations(session)] == ["DOJ/OPDAT", "DOS/INL"]
    assert "kept as DOJ's" in messages(result.warnings)


def test_a_row_with_no_office_gets_the_agencys_office_not_stated(tmp_path: Path, do_import, session: Session) -> None:
    rows = [["FY", "Country", "Partner", "Activity", "Amount"], [2006, "Kenya", "IJM", "Prevention", 300000]]
    result = do_import(write_xlsx(tmp_path / "a.xlsx", rows), source="agency", agency="DOJ")
    assert result.status == "committed", messages(result.errors)
    session.rollback()
    assert list_obligations(session)[0]["office"] == "DOJ"


def test_new_implementer_is_created_with_a_hint_never_assumed(tmp_path: Path, do_import, session: Session) -> None:
    result = do_import(_agency_file(tmp_path, _row(**{"Implementing Partner": "Winrok International"}),
                                    _row(**{"Implementing Partner": "Brand New Hope Society"})),
                       source="agency", agency="DOS")
    assert result.status == "committed"
    assert 'new implementer; is it "Winrock International"?' in messages(result.warnings)
    session.rollback()
    names = set(session.exec(select(Implementer.name)).all())
    assert {"Winrok International", "Brand New Hope Society", "Winrock International"} <= names


def test_negative_amounts_are_de_obligations_with_a_warning(tmp_path: Path, do_import, session: Session) -> None:
    result = do_import(_agency_file(tmp_path, _row(Amount="(25,000)"), _row(Amount=-0.01)), source="agency", agency="DOS")
    assert result.status == "committed"
    assert messages(result.warnings).count("de-obligation") == 2
    session.rollback()
    assert [(r["status"], r["amount"]) for r in list_obligations(session)] == [
        ("de-obligated", Decimal("-25000.00")), ("de-obligated", Decimal("-0.01"))]


def test_numbers_stored_as_text_and_formula_looking_text_warn(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    rows[0][7] = "125000.00"
    rows[1][4] = "=cmd|' /C calc'!A0"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert result.status == "committed", messages(result.errors)
    assert "Sheet1!H2: number stored as text" in messages(result.warnings)
    assert "Sheet1!E3: begins with a formula character" in messages(result.warnings)
    session.rollback()
    assert list_reports(session)[1]["implementer"] == "=cmd|' /C calc'!A0"


def test_embassy_row_for_another_country_is_blocking(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    rows[2][1] = "Laos"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert result.status == "rejected"
    assert "Sheet1!B4: this report speaks for Thailand (THA); a row for Laos (LAO)" in messages(result.errors)


def test_embassy_rows_outside_the_stated_years_are_blocking(tmp_path: Path, do_import) -> None:
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()]), fiscal_years=[2005, 2006])
    assert result.status == "rejected"
    assert "FY2024 is outside the years this file covers (FY2005, FY2006)" in messages(result.errors)


def test_exact_copies_in_one_file_are_both_kept_and_named(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows, rows[1]]))
    assert result.status == "committed" and result.records == 6
    assert "Sheet1!7: repeats row 3 exactly" in messages(result.warnings)


def test_embassy_post_inferred_from_the_title_row_is_said(tmp_path: Path, do_import) -> None:
    rows = [["U.S. Embassy Rangoon, Burma (Myanmar)"], None,
            ["Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"],
            [2006, "State", "DRL", "UNICEF", "Training", 1000]]
    result = do_import(write_xlsx(tmp_path / "r.xlsx", rows), country=None)
    assert result.status == "committed", messages(result.errors)
    assert any("Burma (MMR)" in n for n in result.notes)
