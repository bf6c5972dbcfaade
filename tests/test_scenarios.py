"""End to end on generated scenarios with known answers (benchmarks/scenario.py): every file
imports, totals equal the key cell by cell, and every flag type clears the bar (recall 0.95,
precision 0.90) with no negative flagged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session

from benchmarks.scenario import Scenario, score_flags
from tests.importing.conftest import messages
from tracker.flags import list_flags
from tracker.reporting import totals


@pytest.mark.parametrize(("seed", "countries", "years"), [(11, 8, [2009, 2010, 2011]), (12, 10, [2016, 2017])])
def test_generated_scenario(tmp_path: Path, do_import, session: Session, seed: int, countries: int,
                            years: list[int]) -> None:
    scenario = Scenario(seed, countries, years)
    scenario.generate()
    scenario.plant()
    scenario.report()
    scenario.write(tmp_path)
    key = scenario.answer_key()
    for entry in key["files"]:
        options = ({"source": "agency", "agency": entry["agency"]} if entry["kind"] == "agency" else
                   {"source": "embassy", "country": entry["country"], "fiscal_years": key["fiscal_years"]})
        result = do_import(tmp_path / entry["file"], **options)
        assert result.status == "committed", (entry["file"], messages(result.errors))
    session.rollback()
    got = {(r["fiscal_year"], r["agency"], r["country"]): r["amount"]
           for r in totals(session, ["fiscal_year", "agency", "country"])}
    expected = {(r["fiscal_year"], r["agency"], r["country"]): Decimal(str(r["amount"]))
                for r in key["agency_totals_as_reported"]}
    assert got == expected
    assert score_flags(key, list_flags(session)) == []
