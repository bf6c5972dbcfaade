"""Generate a synthetic anti-trafficking funding scenario with known answers, in the shape of
../shared/samples but with other layouts and spellings, to check the tracker's import, matching
and flags on data it was not tuned on.

    .venv/bin/python benchmarks/scenario.py OUTDIR [--seed N] [--countries 20] [--years 2009-2011]

Writes agency files (State: title rows, "Sub-Agency", FY subtotal formulas, a note; USAID: by
"Operating Unit", in thousands; Labor: a sheet per fiscal year; Justice: a CSV; DHS: where it
funds something), one report per covered post in five layouts, and OUTDIR/answer_key.json
(`files`, `fiscal_years`, `flags`, `negatives`, `matches`, `agency_totals_as_reported`,
`obligations`; records are [file, sheet, row], sheet "" and line numbers for CSV). Planted:
rows typed twice, two agencies funding one implementer for one activity, obligations a covering
post omits, post grants and ghost programs no agency recorded, amounts 5-60% apart; negatives:
one implementer doing something else for another agency, next year's tranche. Countries with no
post report never yield embassy_unaware. Deterministic for a seed. Score it with
`.venv/bin/python .ci/shared_corpus.py --shared ROOT` where ROOT/samples is OUTDIR.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

# ISO3 | State-style; USAID-style; Justice-style; other spellings | post | USAID operating unit
COUNTRY_TABLE = """
CIV|Cote d'Ivoire;Côte d'Ivoire;Ivory Coast;Côte d’Ivoire|Abidjan|
MMR|Burma;Burma;Myanmar;Burma (Myanmar)|Rangoon|USAID/RDMA
LAO|Laos;Lao PDR;Laos;Lao People's Democratic Republic|Vientiane|USAID/RDMA
XKX|Kosovo;Kosovo;Kosovo;Republic of Kosovo|Pristina|USAID/Kosovo
COD|Democratic Republic of the Congo;Congo, Dem. Rep.;DRC;DR Congo|Kinshasa|
TLS|Timor-Leste;Timor-Leste;East Timor;Timor Leste|Dili|USAID/Timor-Leste
SWZ|Swaziland;Swaziland;Eswatini;Kingdom of Swaziland|Mbabane|USAID/Southern Africa
BIH|Bosnia and Herzegovina;Bosnia and Herzegovina;BiH;Bosnia-Herzegovina|Sarajevo|
KHM|Cambodia;Cambodia;Cambodia;Kingdom of Cambodia|Phnom Penh|
THA|Thailand;Thailand;Thailand;Kingdom of Thailand|Bangkok|USAID/RDMA
VNM|Vietnam;Vietnam;Viet Nam;Viet Nam|Hanoi|
PHL|Philippines;Philippines;Philippines;The Philippines|Manila|
NPL|Nepal;Nepal;Nepal;Nepal|Kathmandu|
BGD|Bangladesh;Bangladesh;Bangladesh;Bangladesh|Dhaka|
IDN|Indonesia;Indonesia;Indonesia;Republic of Indonesia|Jakarta|
MDA|Moldova;Moldova;Republic of Moldova;Moldova, Republic of|Chisinau|
UKR|Ukraine;Ukraine;Ukraine;Ukraine|Kyiv|
ALB|Albania;Albania;Albania;Republic of Albania|Tirana|
KGZ|Kyrgyz Republic;Kyrgyzstan;Kyrgyzstan;Kyrgyz Republic|Bishkek|USAID/Central Asia
GHA|Ghana;Ghana;Ghana;Ghana|Accra|
NGA|Nigeria;Nigeria;Nigeria;Federal Republic of Nigeria|Abuja|
SLE|Sierra Leone;Sierra Leone;Sierra Leone;Sierra Leone|Freetown|
KEN|Kenya;Kenya;Kenya;Kenya|Nairobi|
TZA|Tanzania;Tanzania;United Republic of Tanzania;Tanzania|Dar es Salaam|
HTI|Haiti;Haiti;Haiti;Haïti|Port-au-Prince|
DOM|Dominican Republic;Dominican Republic;Dominican Republic;República Dominicana|Santo Domingo|
GTM|Guatemala;Guatemala;Guatemala;Guatemala|Guatemala City|
MEX|Mexico;Mexico;Mexico;México|Mexico City|
SEN|Senegal;Senegal;Senegal;Sénégal|Dakar|
GMB|The Gambia;Gambia;Gambia, The;The Gambia|Banjul|
"""
TRICKY = ["CIV", "MMR", "LAO", "XKX", "COD", "TLS", "SWZ", "BIH"]

# Title | 3P area | funders (G=G/TIP I=INL P=PRM R=DRL U=USAID L=DOL J=DOJ H=DHS) | post abbreviations
ACTIVITY_TABLE = """
Training labor inspectors to detect forced labor|Prosecution|GRLU|Labor insp. training (forced labor);Forced labor detection trng - labor inspectors;Labor inspector training on forced labor
Victim identification training for border officials|Protection|GIJH|Victim ID trng - border officials;Border officials victim ID training
Legal aid clinics for survivors|Protection|GRU|Legal aid for survivors;Survivor legal aid clinics
Media campaign on safe recruitment|Prevention|GUL|Safe recruitment media campaign;Media campaign - safe recruitment
Strengthening anti-trafficking task forces|Prosecution|GIJ|Strengthen TIP task forces;Anti-TIP task force support;TIP task forces
Shelter and reintegration services for trafficking victims|Protection|GPU|Shelter/reintegration svcs;Shelter & reintegration for TIP victims
Specialized prosecutor training on trafficking cases|Prosecution|IJG|Prosecutor trng - TIP cases;TIP case prosecutor training
Reintegration grants and vocational training for returnees|Protection|PUL|Vocational trng for returnees;Returnee reintegration & vocational grants
Child protection committees in source villages|Prevention|UGL|Village child protection committees;Child protection cmtes (source villages)
Anti-trafficking curriculum for police academy|Prosecution|IJH|Police academy TIP curriculum;TIP curriculum - police academy
Ethical recruitment monitoring of labor agencies|Prevention|LRG|Recruitment agency monitoring;Ethical recruitment monitoring
Witness protection support for trafficking trials|Protection|JI|Witness protection - TIP trials;Trial witness protection support
Data collection system on trafficking cases|Prosecution|GUJ|TIP case data system;Trafficking data collection system
Community radio programs on trafficking risks|Prevention|UGR|Community radio - TIP risks;TIP radio programs (community)
National referral mechanism for victim assistance|Protection|GPU|Natl referral mechanism (victims);National referral mechanism
Anti-corruption training for immigration officers|Prosecution|IHJ|Immigration officer anti-corruption trng;Anti-corruption trng - immigration
Economic empowerment for at-risk women|Prevention|URP|Econ. empowerment - at-risk women;At-risk women economic empowerment
Hotline for migrant workers in distress|Protection|PLG|Migrant worker hotline;Hotline - migrant workers
Rescue and repatriation of trafficked fishermen|Protection|PG|Repatriation of trafficked fishermen;Fishermen rescue/repat.
Reducing forced child labor in cocoa and cotton|Prevention|LU|Forced child labor - cocoa/cotton;Child labor reduction (cocoa & cotton)
Bench book on trafficking law for judges|Prosecution|JIR|Judges' TIP bench book;TIP bench book for judges
Cross-border law enforcement cooperation on trafficking|Prosecution|IJH|Cross-border LE cooperation;Cross-border LE coop. on TIP
Psychosocial counseling for child survivors|Protection|PUG|Psychosocial counseling - children;Child survivor counseling
Safe migration information centers|Prevention|UPL|Safe migration info ctrs;Migration info centers
Labor law reform to cover domestic workers|Prevention|LR|Domestic worker labor law reform;Labor law reform (domestic workers)
Victim-centered investigation training for police|Prosecution|JIH|Victim-centered investigations trng;Police training - victim-centered investigations
"""

# Canonical name (as agencies write it) | how posts write it | funder letters that favour it
IMPLEMENTER_TABLE = """
International Organization for Migration|IOM;Int'l Org. for Migration;International Organization for Migration (IOM)|PUJHG
UNICEF|United Nations Children's Fund;UNICEF|UG
International Labour Organization|ILO;ILO-IPEC;International Labor Organization|LR
UNODC|UN Office on Drugs and Crime;United Nations Office on Drugs and Crime|IJH
Winrock International|Winrock Intl;Winrock|LUG
World Vision|World Vision International;World Vision Inc.|ULP
Save the Children|Save the Children Federation;Save the Children US|UPL
Catholic Relief Services|CRS;Catholic Relief Services (CRS)|PU
International Justice Mission|Intl Justice Mission;IJM|JIG
American Bar Association Rule of Law Initiative|ABA ROLI;ABA Rule of Law Initiative|JIR
Solidarity Center|American Center for International Labor Solidarity;AFL-CIO Solidarity Center|LR
Vital Voices Global Partnership|Vital Voices|GR
The Asia Foundation|Asia Foundation;TAF|UGI
Free the Slaves|Free the Slaves, Inc.|GR
ECPAT International|ECPAT|GU
Terre des hommes|Tdh;Terre des Hommes Foundation|PU
Counterpart International|Counterpart Intl;Counterpart|UG
The Salvation Army|Salvation Army|P
Polaris Project|Polaris|G
Heartland Alliance|Heartland Alliance International|PR
CARE|CARE International;CARE USA|UP
Plan International|Plan International USA;Plan Intl|UL
International Rescue Committee|IRC;Intl Rescue Committee|P
"""

#: How an agency's own file writes some implementers (its house style).
AGENCY_HOUSE_NAMES = {"USAID": {"International Organization for Migration": "International Organization for Migration (IOM)"},
                      "DOL": {"International Labour Organization": "ILO-IPEC", "Solidarity Center": "AFL-CIO Solidarity Center"},
                      "DOJ": {"American Bar Association Rule of Law Initiative": "ABA Rule of Law Initiative"}}

LETTER_OFFICE = {"G": ("DOS", "G/TIP"), "I": ("DOS", "INL"), "P": ("DOS", "PRM"), "R": ("DOS", "DRL"),
                 "U": ("USAID", "MISSION"), "L": ("DOL", "ILAB"), "J": ("DOJ", None), "H": ("DHS", "ICE")}
FUNDER_WEIGHTS = {"G": 16, "I": 10, "P": 8, "R": 6, "U": 20, "L": 15, "J": 15, "H": 0}
#: How posts write each funder in one column ("{city}" is the post's city).
POST_FUNDER = {("DOS", "G/TIP"): ["State/G-TIP", "G/TIP", "DOS - G/TIP", "State TIP Office"],
               ("DOS", "INL"): ["State/INL", "DOS - INL", "INL"], ("DOS", "PRM"): ["State/PRM", "DOS - PRM", "PRM"],
               ("DOS", "DRL"): ["State/DRL", "DOS - DRL", "DRL"], ("DOS", None): ["Dept. of State", "State Department"],
               ("USAID", "MISSION"): ["USAID Mission", "USAID/{city}", "USAID"],
               ("DOL", "ILAB"): ["Labor (ILAB)", "DOL/ILAB", "USDOL", "Labor-ILAB"],
               ("DOJ", "OPDAT"): ["DOJ/OPDAT", "Justice - OPDAT", "OPDAT"],
               ("DOJ", "ICITAP"): ["Justice - ICITAP", "DOJ/ICITAP", "ICITAP"],
               ("DHS", "ICE"): ["DHS/ICE", "ICE", "Homeland Security (ICE)"], ("USAID", None): ["USAID"],
               ("DOL", None): ["Department of Labor", "DOL"], ("DOJ", None): ["Justice", "Department of Justice"],
               ("DHS", None): ["DHS"],
               ("POST", None): ["Embassy {city}", "State (post)", "Public diplomacy small grant"]}
#: The same, for posts that split agency and office into two columns.
POST_AGENCY = {"DOS": ["State", "Department of State", "DOS"], "USAID": ["USAID"], "DOL": ["Labor", "Department of Labor"],
               "DOJ": ["Justice", "DOJ"], "DHS": ["Homeland Security", "DHS"], "POST": ["State", "Department of State"]}
POST_OFFICE = {"G/TIP": ["G/TIP", "TIP Office"], "INL": ["INL", "Bureau of International Narcotics and Law Enforcement Affairs"],
               "PRM": ["PRM", "Population, Refugees, and Migration"], "DRL": ["DRL"], "MISSION": ["Mission", "USAID/{city}"],
               "ILAB": ["ILAB", "Bureau of International Labor Affairs"], "OPDAT": ["OPDAT"], "ICITAP": ["ICITAP"],
               "ICE": ["ICE", "Immigration and Customs Enforcement"], None: [""],
               "POST": ["Embassy {city}", "Public Affairs Section", "Public diplomacy small grant"]}
POST_GRANTS = ["Small grant: student theater on TIP", "Public diplomacy speaker tour by a survivor advocate",
               "Self-help grant: sewing cooperative", "Journalist workshop on reporting TIP", "Youth film contest on modern slavery",
               "Small grant: faith leaders roundtable", "Exchange visit: NGO leaders to the U.S."]
#: Programs a post lists under an agency although no agency recorded them.
GHOST_PROGRAMS = ["Survivor art therapy pilot", "Mobile clinic outreach to brick kiln workers",
                  "Microloans for former domestic servants", "Orphanage monitoring pilot"]
AMOUNTS = [50000, 75000, 100000, 120000, 150000, 175000, 185000, 200000, 225000, 250000, 300000, 350000, 400000,
           415000, 450000, 500000, 600000, 650000, 750000, 800000, 1000000, 1135000, 1200000, 1250000, 1500000]
GENERIC_WORDS = {"trafficking", "anti-trafficking", "victims", "victim", "training", "for", "and", "on", "of", "the",
                 "in", "to", "support", "services", "trafficked", "survivors"}


@dataclass
class Obligation:
    """One program as its agency obligated it (the ground truth), with the rows that record it."""
    key: str
    fy: int
    agency: str
    office: str | None
    country: str
    implementer: str
    activity: int
    amount: int
    day: date
    award: str | None = None
    typed_twice: bool = False
    tranche_of: Obligation | None = None
    recs: list = field(default_factory=list)


@dataclass
class PostRow:
    """One line of an embassy report: the program it reports (None: none recorded) and how it is written."""
    country: str
    fy: int
    obligation: Obligation | None
    funder: tuple[str, str | None]
    implementer: str
    title: str
    amount: int
    listed_twice: bool = False
    recs: list = field(default_factory=list)


def _rows(table: str) -> list[list[str]]:
    return [line.split("|") for line in table.strip().splitlines()]


COUNTRIES = {r[0]: (r[1].split(";"), r[2], r[3] or f"USAID/{r[2]}") for r in _rows(COUNTRY_TABLE)}
ACTIVITIES = [(r[0], r[1], r[2], r[3].split(";")) for r in _rows(ACTIVITY_TABLE)]
IMPLEMENTERS = {r[0]: (r[1].split(";"), r[2]) for r in _rows(IMPLEMENTER_TABLE)}


def content_words(title: str) -> set[str]:
    """The words that say what a program does (cut to five letters, generic words left out)."""
    words = {w.strip("()&-/.,'").lower() for w in title.split()} - GENERIC_WORDS
    return {w[:5] for w in words if w}


def money_text(amount: int, style: str) -> str | int:
    """An amount as posts write it: "$1,250,000", "USD 300,000", "1.25M", "450K" or a plain number."""
    if style == "dollar":
        return f"${amount:,}"
    if style == "usd":
        return f"USD {amount:,}"
    if style == "short":
        if amount >= 1_000_000:
            return format((Decimal(amount) / 1_000_000).normalize(), "f") + "M"
        return f"{amount // 1000}K"
    return amount


def new_book() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    return book


def titled_sheet(book: Workbook, title: str, *lines: str):
    """A new sheet with title lines in column A from row 1."""
    sheet = book.create_sheet(title)
    for number, text in enumerate(lines, start=1):
        sheet.cell(row=number, column=1, value=text)
    return sheet


class Scenario:
    """Ground truth, planted cases, the files that carry them and the answer key."""

    def __init__(self, seed: int, n_countries: int, years: list[int]):
        self.rng = random.Random(seed)
        self.seed, self.years = seed, years
        rng = self.rng
        tricky = rng.sample(TRICKY, min(len(TRICKY), max(3, n_countries // 4)))
        others = rng.sample(sorted(set(COUNTRIES) - set(TRICKY)), n_countries - len(tricky))
        self.countries = sorted(tricky + others)
        self.dhs_countries = set(rng.sample(self.countries, 3))
        self.covered = set(rng.sample(self.countries, round(len(self.countries) * 0.75)))
        self.obligations: list[Obligation] = []
        self.rows: list[PostRow] = []
        self.negatives: list[tuple[Obligation, Obligation, str]] = []
        self.duplicate_funding: list[tuple[Obligation, Obligation]] = []
        self.files: list[dict] = []

    # --- ground truth -----------------------------------------------------------------------

    def block(self, country: str, fy: int) -> list[Obligation]:
        return [o for o in self.obligations if o.country == country and o.fy == fy]

    def new_obligation(self, country: str, fy: int, agency: str, office: str | None, implementer: str,
                       activity: int, amount: int) -> Obligation:
        start = date(fy - 1, 10, 1)
        day = start + timedelta(days=self.rng.randrange(364))
        award = {"DOS": f"S-{(office or 'X').replace('/', '')}-{fy % 100:02d}-GR-{self.rng.randrange(1000, 9999)}",
                 "USAID": f"AID-{self.rng.randrange(100, 699)}-A-{fy % 100:02d}-{self.rng.randrange(10000, 99999):05d}",
                 "DOL": f"IL-{self.rng.randrange(17000, 25000)}-{fy % 100:02d}-75-K"}.get(agency)
        ob = Obligation(f"O{len(self.obligations) + 1:04d}", fy, agency, office, country, implementer, activity,
                        amount, day, award)
        self.obligations.append(ob)
        return ob

    def pick_funder(self, country: str) -> str:
        weights = dict(FUNDER_WEIGHTS, H=12 if country in self.dhs_countries else 0)
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def office_of(self, letter: str) -> tuple[str, str | None]:
        agency, office = LETTER_OFFICE[letter]
        return agency, office or self.rng.choice(["OPDAT", "ICITAP"])

    def pick_implementer(self, letter: str, taken: set[str]) -> str:
        favoured = [n for n, (_, letters) in IMPLEMENTERS.items() if letter in letters and n not in taken]
        anyone = [n for n in IMPLEMENTERS if n not in taken]
        return self.rng.choice(favoured if favoured and self.rng.random() < 0.8 else anyone)

    def generate(self) -> None:
        """Programs per country-year, some continued next year as a new tranche."""
        rng = self.rng
        for fy in self.years:
            for country in self.countries:
                for old in self.block(country, fy - 1):
                    if old.tranche_of is None and rng.random() < 0.3:
                        amount = old.amount if rng.random() < 0.5 else rng.choice(AMOUNTS)
                        new = self.new_obligation(country, fy, old.agency, old.office, old.implementer, old.activity,
                                                  amount)
                        new.tranche_of = old
                for _ in range(rng.randint(2, 5) - len(self.block(country, fy))):
                    block = self.block(country, fy)
                    letter = self.pick_funder(country)
                    agency, office = self.office_of(letter)
                    done = {o.activity for o in block}
                    free = [i for i, a in enumerate(ACTIVITIES) if letter in a[2] and i not in done]
                    if not free:
                        continue
                    implementer = self.pick_implementer(letter, {o.implementer for o in block})
                    self.new_obligation(country, fy, agency, office, implementer, rng.choice(free), rng.choice(AMOUNTS))

    def letters_for(self, agency: str, country: str) -> list[str]:
        return [k for k, (a, _) in LETTER_OFFICE.items()
                if a == agency and (a != "DHS" or country in self.dhs_countries)]

    def plant(self) -> None:
        """Two agencies funding one activity; one implementer doing two things; tranches; rows typed twice."""
        rng = self.rng
        plain = [o for o in self.obligations if o.tranche_of is None]
        rng.shuffle(plain)
        used: set[tuple[str, int]] = set()
        for ob in plain:
            if (ob.country, ob.fy) in used:
                continue
            agencies = [a for a in ("DOS", "USAID", "DOL", "DOJ") if a != ob.agency]
            title, _, letters, _ = ACTIVITIES[ob.activity]
            if len(self.duplicate_funding) < 6:
                fitting = [a for a in agencies if any(k in letters for k in self.letters_for(a, ob.country))]
                agency = rng.choice(fitting or agencies)
                letter = rng.choice([k for k in self.letters_for(agency, ob.country) if k in letters]
                                    or self.letters_for(agency, ob.country))
                amount = ob.amount if len(self.duplicate_funding) % 2 == 0 else rng.choice(
                    [a for a in AMOUNTS if a != ob.amount])
                twin = self.new_obligation(ob.country, ob.fy, *self.office_of(letter), ob.implementer, ob.activity,
                                           amount)
                self.duplicate_funding.append((ob, twin))
            elif sum(1 for n in self.negatives if n[2].startswith("same implementer")) < 4:
                block = self.block(ob.country, ob.fy)
                agency = rng.choice(agencies)
                letter = rng.choice(self.letters_for(agency, ob.country))
                other = [i for i, a in enumerate(ACTIVITIES) if letter in a[2] and i not in {o.activity for o in block}
                         and not content_words(a[0]) & content_words(title)]
                if not other:
                    continue
                twin = self.new_obligation(ob.country, ob.fy, *self.office_of(letter), ob.implementer,
                                           rng.choice(other), rng.choice(AMOUNTS))
                self.negatives.append((ob, twin, "same implementer, different purpose"))
            else:
                break
            used.add((ob.country, ob.fy))
        paired = {id(o) for pair in self.duplicate_funding + [n[:2] for n in self.negatives] for o in pair}
        tranches = [o for o in self.obligations if o.tranche_of is not None]
        for ob in rng.sample(tranches, min(4, len(tranches))):
            self.negatives.append((ob.tranche_of, ob, "next year's tranche of the same project"))
            paired |= {id(ob), id(ob.tranche_of)}
        for agency, count in (("DOS", 2), ("USAID", 1), ("DOL", 2), ("DOJ", 1), ("DHS", 1)):
            pool = [o for o in self.obligations if o.agency == agency and id(o) not in paired]
            for ob in rng.sample(pool, min(count, len(pool))):
                ob.typed_twice = True

    def report(self) -> None:
        """Each covering post's rows: most programs, with noise; omissions; post grants; ghosts; mismatches."""
        rng = self.rng
        for country in sorted(self.covered):
            for fy in self.years:
                block = self.block(country, fy)
                taken = {o.implementer for o in block}
                rows = []
                for ob in block:
                    if rng.random() < 0.12:
                        continue  # the post does not know: embassy_unaware
                    names, _ = IMPLEMENTERS[ob.implementer]
                    implementer = ob.implementer if rng.random() < 0.45 else rng.choice(names)
                    title, _, _, short = ACTIVITIES[ob.activity]
                    funder = (ob.agency, ob.office if rng.random() < 0.85 else None)
                    amount = ob.amount
                    if rng.random() < 0.13:
                        amount = self.skew(ob.amount)
                    rows.append(PostRow(country, fy, ob, funder, implementer,
                                        title if rng.random() < 0.4 else rng.choice(short), amount))
                if rng.random() < 0.4:
                    grantee = rng.choice(sorted(set(IMPLEMENTERS) - taken))
                    rows.append(PostRow(country, fy, None, ("POST", None), grantee, rng.choice(POST_GRANTS),
                                        rng.choice([5000, 10000, 15000, 20000, 25000, 40000])))
                if rng.random() < 0.08:
                    letter = rng.choice("UGIL")
                    grantee = rng.choice(sorted(set(IMPLEMENTERS) - taken))
                    rows.append(PostRow(country, fy, None, LETTER_OFFICE[letter], grantee, rng.choice(GHOST_PROGRAMS),
                                        rng.choice(AMOUNTS)))
                rng.shuffle(rows)
                self.rows += rows
        posts = sorted({r.country for r in self.rows})
        for country in rng.sample(posts, min(5, len(posts))):  # five posts list one row twice
            rng.choice([r for r in self.rows if r.country == country]).listed_twice = True

    def skew(self, amount: int) -> int:
        """An amount 5%-60% away from the given one, rounded as people round."""
        while True:
            new = round(amount * (1 + self.rng.choice([-1, 1]) * self.rng.uniform(0.05, 0.6)) / 5000) * 5000
            if new > 0 and 0.05 <= abs(new - amount) / amount <= 0.6:
                return new

    # --- writing ----------------------------------------------------------------------------

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        y0, y1 = self.years[0], self.years[-1]
        for agency, name, writer in (
                ("DOS", f"State_CTIP_obligations_FY{y0}-FY{y1}.xlsx", self.write_state),
                ("USAID", "USAID_C-TIP_obligations_by_operating_unit.xlsx", self.write_usaid),
                ("DOL", "DOL-ILAB_TIP_grants_by_year.xlsx", self.write_labor),
                ("DOJ", f"DOJ_CRM_international_TIP_projects_FY{y0 % 100:02d}-{y1 % 100:02d}.csv", self.write_justice),
                ("DHS", "DHS_ICE_TIP_capacity_building.xlsx", self.write_dhs)):
            if any(o.agency == agency for o in self.obligations):
                book = writer(out / name)
                if book is not None:
                    book.save(out / name)
                self.files.append({"file": name, "kind": "agency", "agency": agency})
        styles = {"sheets_thousands": "{city}_C-TIP_FY{a:02d}-{b:02d}.xlsx",
                  "title_subtotals": "Embassy {post} - C-TIP programs known to post.xlsx",
                  "program_csv": "{dashed}-TIP-program-list.csv", "two_row_header": "{city}_TIP_funding_{y0}-{y1}.xlsx",
                  "country_column": "{joined}_anti-trafficking_programs.xlsx"}
        posts = sorted(self.covered)
        self.rng.shuffle(posts)
        for i, country in enumerate(posts):
            style, pattern = list(styles.items())[i % len(styles)]
            post = COUNTRIES[country][1]
            name = pattern.format(post=post, city=post.replace(" ", "_"), dashed=post.replace(" ", "-"),
                                  joined=post.replace(" ", ""), a=y0 % 100, b=y1 % 100, y0=y0, y1=y1)
            rows = [r for r in self.rows if r.country == country]
            book = getattr(self, f"post_{style}")(out / name, country, post, rows)
            if book is not None:
                book.save(out / name)
            self.files.append({"file": name, "kind": "embassy", "post": post, "country": country, "style": style})

    def house_name(self, ob: Obligation) -> str:
        return AGENCY_HOUSE_NAMES.get(ob.agency, {}).get(ob.implementer, ob.implementer)

    @staticmethod
    def emit(sheet, row: int, values: list, item=None, name: str = "") -> int:
        for col, value in enumerate(values, start=1):
            if value is not None and value != "":
                sheet.cell(row=row, column=col, value=value)
        if item is not None:
            item.recs.append([name, sheet.title, row])
        return row + 1

    def agency_rows(self, agency: str, order) -> list[Obligation]:
        """The agency's obligations in its file's order; a row typed twice comes twice."""
        ordered = sorted((o for o in self.obligations if o.agency == agency), key=order)
        return [ob for ob in ordered for _ in range(1 + ob.typed_twice)]

    def write_state(self, path: Path) -> Workbook:
        y0, y1 = self.years[0], self.years[-1]
        book = new_book()
        sheet = titled_sheet(book, "Obligations", "U.S. Department of State - Anti-Trafficking in Persons assistance",
                             f"Obligations by bureau and country of performance, FY{y0}-FY{y1} (unaudited)")
        row = self.emit(sheet, 3, ["Funding Agency", "Sub-Agency", "Country of Performance", "Recipient Organization",
                                   "Activity Description", "FY Obligated", "Award No.", "Obligation Date",
                                   "Obligation Amount ($)"])
        long_names = {"PRM": "Bureau of Population, Refugees, and Migration"}
        obligations = self.agency_rows("DOS", lambda o: (o.fy, COUNTRIES[o.country][0][0], o.office, o.key))
        subtotals = []
        for fy in self.years:
            first = row
            for ob in (o for o in obligations if o.fy == fy):
                row = self.emit(sheet, row, ["U.S. Department of State", long_names.get(ob.office, ob.office),
                                             COUNTRIES[ob.country][0][0], ob.implementer, ACTIVITIES[ob.activity][0],
                                             f"FY {fy}", ob.award, ob.day, ob.amount], ob, path.name)
            row = self.emit(sheet, row, [f"Subtotal FY{fy}"] + [None] * 7 + [f"=SUM(I{first}:I{row - 1})"]) + 1
            subtotals.append(row - 2)
        row = self.emit(sheet, row, ["Grand Total"] + [None] * 7 + ["=" + "+".join(f"I{r}" for r in subtotals)])
        self.emit(sheet, row + 1, ["Note: regional and global awards are not shown; amounts in U.S. dollars."])
        return book

    def write_usaid(self, path: Path) -> Workbook:
        book = new_book()
        sheet = titled_sheet(book, "C-TIP", "USAID Counter-Trafficking in Persons (C-TIP) obligations by unit",
                             "Amounts in thousands of U.S. dollars")
        row = self.emit(sheet, 4, ["Operating Unit", "Country", "Prime Partner", "Activity Title", "Fiscal Year",
                                   "Award ID", "Start Date", "Obligations ($000)"])
        for ob in self.agency_rows("USAID", lambda o: (COUNTRIES[o.country][2], o.country, o.fy, o.key)):
            names, _, unit = COUNTRIES[ob.country]
            row = self.emit(sheet, row, [unit, names[1], self.house_name(ob), ACTIVITIES[ob.activity][0], ob.fy,
                                         ob.award, ob.day, ob.amount // 1000], ob, path.name)
        return book

    def write_labor(self, path: Path) -> Workbook:
        book = new_book()
        obligations = self.agency_rows("DOL", lambda o: (COUNTRIES[o.country][0][0], o.key))
        for fy in self.years:
            sheet = titled_sheet(book, f"FY {fy}", "U.S. Department of Labor, International Labor Affairs (ILAB)",
                                 f"Forced labor and human trafficking grants awarded in FY {fy}")
            row = self.emit(sheet, 4, ["Cooperative Agreement #", "Grantee", "Project Title", "Country", "Award Date",
                                       "Total Award (USD)"])
            for ob in (o for o in obligations if o.fy == fy):
                row = self.emit(sheet, row, [ob.award, self.house_name(ob), ACTIVITIES[ob.activity][0],
                                             COUNTRIES[ob.country][0][0], ob.day, ob.amount], ob, path.name)
            self.emit(sheet, row, ["TOTAL", None, None, None, None, sum(o.amount for o in obligations if o.fy == fy)])
        return book

    def write_justice(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Component", "Fiscal Year (FY)", "Beneficiary Country", "Grantee", "Project Name",
                             "Amount"])
            for line, ob in enumerate(self.agency_rows("DOJ", lambda o: (o.office, o.fy, o.country, o.key)), start=2):
                writer.writerow([ob.office, f"FY{ob.fy}", COUNTRIES[ob.country][0][2], self.house_name(ob),
                                 ACTIVITIES[ob.activity][0], f"${ob.amount:,}"])
                ob.recs.append([path.name, "", line])

    def write_dhs(self, path: Path) -> Workbook:
        book = new_book()
        sheet = titled_sheet(book, "ICE")
        row = self.emit(sheet, 1, ["Fiscal Year", "ICE Office", "Host Country", "Implementing Partner",
                                   "Training/Activity", "Funds Obligated"])
        for ob in self.agency_rows("DHS", lambda o: (o.fy, o.country, o.key)):
            row = self.emit(sheet, row, [ob.fy, "ICE Office of International Affairs", COUNTRIES[ob.country][0][0],
                                         ob.implementer, ACTIVITIES[ob.activity][0], ob.amount], ob, path.name)
        return book

    # --- embassy reports, five layouts ---------------------------------------------------------

    def funder_text(self, row: PostRow, post: str) -> str:
        agency, office = row.funder
        choices = POST_FUNDER.get((agency, office)) or POST_FUNDER[(agency, None)]
        return self.rng.choice(choices).format(city=post)

    def split_funder(self, row: PostRow, post: str) -> tuple[str, str]:
        agency, office = row.funder
        office = "POST" if agency == "POST" else office
        return self.rng.choice(POST_AGENCY[agency]), self.rng.choice(POST_OFFICE[office]).format(city=post)

    def post_items(self, rows: list[PostRow], fy: int | None, cells) -> list[tuple[PostRow, list]]:
        """Rows of one year (or all) with their cells, fixed once: a row listed twice repeats them exactly."""
        items = []
        for row in rows:
            if fy is None or row.fy == fy:
                items += [(row, cells(row))] * (1 + row.listed_twice)
        return items

    def post_sheets_thousands(self, path: Path, country: str, post: str, rows: list[PostRow]) -> Workbook | None:
        book = new_book()
        titled_sheet(book, "Cover", f"U.S. Embassy {post}: USG counter-trafficking aid, one sheet per fiscal year.",
                     "Amounts in thousands of U.S. dollars.")
        for fy in self.years:
            sheet = titled_sheet(book, f"FY{fy % 100:02d}",
                                 f"U.S. Embassy {post} - USG counter-trafficking assistance, FY{fy % 100:02d}")
            row = self.emit(sheet, 2, ["Donor", "Implementing Organization", "Program Description", "Start",
                                       "Amount (thousands USD)"])
            for item, values in self.post_items(rows, fy, lambda r: [
                    self.funder_text(r, post), r.implementer, r.title, r.obligation.day if r.obligation else None,
                    r.amount // 1000]):
                row = self.emit(sheet, row, values, item, path.name)
        return book

    def post_title_subtotals(self, path: Path, country: str, post: str, rows: list[PostRow]) -> Workbook | None:
        book = new_book()
        sheet = titled_sheet(book, "C-TIP Programs", f"Embassy {post}", "Counter-trafficking programs known to post",
                             f"Prepared by the Political/Economic Section, November {self.years[-1]}")
        row = self.emit(sheet, 5, ["FY", "Funding Agency", "Office/Bureau", "Partner Organization", "Project Name",
                                   "USD", "Remarks"])
        subtotals = []
        for fy in self.years:
            first = row
            for item, values in self.post_items(rows, fy, lambda r: [
                    fy if self.rng.random() < 0.5 else f"FY {fy}", *self.split_funder(r, post), r.implementer, r.title,
                    money_text(r.amount, self.rng.choice(["plain", "plain", "dollar"])),
                    self.rng.choice(["", "", "ongoing", "per implementer", "second year"])]):
                row = self.emit(sheet, row, values, item, path.name)
            row = self.emit(sheet, row, [f"Subtotal FY{fy}", None, None, None, None, f"=SUM(F{first}:F{row - 1})"])
            subtotals.append(row - 1)
        row = self.emit(sheet, row, ["Grand Total", None, None, None, None, "=" + "+".join(f"F{r}" for r in subtotals)])
        self.emit(sheet, row + 1, ["Source: post records and implementer reports; figures unaudited."])
        return book

    def post_program_csv(self, path: Path, country: str, post: str, rows: list[PostRow]) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Fiscal Year", "Source of Funds", "Implementing Org", "Program", "Funding (USD)"])
            line = 2
            for fy in self.years:
                items = self.post_items(rows, fy, lambda r: [
                    self.rng.choice([str(fy), f"FY{fy % 100:02d}"]), self.funder_text(r, post), r.implementer, r.title,
                    money_text(r.amount, self.rng.choice(["short", "short", "dollar", "plain"]))])
                for item, values in items:
                    writer.writerow(values)
                    item.recs.append([path.name, "", line])
                    line += 1
                if items and fy != self.years[-1]:
                    writer.writerow([])  # a blank line between years
                    line += 1

    def post_two_row_header(self, path: Path, country: str, post: str, rows: list[PostRow]) -> Workbook | None:
        book = new_book()
        sheet = titled_sheet(book, "TIP funding")
        self.emit(sheet, 1, [None, "Funding", None, "Implementation", None, "Money", None])
        sheet.merge_cells("D1:E1")
        row = self.emit(sheet, 2, ["Fiscal year", "Agency/Office", "Start date", "Grantee", "Activity Title",
                                   "Amount", "Notes"])
        for item, values in self.post_items(sorted(rows, key=lambda r: r.fy), None, lambda r: [
                f"FY{r.fy}", self.funder_text(r, post), r.obligation.day if r.obligation and self.rng.random() < 0.6
                else None, r.implementer, r.title, money_text(r.amount, self.rng.choice(["usd", "plain", "dollar"]))]):
            row = self.emit(sheet, row, values, item, path.name)
        return book

    def post_country_column(self, path: Path, country: str, post: str, rows: list[PostRow]) -> Workbook | None:
        book = new_book()
        sheet = titled_sheet(book, "Data")
        row = self.emit(sheet, 1, ["Country", "FY", "U.S. Agency", "Implementing partner(s)", "Activity", "Budget",
                                   "Comments"])
        for item, values in self.post_items(sorted(rows, key=lambda r: (r.fy, r.funder[0])), None, lambda r: [
                self.rng.choice(COUNTRIES[country][0]), f"FY {r.fy % 100:02d}", self.funder_text(r, post),
                r.implementer, r.title, money_text(r.amount, self.rng.choice(["usd", "dollar", "short"]))]):
            row = self.emit(sheet, row, values, item, path.name)
        return book

    # --- the answer -------------------------------------------------------------------------

    def answer_key(self) -> dict:
        flags = []
        for ob in self.obligations:
            if ob.typed_twice:
                flags.append({"type": "duplicate_entry", "records": ob.recs, "note": "same row entered twice"})
        for row in self.rows:
            if row.listed_twice:
                flags.append({"type": "duplicate_entry", "records": row.recs,
                              "note": "embassy listed the same program twice"})
            if row.obligation is None:
                flags.append({"type": "not_in_agency_records", "records": row.recs, "fiscal_year": row.fy})
            elif row.amount != row.obligation.amount:
                flags.append({"type": "amount_mismatch", "records": row.obligation.recs + row.recs,
                              "agency_amount": row.obligation.amount, "embassy_amount": row.amount})
        for a, b in self.duplicate_funding:
            flags.append({"type": "possible_duplicate_funding", "records": a.recs + b.recs,
                          "note": "two agencies fund one implementer for one activity in one country and year"
                          + (" (same amount)" if a.amount == b.amount else "")})
        reported = {id(r.obligation) for r in self.rows if r.obligation is not None}
        for ob in self.obligations:
            if ob.country in self.covered and id(ob) not in reported:
                flags.append({"type": "embassy_unaware", "post": COUNTRIES[ob.country][1], "country": ob.country,
                              "fiscal_year": ob.fy, "records": ob.recs})
        totals = defaultdict(int)
        for ob in self.obligations:
            totals[(ob.fy, ob.agency, ob.country)] += ob.amount * len(ob.recs)
        return {
            "generator_profile": "benchmarks/scenario.py", "seed": self.seed, "fiscal_years": self.years,
            "files": self.files, "flags": flags,
            "negatives": [{"records": [a.recs[0], b.recs[0]], "note": note, "must_not_be": "possible_duplicate_funding"}
                          for a, b, note in self.negatives],
            "matches": [{"agency_records": r.obligation.recs, "embassy_record": rec}
                        for r in self.rows if r.obligation for rec in r.recs],
            "agency_totals_as_reported": [{"fiscal_year": fy, "agency": ag, "country": c, "amount": amount}
                                          for (fy, ag, c), amount in sorted(totals.items())],
            "agency_grand_total_as_reported": sum(totals.values()),
            "obligations": [{"key": o.key, "fiscal_year": o.fy, "agency": o.agency, "office": o.office or "",
                             "country": o.country, "implementer": o.implementer, "title": ACTIVITIES[o.activity][0],
                             "area": ACTIVITIES[o.activity][1], "program": "", "amount": o.amount, "records": o.recs}
                            for o in self.obligations],
        }


#: The bar the flags must clear on every scenario (issue 4).
MIN_RECALL, MIN_PRECISION = 0.95, 0.90


def score_flags(key: dict, flags: list[dict], report=None) -> list[str]:
    """Recall and precision per flag type, matching flags by their records as the answer key's
    scoring says: a pair flag counts when it names at least two of the expected records, a
    single-record flag when it names the expected record; no negative may be flagged."""
    def records(flag: dict) -> set[tuple[str, str, int]]:
        return {(r["file"], r["sheet"] or "", r["row"]) for r in flag["records"]}

    def hits(expected: list, found: set) -> bool:
        wanted = {(f, s or "", r) for f, s, r in expected}
        return len(wanted & found) >= min(2, len(wanted))

    problems = []
    for kind in sorted({f["type"] for f in key["flags"]}):
        expected = [f["records"] for f in key["flags"] if f["type"] == kind]
        found = [records(f) for f in flags if f["type"] == kind]
        recall = sum(any(hits(e, f) for f in found) for e in expected) / len(expected)
        precision = sum(any(hits(e, f) for e in expected) for f in found) / len(found) if found else 0.0
        if report:
            report(f"  flags {kind:28} expected {len(expected):3}  found {len(found):3}  recall {recall:.2f}  "
                   f"precision {precision:.2f}")
        if recall < MIN_RECALL or precision < MIN_PRECISION:
            problems.append(f"flags {kind}: recall {recall:.2f}, precision {precision:.2f}")
    for negative in key.get("negatives", []):
        kind = negative["must_not_be"]
        if any(hits(negative["records"], records(f)) for f in flags if f["type"] == kind):
            problems.append(f"negative flagged as {kind}: {negative['records']} ({negative.get('note')})")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--countries", type=int, default=20)
    parser.add_argument("--years", default="2009-2011", help="first-last fiscal year, e.g. 2009-2011")
    options = parser.parse_args()
    first, last = (int(y) for y in options.years.split("-"))
    if not 4 <= options.countries <= len(COUNTRIES) or last < first:
        parser.error(f"--countries must be 4-{len(COUNTRIES)} and --years ascending")
    scenario = Scenario(options.seed, options.countries, list(range(first, last + 1)))
    scenario.generate()
    scenario.plant()
    scenario.report()
    out = Path(options.outdir)
    scenario.write(out)
    key = scenario.answer_key()
    (out / "answer_key.json").write_text(json.dumps(key, indent=1, ensure_ascii=False) + "\n")
    counts = Counter(flag["type"] for flag in key["flags"])
    print(f"{out}: {len(scenario.files)} files, {len(scenario.obligations)} obligations, "
          f"{len(scenario.rows)} post rows; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
