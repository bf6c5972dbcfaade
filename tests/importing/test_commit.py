"""Committing: whole or nothing, the same file once, a newer file superseding an older one,
--skip-invalid and --dry-run, provenance, the JSON contract of `tracker import`, and totals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func
from sqlmodel import Session, select

from tests.importing.conftest import messages
from tests.workbooks import AGENCY_HEADERS, EMBASSY_HEADERS, agency_rows, embassy_rows, write_csv, write_xlsx
from tracker.importing import pipeline
from tracker.models import AuditEvent, EmbassyReportRow, Obligation, Submission, SubmissionYear
from tracker.reporting import totals


def _count(session: Session, model: type, *where) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_bad_row_after_many_written_batches_leaves_nothing(tmp_path: Path, do_import, session: Session,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 50)
    rows = [embassy_rows()[i % 5][:] for i in range(400)]
    for i, row in enumerate(rows):
        row[5] = f"Program {i}"
    rows[-1][7] = "TBD"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert result.status == "rejected" and [e.row for e in result.errors] == [401]
    assert _count(session, EmbassyReportRow) == 0 and _count(session, Submission) == 0
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "import.rejected")).one()
    assert audit.after["errors"][0]["row"] == 401


def test_skip_invalid_stores_the_valid_rows_and_lists_the_rest(tmp_path: Path, do_import, session: Session) -> None:
    rows = embassy_rows()
    rows[1][7], rows[3][2] = "TBD", "FY1850"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]), skip_invalid=True)
    assert result.status == "committed" and result.records == 3
    assert [(s.row, "not an amount" in s.reason or "outside" in s.reason) for s in result.skipped] == [(3, True), (5, True)]
    assert _count(session, EmbassyReportRow) == 3


def test_dry_run_stores_nothing_but_says_what_would_be(tmp_path: Path, do_import, session: Session) -> None:
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()]), dry_run=True)
    assert (result.status, result.records) == ("dry-run", 5)
    assert _count(session, EmbassyReportRow) == 0 and _count(session, Submission) == 0


def test_the_same_file_twice_is_already_imported(tmp_path: Path, do_import, session: Session) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()])
    first = do_import(path)
    copy = tmp_path / "copy of r.xlsx"
    copy.write_bytes(path.read_bytes())
    second = do_import(copy)
    assert (second.status, second.submission_id) == ("already-imported", first.submission_id)
    assert f"submission {first.submission_id}" in second.notes[0]
    assert _count(session, EmbassyReportRow) == 5 and _count(session, Submission) == 1


def test_a_newer_file_covering_the_same_years_supersedes_without_double_counting(tmp_path: Path, do_import,
                                                                                  session: Session) -> None:
    old = do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *agency_rows()]), source="agency", agency="DOS")
    rows = agency_rows()
    rows[0][8] = 150000  # a corrected amount
    new = do_import(write_xlsx(tmp_path / "v2.xlsx", [AGENCY_HEADERS, *rows]), source="agency", agency="DOS")
    assert new.status == "committed" and new.superseded == [old.submission_id]
    session.rollback()
    assert session.get(Submission, old.submission_id).status == "superseded"
    assert session.get(Submission, new.submission_id).supersedes_id == old.submission_id
    assert _count(session, Obligation) == 12 and _count(session, Obligation, Obligation.current == True) == 6  # noqa: E712
    assert sum(r["amount"] for r in totals(session, ["agency"])) == Decimal("3000000.00")


def test_files_that_only_partly_overlap_both_stand(tmp_path: Path, do_import, session: Session) -> None:
    rows = agency_rows()
    first = do_import(write_xlsx(tmp_path / "a.xlsx", [AGENCY_HEADERS, *rows[:4]]), source="agency", agency="DOS")
    second = do_import(write_xlsx(tmp_path / "b.xlsx", [AGENCY_HEADERS, *rows[2:]]), source="agency", agency="DOS")
    assert second.superseded == [] and first.fiscal_years == [2005, 2006] and second.fiscal_years == [2006, 2007]
    assert _count(session, Obligation, Obligation.current == True) == 8  # noqa: E712
    years = set(session.exec(select(SubmissionYear.fiscal_year).where(
        SubmissionYear.submission_id == first.submission_id)).all())
    assert years == {2005, 2006}


def test_another_source_never_supersedes(tmp_path: Path, do_import, session: Session) -> None:
    do_import(write_xlsx(tmp_path / "a.xlsx", [AGENCY_HEADERS, *agency_rows()]), source="agency", agency="DOS")
    other = do_import(write_xlsx(tmp_path / "b.xlsx", [AGENCY_HEADERS, *agency_rows()[:5]]), source="agency",
                      agency="DOS/INL")
    assert other.superseded == []


def test_provenance_and_uploader(tmp_path: Path, do_import, session: Session) -> None:
    from tracker.users import create_user

    user = create_user(session, username="bangkok", role="embassy", password="x" * 12, countries=["THA"])
    session.commit()
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()]), uploaded_by_id=user.id,
                       actor="bangkok")
    session.rollback()
    submission = session.get(Submission, result.submission_id)
    assert (submission.uploaded_by_id, submission.filename, submission.size_bytes) == (user.id, "r.xlsx",
                                                                                      (tmp_path / "r.xlsx").stat().st_size)
    assert (submission.country_code, submission.scope_key) == ("THA", "embassy:THA")
    rows = session.exec(select(EmbassyReportRow.source_sheet, EmbassyReportRow.source_row)).all()
    assert sorted(rows) == [("Sheet1", n) for n in range(2, 7)]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert (event.actor, event.after["sha256"], event.after["records"]) == ("bangkok", submission.sha256, 5)


def test_cli_json_contract_and_exit_codes(tmp_path: Path, cli_import) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", [EMBASSY_HEADERS, *embassy_rows()])
    bad_rows = embassy_rows()
    bad_rows[0][7] = "TBD"
    bad = write_xlsx(tmp_path / "bad.xlsx", [EMBASSY_HEADERS, *bad_rows])
    code, objects = cli_import(str(good), "--source", "embassy", "--country", "Thailand", "--fiscal-years", "2024")
    assert code == 0 and objects[0]["status"] == "committed"
    assert set(objects[0]) >= {"file", "status", "submission_id", "rows_read", "records", "skipped", "errors", "warnings"}
    code, objects = cli_import(str(good), str(bad), "--source", "embassy", "--country", "THA")
    assert code == 1
    assert [o["status"] for o in objects] == ["already-imported", "rejected"]
    error = objects[1]["errors"][0]
    assert error == {"sheet": "Sheet1", "row": 2, "column": "H", "header": "Amount (USD)", "value": "TBD",
                     "message": "'TBD' is not an amount"}
    code, objects = cli_import(str(bad), "--source", "embassy", "--country", "THA", "--dry-run")
    assert code == 1 and objects[0]["status"] == "rejected"
    csv_path = write_csv(tmp_path / "r.csv", [EMBASSY_HEADERS] + [[str(v) for v in r] for r in embassy_rows("Laos", 2024)])
    code, objects = cli_import(str(csv_path), "--source", "embassy", "--country", "LAO", "--dry-run")
    assert code == 0 and objects[0]["status"] == "dry-run" and objects[0]["errors"] == []
    assert objects[0]["warnings"] == [] or all(w["sheet"] == "" for w in objects[0]["warnings"])
    code, objects = cli_import(str(tmp_path / "missing.xlsx"), "--source", "embassy", "--country", "THA")
    assert code == 1 and "no such file" in objects[0]["errors"][0]["message"]


def test_cli_text_report(tmp_path: Path, runner: FlaskCliRunner) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()])
    result = runner.invoke(args=["import", str(path), "--source", "embassy", "--country", "THA"])
    assert result.exit_code == 0
    assert "r.xlsx: committed" in result.output and "records stored 5" in result.output


def test_totals_count_obligated_and_de_obligated_never_proposed(tmp_path: Path, do_import, runner: FlaskCliRunner) -> None:
    rows = [["FY", "Office", "Country", "Partner", "Activity", "Amount", "Status"],
            [2006, "INL", "Indonesia", "IOM", "A", 1000, "Obligated"],
            [2006, "INL", "Indonesia", "IOM", "B", "(250)", None],
            [2006, "INL", "Indonesia", "IOM", "C", 5000, "Proposed"],
            [2006, "PRM", "Global", "IOM", "D", 700, None]]
    assert do_import(write_xlsx(tmp_path / "a.xlsx", rows), source="agency", agency="DOS").status == "committed"
    result = runner.invoke(args=["totals", "--by", "fiscal_year,agency,country", "--json"])
    assert json.loads(result.output) == [
        {"fiscal_year": 2006, "agency": "DOS", "country": None, "region": "GLOBAL", "amount": "700.00"},
        {"fiscal_year": 2006, "agency": "DOS", "country": "IDN", "region": "EAP", "amount": "750.00"}]
    by_office = json.loads(runner.invoke(args=["totals", "--by", "office", "--json"]).output)
    assert by_office == [{"office": "DOS/INL", "amount": "750.00"}, {"office": "DOS/PRM", "amount": "700.00"}]
    listed = json.loads(runner.invoke(args=["obligations", "--country", "Indonesia", "--json"]).output)
    assert [r["title"] for r in listed] == ["A", "B", "C"] and listed[0]["file"] == "a.xlsx"


def test_reports_are_never_money(tmp_path: Path, do_import, runner: FlaskCliRunner) -> None:
    do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *embassy_rows()]))
    assert json.loads(runner.invoke(args=["totals", "--json"]).output) == []
    reports = json.loads(runner.invoke(args=["reports", "--json"]).output)
    assert len(reports) == 5 and {r["country"] for r in reports} == {"THA"}
    assert set(reports[0]) >= {"id", "fiscal_year", "agency", "office", "country", "region", "implementer", "title",
                               "amount", "file", "sheet", "row"}


def test_problems_message_is_plain(tmp_path: Path, do_import) -> None:
    rows = embassy_rows()
    rows[0][7] = "12,5"
    result = do_import(write_xlsx(tmp_path / "r.xlsx", [EMBASSY_HEADERS, *rows]))
    assert "'12,5' uses a decimal comma" in messages(result.errors)


def _exported(session: Session, path: Path, change=None) -> Path:
    """A workbook shaped as the tracker's export: its rows with their record IDs."""
    from tracker.reporting import list_obligations

    session.rollback()
    headers = ["Tracker ID", "Fiscal Year", "Office", "Country", "Implementing Partner", "Project Title",
               "Program Area", "Award Number", "Obligation Date", "Amount"]
    rows = [[r["id"], r["fiscal_year"], r["office"], r["country"] or "Global", r["implementer"], r["title"], r["area"],
             r["award_number"], r["date"], r["amount"]] for r in list_obligations(session)]
    if change:
        change(rows)
    return write_xlsx(path, [headers, *rows])


def test_an_exported_workbook_re_imported_unchanged_changes_nothing(tmp_path: Path, do_import, session: Session) -> None:
    do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *agency_rows()]), source="agency", agency="DOS")
    before = totals(session, ["fiscal_year", "agency", "country"])
    result = do_import(_exported(session, tmp_path / "export.xlsx"), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    assert (result.records, result.updated, result.superseded) == (0, 0, [])
    assert _count(session, Obligation) == 6 and _count(session, Submission) == 1
    assert totals(session, ["fiscal_year", "agency", "country"]) == before


def test_an_edited_amount_in_an_exported_workbook_updates_that_record_audited(tmp_path: Path, do_import,
                                                                               session: Session) -> None:
    do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *agency_rows()]), source="agency", agency="DOS")

    def edit(rows):
        rows[2][9] = "650,000"
        rows.append([None, 2007, "INL", "Indonesia", "IOM", "A new row", "Protection", None, None, 1000])

    result = do_import(_exported(session, tmp_path / "export.xlsx", edit), source="agency", agency="DOS")
    assert result.status == "committed", messages(result.errors)
    assert (result.records, result.updated, result.superseded) == (1, 1, [])
    session.rollback()
    assert _count(session, Obligation) == 7
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "obligation.update")).one()
    assert (event.before, event.after) == ({"amount": "600000.00"}, {"amount": "650000.00"})
    changed = session.get(Obligation, int(event.entity_id))
    assert (changed.amount, changed.version) == (Decimal("650000.00"), 2)


def test_a_record_id_that_does_not_exist_is_an_error(tmp_path: Path, do_import, session: Session) -> None:
    do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *agency_rows()]), source="agency", agency="DOS")

    def edit(rows):
        rows[0][0] = 99999

    result = do_import(_exported(session, tmp_path / "export.xlsx", edit), source="agency", agency="DOS")
    assert result.status == "rejected"
    assert "there is no record 99999" in messages(result.errors)
