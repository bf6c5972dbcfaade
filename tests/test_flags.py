"""Reconcile and flags on data the tests build: each flag type, each negative case, decision
memory across recomputes, incremental recompute, and the `tracker flags` contract."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from tests.importing.conftest import messages
from tests.workbooks import Sheet, write_xlsx
from tracker.flags import FlagError, FlagFilters, StaleFlag, decide_flag, flag_history, list_flags
from tracker.models import AuditEvent, Flag, ReportMatch
from tracker.reconcile import awareness, reconcile

AGENCY = ["Fiscal Year", "Office", "Country", "Implementing Partner", "Project Title", "Initiative", "Amount"]
DOS_ROWS = [
    [2006, "INL", "Indonesia", "IOM", "Safe migration information centers", None, 450000],          # 2
    [2006, "INL", "Indonesia", "IOM", "Safe migration information centers", None, 450000],          # 3 copy of 2
    [2006, "G/TIP", "Indonesia", "Winrock International", "Shelter and reintegration services for trafficking victims",
     None, 300000],                                                                                  # 4 mismatch
    [2006, "PRM", "Indonesia", "UNICEF", "Training judges and prosecutors on anti-trafficking law", None, 200000],  # 5
    [2007, "PRM", "Indonesia", "UNICEF", "Training judges and prosecutors on anti-trafficking law", None, 200000],  # 6
    [2006, "INL", "Kenya", "International Justice Mission", "Victim hotline and referral network", None, 100000],  # 7
]
USAID_ROWS = [
    [2006, "USAID/Jakarta", "Indonesia", "Int'l Org. for Migration", "Safe migration info centers", None, 450000],  # 2
    [2006, "USAID Mission", "Indonesia", "Winrock Intl", "Public awareness campaign on trafficking risks", None,
     100000],                                                                                        # 3
]
EMBASSY = ["Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"]
JAKARTA_ROWS = [
    [2006, "State", "INL", "IOM", "Safe migration info centers", "$450,000"],                          # 2
    [2006, "USAID", "USAID Mission", "IOM", "Safe migration information centres", "450K"],             # 3
    [2006, "State", "State/G-TIP", "Winrock Intl", "Shelter/reintegration svcs for TIP victims", "250,000"],  # 4
    [2006, "USAID", "USAID/Jakarta", "Winrock", "Public awareness campaign", 100000],                   # 5
    [2006, "State", "Embassy Jakarta", "Vital Voices", "Small grant: NGO outreach in border towns", 20000],  # 6
    [2006, "State", "Embassy Jakarta", "Vital Voices", "Small grant: NGO outreach in border towns", 20000],  # 7 copy
]


@pytest.fixture
def scenario(tmp_path: Path, do_import) -> dict:
    """Two agency files and one embassy report (Indonesia, FY2006), reconciled after each import."""
    results = {
        "dos": do_import(write_xlsx(tmp_path / "dos.xlsx", [Sheet("State", [AGENCY, *DOS_ROWS])]), source="agency",
                         agency="DOS"),
        "usaid": do_import(write_xlsx(tmp_path / "usaid.xlsx", [Sheet("CTIP", [AGENCY, *USAID_ROWS])]),
                           source="agency", agency="USAID"),
        "jakarta": do_import(write_xlsx(tmp_path / "jakarta.xlsx", [Sheet("Programs", [EMBASSY, *JAKARTA_ROWS])]),
                             source="embassy", country="IDN", fiscal_years=[2006]),
    }
    for result in results.values():
        assert result.status == "committed", messages(result.errors)
    return results


def _flags(session: Session, kind: str) -> list[set[tuple[str, str, int]]]:
    session.rollback()
    return [{(r["file"], r["sheet"], r["row"]) for r in f["records"]}
            for f in list_flags(session, FlagFilters(types=(kind,)))]


def test_duplicate_entry_in_agency_and_embassy_sources(scenario, session: Session) -> None:
    assert sorted(map(sorted, _flags(session, "duplicate_entry"))) == [
        [("dos.xlsx", "State", 2), ("dos.xlsx", "State", 3)],
        [("jakarta.xlsx", "Programs", 6), ("jakarta.xlsx", "Programs", 7)]]


def test_possible_duplicate_funding_names_both_agencies_records(scenario, session: Session) -> None:
    assert _flags(session, "possible_duplicate_funding") == [
        {("dos.xlsx", "State", 2), ("dos.xlsx", "State", 3), ("usaid.xlsx", "CTIP", 2)}]
    flag = list_flags(session, FlagFilters(types=("possible_duplicate_funding",)))[0]
    assert flag["explanation"].startswith("State INL and USAID mission both record International Organization for "
                                          "Migration for 'Safe migration information centers' in Indonesia, FY2006")
    assert "same implementer (alias)" in flag["explanation"] and "amounts $450,000 and $450,000" in flag["explanation"]
    assert flag["evidence"]["title"]["score"] >= 0.9


def test_same_implementer_other_activity_and_next_years_tranche_are_not_duplicates(scenario, session: Session) -> None:
    flagged = set().union(*_flags(session, "possible_duplicate_funding"))
    assert ("usaid.xlsx", "CTIP", 3) not in flagged  # Winrock: public awareness vs shelter (State)
    assert ("dos.xlsx", "State", 5) not in flagged and ("dos.xlsx", "State", 6) not in flagged  # FY2006 and FY2007


def test_amount_mismatch_between_matched_records(scenario, session: Session) -> None:
    assert _flags(session, "amount_mismatch") == [{("jakarta.xlsx", "Programs", 4), ("dos.xlsx", "State", 4)}]
    flag = list_flags(session, FlagFilters(types=("amount_mismatch",)))[0]
    assert "embassy $250,000, agency $300,000 ($50,000 less)" in flag["explanation"]
    assert flag["evidence"]["title"]["score"] >= 0.8


def test_embassy_unaware_only_where_the_post_reported(scenario, session: Session) -> None:
    # FY2006 UNICEF training is missing from the Jakarta report; FY2007 and Kenya were never reported on.
    assert _flags(session, "embassy_unaware") == [{("dos.xlsx", "State", 5)}]


def test_not_in_agency_records_names_every_copy(scenario, session: Session) -> None:
    assert _flags(session, "not_in_agency_records") == [{("jakarta.xlsx", "Programs", 6), ("jakarta.xlsx", "Programs", 7)}]


def test_matches_carry_scores_and_evidence(scenario, session: Session) -> None:
    matches = session.exec(select(ReportMatch)).all()
    assert len(matches) == 5  # four programs; the State row typed twice is matched as one, both rows listed
    assert all(0.6 <= m.score <= 1 for m in matches)
    assert {"implementer", "title", "agency", "amount", "date", "score"} <= set(matches[0].evidence)


def test_awareness_by_count_and_dollars(scenario, session: Session) -> None:
    rows = awareness(session, "IDN", 2006)
    assert rows == [{"country": "IDN", "fiscal_year": 2006, "obligations": 6, "listed": 5,
                     "share_by_count": 0.833, "amount": Decimal("1950000.00"), "listed_amount": Decimal("1750000.00"),
                     "share_by_dollars": 0.897, "median_days_to_first_report": None}]


def test_decisions_stay_with_the_flag_until_its_evidence_changes(scenario, tmp_path: Path, do_import,
                                                                  session: Session) -> None:
    session.rollback()
    unaware = list_flags(session, FlagFilters(types=("embassy_unaware",)))[0]
    mismatch = list_flags(session, FlagFilters(types=("amount_mismatch",)))[0]
    for flag in (unaware, mismatch):
        decide_flag(session, flag["id"], decision="explained", comment="known to post by cable", actor="ana")
    session.commit()
    reconcile(session)  # a full recompute changes nothing
    session.commit()
    assert {f["status"] for f in list_flags(session, FlagFilters(types=("embassy_unaware", "amount_mismatch")))} == {"decided"}

    rows = [r[:] for r in JAKARTA_ROWS]
    rows[2][5] = "275,000"  # the post corrects its amount: the mismatch's evidence changes
    result = do_import(write_xlsx(tmp_path / "jakarta2.xlsx", [Sheet("Programs", [EMBASSY, *rows])]),
                       source="embassy", country="IDN", fiscal_years=[2006])
    assert result.superseded and "1 reopened" in " ".join(result.notes)
    session.rollback()
    again = {f["id"]: f for f in list_flags(session, FlagFilters(types=("embassy_unaware", "amount_mismatch")))}
    assert again[mismatch["id"]]["status"] == "open" and "$275,000" in again[mismatch["id"]]["explanation"]
    assert again[unaware["id"]]["status"] == "decided"
    assert again[mismatch["id"]]["decision"] == "explained"  # the earlier decision is still shown
    assert [d.comment for d in flag_history(session, mismatch["id"])] == ["known to post by cable"]


def test_a_flag_whose_condition_ends_is_closed_not_deleted(scenario, tmp_path: Path, do_import,
                                                             session: Session) -> None:
    rows = [r[:] for r in JAKARTA_ROWS] + [
        [2006, "State", "PRM", "UNICEF", "Judges/prosecutors TIP training", 200000]]
    do_import(write_xlsx(tmp_path / "jakarta2.xlsx", [Sheet("Programs", [EMBASSY, *rows])]), source="embassy",
              country="IDN", fiscal_years=[2006])
    session.rollback()
    assert _flags(session, "embassy_unaware") == []
    closed = list_flags(session, FlagFilters(types=("embassy_unaware",), include_inactive=True))
    assert len(closed) == 1 and closed[0]["active"] is False


def test_recompute_after_import_touches_only_its_country_years(scenario, tmp_path: Path, do_import) -> None:
    rows = [[2006, "State", "INL", "IJM", "Hotline", 100000]]
    result = do_import(write_xlsx(tmp_path / "nairobi.xlsx", [EMBASSY, *rows]), source="embassy", country="KEN",
                       fiscal_years=[2006])
    assert any("flags recomputed for 1 country-years" in n for n in result.notes)


def test_ceiling_exceeded(tmp_path: Path, do_import, session: Session) -> None:
    rows = [[2004 + i % 3, "G/TIP", hub, "IOM", f"Hub program {i}", "$50M initiative", 9_000_000]
            for i, hub in enumerate(["Brazil", "Cambodia", "India", "Indonesia", "Mexico", "Moldova"])]
    do_import(write_xlsx(tmp_path / "pres.xlsx", [AGENCY, *rows]), source="agency", agency="DOS")
    flags = list_flags(session, FlagFilters(types=("ceiling_exceeded",)))
    assert len(flags) == 1
    assert "total $54,000,000, $4,000,000 over its $50,000,000 ceiling" in flags[0]["explanation"]
    assert len(flags[0]["records"]) == 1  # the obligation that took it past the ceiling


def test_two_reviewers_deciding_at_once_the_second_is_told(scenario, session: Session) -> None:
    session.rollback()
    flag = list_flags(session, FlagFilters(types=("embassy_unaware",)))[0]
    decide_flag(session, flag["id"], decision="confirmed", comment="first", expected_version=flag["version"])
    session.commit()
    with pytest.raises(StaleFlag, match="changed since you opened it"):
        decide_flag(session, flag["id"], decision="not_a_problem", comment="second", expected_version=flag["version"])
    session.rollback()
    assert session.get(Flag, flag["id"]).comment == "first"


def test_flags_cli_contract(scenario, runner: FlaskCliRunner, session: Session) -> None:
    listed = json.loads(runner.invoke(args=["flags", "--json"]).output)
    assert {f["type"] for f in listed} == {"duplicate_entry", "possible_duplicate_funding", "amount_mismatch",
                                           "embassy_unaware", "not_in_agency_records"}
    flag = next(f for f in listed if f["type"] == "embassy_unaware")
    assert set(flag) >= {"id", "type", "status", "explanation", "evidence", "records"}
    assert flag["records"] == [{"file": "dos.xlsx", "sheet": "State", "row": 5, "kind": "obligation",
                                "id": flag["records"][0]["id"]}]
    runner.invoke(args=["users", "create", "ana", "--role", "reviewer"])
    done = runner.invoke(args=["flags", "decide", str(flag["id"]), "--decision", "follow_up", "--comment",
                               "ask the post", "--by", "ana"])
    assert done.exit_code == 0, done.output
    decided = json.loads(runner.invoke(args=["flags", "--status", "decided", "--json"]).output)
    assert [(f["id"], f["decision"], f["comment"]) for f in decided] == [(flag["id"], "follow_up", "ask the post")]
    assert json.loads(runner.invoke(args=["flags", "--type", "embassy_unaware", "--country", "Indonesia",
                                          "--fiscal-year", "2006", "--status", "open", "--json"]).output) == []
    bad = runner.invoke(args=["flags", "decide", "99999", "--decision", "confirmed", "--comment", "x"])
    assert bad.exit_code == 1 and "no flag 99999" in bad.output
    session.rollback()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "flag.decide")).one().actor == "ana"
    rerun = runner.invoke(args=["reconcile", "--country", "IDN"])
    assert rerun.exit_code == 0, rerun.output
    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "reconcile")).one()
    assert event.actor == "cli" and "IDN" in event.summary and event.after["country_years"] >= 1
    assert event.after["opened"] == 0 and "embassy_unaware" in event.after["flags_by_type"]


def test_decisions_need_a_comment_and_a_known_decision(scenario, session: Session) -> None:
    session.rollback()
    flag = list_flags(session)[0]
    with pytest.raises(FlagError, match="needs a comment"):
        decide_flag(session, flag["id"], decision="confirmed", comment=" ")
    with pytest.raises(FlagError, match="unknown decision"):
        decide_flag(session, flag["id"], decision="maybe", comment="x")
