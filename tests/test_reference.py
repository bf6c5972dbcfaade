"""Reference data and the name lookups built on it: countries, agencies and offices."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import Session, select

from tracker.cli import main
from tracker.countries import CountryResolver
from tracker.lookups import AmbiguousName, UnknownName
from tracker.models import (
    OFFICE_NOT_STATED,
    Agency,
    AuditEvent,
    Country,
    Implementer,
    ImplementerAlias,
    Office,
    Program,
    ProgramCountry,
)
from tracker.offices import OfficeResolver
from tracker.seed import seed_reference
from tracker.textnorm import normalize_key


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_seed_is_idempotent(session: Session) -> None:
    before = {m.__name__: _count(session, m) for m in (Agency, Office, Country, Implementer, Program)}
    report = seed_reference(session)
    session.commit()
    assert report.total == 0
    assert {m.__name__: _count(session, m) for m in (Agency, Office, Country, Implementer, Program)} == before


def test_seed_command_on_a_fresh_database_then_again(empty_db_url: str, tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": empty_db_url, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance")}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    first = runner.invoke(main, ["seed"], env=env)
    assert first.exit_code == 0 and "country: 257 added" in first.output
    second = runner.invoke(main, ["seed"], env=env)
    assert second.exit_code == 0 and "nothing added" in second.output


def test_seed_restores_a_missing_row_and_keeps_an_edited_one(session: Session) -> None:
    ilo = session.exec(select(Implementer).where(Implementer.name == "International Labour Organization")).first()
    iom = session.exec(select(Implementer).where(Implementer.name == "International Organization for Migration")).one()
    iom.name = "IOM (UN Migration)"  # an administrator renamed it
    alias = session.exec(select(ImplementerAlias).where(ImplementerAlias.key == "iom")).one()
    session.delete(alias)
    session.commit()
    report = seed_reference(session)
    session.commit()
    assert report.added["implementer_alias"] >= 1
    assert session.get(Implementer, iom.id).name == "IOM (UN Migration)"
    assert ilo is not None


def test_agencies_offices_and_the_initiative(session: Session) -> None:
    codes = set(session.exec(select(Agency.code)).all())
    assert codes == {"DOS", "USAID", "DOL", "DOJ", "HHS", "DHS", "DOD", "ED"}
    pairs = {(a, o) for a, o in session.exec(select(Agency.code, Office.code).join(Office)).all()}
    for pair in [("DOS", "G/TIP"), ("DOS", "INL"), ("DOS", "PRM"), ("DOS", "DRL"), ("DOS", "DS"),
                 ("DOL", "ILAB"), ("DOL", "ETA"), ("DOJ", "OPDAT"), ("DOJ", "ICITAP"), ("DOJ", "OJP"),
                 ("DOJ", "FBI"), ("DOJ", "CRT"), ("DHS", "ICE"), ("DHS", "USCIS"), ("HHS", "ACF"),
                 ("ED", "OSDFS"), ("USAID", "MISSION")]:
        assert pair in pairs
    assert {a for a, o in pairs if o == OFFICE_NOT_STATED} == codes
    program = session.exec(select(Program).where(Program.code == "PRES-50M")).one()
    assert str(program.ceiling) == "50000000.00"
    hubs = set(session.exec(select(ProgramCountry.country_code).where(ProgramCountry.program_id == program.id)).all())
    assert hubs == {"BRA", "KHM", "IND", "IDN", "MEX", "MDA", "SLE", "TZA"}


def test_every_iso_country_kosovo_and_places(session: Session) -> None:
    import pycountry

    codes = set(session.exec(select(Country.code)).all())
    assert {c.alpha_3 for c in pycountry.countries} <= codes
    assert {"XKX", "GLOBAL"} <= codes
    kosovo = session.get(Country, "XKX")
    assert kosovo.name == "Kosovo" and kosovo.region == "EUR" and kosovo.post == "Pristina"
    assert session.get(Country, "IDN").region == "EAP"


@pytest.mark.parametrize(
    ("text", "code"),
    [("Burma", "MMR"), ("Myanmar", "MMR"), ("Burma (Myanmar)", "MMR"), ("Ivory Coast", "CIV"),
     ("Côte d’Ivoire", "CIV"), ("Cote d'Ivoire", "CIV"), ("Lao PDR", "LAO"), ("Laos", "LAO"),
     ("DRC", "COD"), ("Congo, Dem. Rep.", "COD"), ("Democratic Republic of the Congo", "COD"),
     ("Republic of the Congo", "COG"), ("East Timor", "TLS"), ("Swaziland", "SWZ"), ("BiH", "BIH"),
     ("Kosovo", "XKX"), ("Brasil", "BRA"), ("México", "MEX"), ("Republic of Indonesia", "IDN"),
     ("Kyrgyz Republic", "KGZ"), ("IDN", "IDN"), ("ID", "IDN"), ("  indonesia ", "IDN"),
     ("Global", "GLOBAL"), ("Worldwide", "GLOBAL"), ("Africa Regional", "RG-AF"),
     ("Korea, South", "KOR"), ("North Korea", "PRK"), ("Tanzania", "TZA"), ("Viet Nam", "VNM"),
     ("The Philippines", "PHL"), ("Gambia, The", "GMB"), ("Dem. Rep. Congo", "COD"), ("WHA", "RG-WHA"),
     ("EUR", "RG-EUR"), ("AF", "AFG")],
)
def test_country_names(session: Session, text: str, code: str) -> None:
    assert CountryResolver.load(session).resolve(text) == code


@pytest.mark.parametrize(("text", "candidates"), [("Congo", ("COD", "COG")), ("Korea", ("KOR", "PRK")),
                                                  ("Burma (Laos)", ("LAO", "MMR"))])
def test_ambiguous_countries_are_refused_with_the_candidates(session: Session, text: str,
                                                             candidates: tuple[str, ...]) -> None:
    with pytest.raises(AmbiguousName) as error:
        CountryResolver.load(session).resolve(text)
    assert set(error.value.candidates) == set(candidates)
    assert text in str(error.value)


def test_part_of_exactly_one_countrys_name_is_read_and_said_to_be_partial(session: Session) -> None:
    resolver = CountryResolver.load(session)
    assert resolver.match("Saudi") == ("SAU", "partial")
    assert resolver.match("Burkina") == ("BFA", "partial")
    with pytest.raises(AmbiguousName):
        resolver.match("Islands")
    with pytest.raises(UnknownName):
        resolver.match("New")  # too short to be read as part of a name


def test_unknown_country_is_refused_with_a_hint_never_guessed(session: Session) -> None:
    resolver = CountryResolver.load(session)
    with pytest.raises(UnknownName, match='did you mean "Indonesia"'):
        resolver.resolve("Indonsia")
    with pytest.raises(UnknownName, match="not a known country"):
        resolver.resolve("Narnia")
    with pytest.raises(UnknownName, match="no country"):
        resolver.resolve("  ")


def test_embassy_posts(session: Session) -> None:
    resolver = CountryResolver.load(session)
    assert resolver.resolve_post("Rangoon") == "MMR"
    assert resolver.resolve_post("Pristina") == "XKX"
    assert resolver.resolve_post("Brasília") == "BRA"
    assert resolver.resolve_post("Springfield") is None


@pytest.mark.parametrize(
    ("text", "agency_text", "label"),
    [("State/INL", None, "DOS/INL"), ("INL", None, "DOS/INL"), ("DOS-INL", None, "DOS/INL"),
     ("Labor-ILAB", None, "DOL/ILAB"), ("USAID/Jakarta", None, "USAID/MISSION"),
     ("DOJ Criminal Division (OPDAT)", None, "DOJ/OPDAT"), ("DOJ Criminal Division", None, "DOJ/CRM"),
     ("Embassy Accra", None, "DOS/POST"), ("U.S. Embassy Bishkek", None, "DOS/POST"),
     ("State - TIP Office", None, "DOS/G/TIP"), ("DOS/GTIP", None, "DOS/G/TIP"),
     ("Bureau of International Narcotics and Law Enforcement Affairs", None, "DOS/INL"),
     ("Population, Refugees, and Migration", "State", "DOS/PRM"), ("ICITAP", "Justice", "DOJ/ICITAP"),
     ("USAID Mission", "USAID", "USAID/MISSION"), ("ILAB (DOL)", None, "DOL/ILAB"),
     ("U.S. Agency for International Development", None, "USAID"), ("Department of State", None, "DOS"),
     ("", "Labor", "DOL"), ("USAID/CAR", None, "USAID/CAR"), ("State/EUR", None, "DOS/EUR"),
     ("DOL-ILAB/OCFT", None, "DOL/ILAB"), ("HHS/ACF/OTIP", None, "HHS/ACF")],
)
def test_office_names(session: Session, text: str, agency_text: str | None, label: str) -> None:
    resolved = OfficeResolver(session).resolve(text, agency_text=agency_text)
    assert resolved.label == label
    assert resolved.stated == ("/" in label)


def test_agency_alone_is_the_agencys_office_not_stated(session: Session) -> None:
    resolver = OfficeResolver(session)
    state = resolver.resolve("State")
    assert state.office_code == OFFICE_NOT_STATED and not state.stated
    assert resolver.not_stated(state.agency_id) == state


@pytest.mark.parametrize(
    ("text", "agency_text", "message"),
    [("Labor/INL", None, "names DOL, but INL is an office of DOS"),
     ("INL", "Labor", "names DOL, but INL is an office of DOS"),
     ("Bureau of Internatonal Labor Affairs", None, 'did you mean "Bureau of International Labor Affairs"'),
     ("Ministry of Magic", None, "not a known agency or office"),
     ("", None, "no agency or office")],
)
def test_unknown_or_conflicting_offices_are_refused(session: Session, text: str, agency_text: str | None,
                                                    message: str) -> None:
    with pytest.raises(UnknownName, match=message):
        OfficeResolver(session).resolve(text, agency_text=agency_text)


def test_normalized_keys() -> None:
    assert normalize_key("Côte d’Ivoire") == normalize_key("COTE D'IVOIRE") == "cote divoire"
    assert normalize_key("Int'l Org. for Migration") == "intl org for migration"
    assert normalize_key("Bosnia & Herzegovina") == "bosnia and herzegovina"


def test_seed_is_audited(session: Session) -> None:
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "seed")).all()
    assert len(events) == 1 and events[0].after["country"] == 257
