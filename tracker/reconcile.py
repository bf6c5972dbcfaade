"""Reconcile: match embassy report rows to agency obligations and work out the flags.

Work is blocked by country and fiscal year, so its cost grows with the data, not its square:
each country-year's records are read on their own (an index serves it), one block at a time.
Within a block, rows that are exact copies of each other from one source are one record (a
``duplicate_entry`` group) for matching and for every other flag; a flag on such a record names
every row of the group.

Thresholds (named here, documented, tuned on the shared sample scenario and on the generated
scenarios in the tests, whose answers are known):

* ``TITLE_MATCH_MIN``: below this title similarity an embassy row and an obligation are never
  the same program (an implementer doing something else in the same country and year);
* ``IMPLEMENTER_MATCH_MIN``: below this implementer similarity they are never the same program;
* ``DUPLICATE_TITLE_MIN`` / ``DUPLICATE_IMPLEMENTER_MIN``: two agencies' records are possible
  duplicate funding only at or above both (the same implementer and purpose);
* ``WEIGHTS``: how the match score adds up from the field scores.

Next year's tranche of a project is in another block, so never a duplicate of this year's.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlmodel import Session

from tracker.db import lock_imports
from tracker.fiscal import fiscal_year_label
from tracker.models import (
    Agency,
    Country,
    EmbassyReportRow,
    Implementer,
    Obligation,
    Office,
    Program,
    ReportMatch,
    Submission,
    SubmissionYear,
)
from tracker.money import format_money
from tracker.similarity import (
    GENERIC_WORDS,
    amount_similarity,
    implementer_similarity,
    title_similarity,
    title_words,
)
from tracker.textnorm import normalize_key

TITLE_MATCH_MIN = 0.45
IMPLEMENTER_MATCH_MIN = 0.8
DUPLICATE_TITLE_MIN = 0.6
DUPLICATE_IMPLEMENTER_MIN = 0.9
#: How a match score adds up (a missing field counts half).
WEIGHTS = {"implementer": 0.35, "title": 0.35, "agency": 0.15, "amount": 0.10, "date": 0.05}
#: Dates this many days apart still count as the same start.
DATE_TOLERANCE_DAYS = 15

Block = tuple[str, int]  # (country or place code, fiscal year)
RecordKey = tuple[str, int]  # ("obligation" | "embassy_row", id)

AGENCY_NAMES = {"DOS": "State", "USAID": "USAID", "DOL": "Labor", "DOJ": "Justice", "HHS": "HHS", "DHS": "DHS",
                "DOD": "Defense", "ED": "Education"}


@dataclass(slots=True)
class Record:
    """An obligation or embassy report row as reconcile sees it (a duplicate group's first row)."""

    kind: str
    id: int
    country: str
    fiscal_year: int
    agency_id: int | None
    office_id: int | None
    implementer_id: int | None
    implementer: str | None
    title: str | None
    amount: Decimal | None
    day: date | None
    scope: str
    copy_key: tuple[Any, ...]
    file: str | None
    sheet: str | None
    row: int | None
    status: str = "obligated"
    program_id: int | None = None
    members: list[int] = field(default_factory=list)
    identity: str = ""
    canonical: str | None = None  # the implementer's canonical name, when it is a known one

    @property
    def keys(self) -> list[RecordKey]:
        """Every row this record stands for."""
        return [(self.kind, i) for i in self.members]

    @property
    def identities(self) -> list[str]:
        """What the record is, independent of database IDs and amounts: the same program in a
        re-uploaded file has the same identity, so decisions on its flags carry over."""
        return [self.identity] * len(self.members)


@dataclass
class FlagSpec:
    """A flag as reconcile finds it, before it meets the stored flags."""

    type: str
    records: list[RecordKey]
    evidence: dict[str, Any]
    explanation: str
    country: str | None
    fiscal_year: int | None
    program_id: int | None = None
    identities: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """The question's identity: its type and what the records are (not their database IDs,
        which a re-uploaded file changes)."""
        keys = "\n".join(sorted(self.identities)) if self.identities else ",".join(f"{k}:{i}" for k, i in sorted(self.records))
        return hashlib.sha256(f"{self.type}|{self.country}|{self.fiscal_year}|{keys}".encode()).hexdigest()

    @property
    def records_hash(self) -> str:
        """Changes when the rows behind the flag do (a re-uploaded file), which relinks them."""
        return hashlib.sha256(",".join(f"{k}:{i}" for k, i in sorted(self.records)).encode()).hexdigest()

    @property
    def evidence_hash(self) -> str:
        """Changes exactly when the evidence does (which reopens a decided flag)."""
        return hashlib.sha256(json.dumps(self.evidence, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class MatchSpec:
    """An embassy row matched to the obligation it reports."""

    row: Record
    obligation: Record
    score: float
    evidence: dict[str, Any]


@dataclass
class Labels:
    """Names for explanations: offices, implementers, countries, programs."""

    offices: dict[int, tuple[str, str, str]]  # office id → (agency code, office code, kind)
    agencies: dict[int, str]
    countries: dict[str, str]
    programs: dict[int, tuple[str, Decimal | None]]
    implementers: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Labels:
        """Read the reference names once."""
        offices = {o: (a, c, k) for o, a, c, k in session.execute(
            select(Office.id, Agency.code, Office.code, Office.kind).join(Agency, Agency.id == Office.agency_id))}
        return cls(offices=offices,
                   agencies={i: c for i, c in session.execute(select(Agency.id, Agency.code))},
                   countries={c: n for c, n in session.execute(select(Country.code, Country.name))},
                   programs={i: (n, c) for i, n, c in session.execute(select(Program.id, Program.name, Program.ceiling))},
                   implementers={i: n for i, n in session.execute(select(Implementer.id, Implementer.name))})

    def implementer(self, record: Record) -> str:
        """The implementer under its canonical name (as written when it is not a known one)."""
        if record.implementer_id is not None and record.implementer_id in self.implementers:
            return self.implementers[record.implementer_id]
        return record.implementer or "an unnamed implementer"

    def who(self, record: Record) -> str:
        """The funder as people say it: "State INL", "USAID mission", "State (post)", "Labor"."""
        if record.office_id is not None and record.office_id in self.offices:
            agency, office, kind = self.offices[record.office_id]
            name = AGENCY_NAMES.get(agency, agency)
            if kind == "not_stated":
                return name
            if kind == "post":
                return f"{name} (post)"
            if office == "MISSION":
                return f"{name} mission"
            return f"{name} {office}"
        if record.agency_id is not None:
            code = self.agencies.get(record.agency_id, "?")
            return AGENCY_NAMES.get(code, code)
        return "an unnamed agency"

    def place(self, code: str) -> str:
        """A country's or place's name."""
        return self.countries.get(code, code)


# --- loading ------------------------------------------------------------------------------


def _in_blocks(columns: tuple[Any, Any], blocks: set[Block] | None) -> Any:
    if blocks is None:
        return True
    return tuple_(*columns).in_(sorted(blocks))


def _in_block(columns: tuple[Any, Any], block: Block) -> Any:
    return (columns[0] == block[0]) & (columns[1] == block[1])


def _obligations(session: Session, labels: Labels, block: Block) -> Iterator[Record]:
    query = (select(Obligation.id, Obligation.country_code, Obligation.fiscal_year, Obligation.office_id,
                    Obligation.implementer_id, Obligation.implementer_name, Obligation.title, Obligation.amount,
                    Obligation.obligation_date, Obligation.status, Obligation.program_id, Obligation.award_number,
                    Obligation.submission_id, Submission.scope_key, Submission.filename, Obligation.source_sheet,
                    Obligation.source_row)
             .outerjoin(Submission, Submission.id == Obligation.submission_id)
             .where(Obligation.current == True, Obligation.status == "obligated")  # noqa: E712
             .where(_in_block((Obligation.country_code, Obligation.fiscal_year), block))
             .order_by(Obligation.id))
    for (ident, country, fy, office, impl_id, impl, title, amount, day, status, program, award, _sub, scope, filename,
         sheet, row) in session.execute(query):
        agency = labels.offices[office][0] if office in labels.offices else None
        scope = scope or f"manual:{office}"
        key = (scope, fy, country, office, impl_id or normalize_key(impl or ""), normalize_key(title or ""), amount,
               day, award)
        yield Record("obligation", ident, country, fy, _agency_id(labels, agency), office, impl_id, impl, title,
                     amount, day, scope, key, filename, sheet, row, status, program,
                     identity=f"o|{office}|{impl_id or normalize_key(impl or '')}|{normalize_key(title or '')}|{award or ''}")


def _agency_id(labels: Labels, code: str | None) -> int | None:
    if code is None:
        return None
    for ident, agency in labels.agencies.items():
        if agency == code:
            return ident
    return None


def _report_rows(session: Session, block: Block) -> Iterator[Record]:
    query = (select(EmbassyReportRow.id, EmbassyReportRow.country_code, EmbassyReportRow.fiscal_year,
                    EmbassyReportRow.agency_id, EmbassyReportRow.office_id, EmbassyReportRow.implementer_id,
                    EmbassyReportRow.implementer_name, EmbassyReportRow.title, EmbassyReportRow.amount,
                    EmbassyReportRow.start_date, Submission.scope_key, Submission.filename,
                    EmbassyReportRow.source_sheet, EmbassyReportRow.source_row)
             .join(Submission, Submission.id == EmbassyReportRow.submission_id)
             .where(EmbassyReportRow.current == True)  # noqa: E712
             .where(_in_block((EmbassyReportRow.country_code, EmbassyReportRow.fiscal_year), block))
             .order_by(EmbassyReportRow.id))
    for (ident, country, fy, agency, office, impl_id, impl, title, amount, day, scope, filename, sheet,
         row) in session.execute(query):
        key = (scope, fy, country, agency, office, impl_id or normalize_key(impl or ""), normalize_key(title or ""),
               amount)
        yield Record("embassy_row", ident, country, fy, agency, office, impl_id, impl, title, amount, day, scope,
                     key, filename, sheet, row,
                     identity=f"e|{agency}|{office}|{impl_id or normalize_key(impl or '')}|{normalize_key(title or '')}")


def covered_blocks(session: Session, blocks: set[Block] | None = None) -> set[Block]:
    """The country-years some post has reported on (its current report covers the year)."""
    query = (select(Submission.country_code, SubmissionYear.fiscal_year)
             .join(SubmissionYear, SubmissionYear.submission_id == Submission.id)
             .where(Submission.source_kind == "embassy", Submission.status == "committed")
             .where(_in_blocks((Submission.country_code, SubmissionYear.fiscal_year), blocks)).distinct())
    return {(c, y) for c, y in session.execute(query)}


def blocks_with_records(session: Session, blocks: set[Block] | None) -> list[Block]:
    """The country-years holding current obligations or report rows (within ``blocks``), sorted."""
    found: set[Block] = set()
    for model in (Obligation, EmbassyReportRow):
        query = (select(model.country_code, model.fiscal_year).where(model.current == True)  # noqa: E712
                 .where(_in_blocks((model.country_code, model.fiscal_year), blocks)).distinct())
        found |= {(c, y) for c, y in session.execute(query)}
    return sorted(found)


# --- one block ----------------------------------------------------------------------------


def _groups(records: list[Record]) -> tuple[list[Record], list[list[Record]]]:
    """Exact copies within one source are one record: (the first row of each group, the groups of copies)."""
    by_key: dict[tuple[Any, ...], list[Record]] = defaultdict(list)
    for record in records:
        by_key[record.copy_key].append(record)
    representatives, copies = [], []
    seen: dict[str, int] = {}
    for group in by_key.values():
        first = group[0]
        first.members = [r.id for r in group]
        # Two different records can look alike but for their amounts: number them apart.
        seen[first.identity] = seen.get(first.identity, 0) + 1
        if seen[first.identity] > 1:
            first.identity += f"#{seen[first.identity]}"
        representatives.append(first)
        if len(group) > 1:
            copies.append(group)
    return representatives, copies


def _agency_score(labels: Labels, row: Record, obligation: Record) -> tuple[float, str]:
    if row.agency_id is None:
        return 0.5, "the embassy names no agency"
    if row.agency_id != obligation.agency_id:
        return 0.0, f"agencies differ ({labels.who(row)} / {labels.who(obligation)})"
    stated = {o for o in (row.office_id, obligation.office_id)
              if o is not None and labels.offices.get(o, ("", "", "not_stated"))[2] not in ("not_stated", "post", "mission")}
    if len(stated) <= 1 or row.office_id == obligation.office_id:
        return 1.0, f"same agency ({labels.who(obligation)})"
    return 0.8, f"same agency, offices differ ({labels.who(row)} / {labels.who(obligation)})"


def _implementers(a: Record, b: Record) -> tuple[float, str]:
    """How alike two records' implementers are: the same one (as written, or by alias), or names alike."""
    if a.implementer_id is not None and a.implementer_id == b.implementer_id:
        return implementer_similarity(a.implementer_id, a.implementer, b.implementer_id, b.implementer)
    return implementer_similarity(a.implementer_id, a.canonical or a.implementer, b.implementer_id,
                                  b.canonical or b.implementer)


def _date_score(a: date | None, b: date | None) -> float | None:
    if a is None or b is None:
        return None
    days = abs((a - b).days)
    return 1.0 if days == 0 else 0.5 if days <= DATE_TOLERANCE_DAYS else 0.0


def compare(labels: Labels, row: Record, obligation: Record) -> tuple[float, dict[str, Any]] | None:
    """Score an embassy row against an obligation, with the evidence field by field; None when
    they cannot be the same program (titles or implementers too unlike)."""
    title = title_similarity(row.title, obligation.title)
    implementer, how = _implementers(row, obligation)
    if title < TITLE_MATCH_MIN or (implementer < IMPLEMENTER_MATCH_MIN and (row.implementer and obligation.implementer)):
        return None
    agency, agency_how = _agency_score(labels, row, obligation)
    amount = amount_similarity(row.amount, obligation.amount)
    day = _date_score(row.day, obligation.day)
    parts = {"implementer": implementer if row.implementer and obligation.implementer else 0.5, "title": title,
             "agency": agency, "amount": 0.5 if amount is None else amount, "date": 0.5 if day is None else day}
    score = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 3)
    evidence = {
        "score": score,
        "implementer": {"embassy": row.implementer, "agency": obligation.implementer, "score": implementer, "how": how},
        "title": {"embassy": row.title, "agency": obligation.title, "score": title},
        "agency": {"embassy": labels.who(row), "agency": labels.who(obligation), "score": agency, "how": agency_how},
        "amount": {"embassy": _money(row.amount), "agency": _money(obligation.amount), "score": amount},
        "date": {"embassy": _day(row.day), "agency": _day(obligation.day), "score": day},
    }
    return score, evidence


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


#: Words of implementer names too common to say which organisation it is.
_COMMON_NAME_WORDS = frozenset({
    "the", "of", "for", "and", "international", "intl", "foundation", "organization", "organisation", "association",
    "center", "centre", "global", "partnership", "inc", "national", "fund", "society", "institute", "council",
    "united", "nations", "network", "world", "american", "development", "services", "group", "trust", "alliance",
})


def _name_words(record: Record) -> set[str]:
    from tracker.implementers import expand_name

    names = f"{record.implementer or ''} {record.canonical or ''}"
    return {w for w in expand_name(normalize_key(names)).split() if w not in _COMMON_NAME_WORDS and len(w) > 2}


def _signature(record: Record) -> set[str]:
    """Keys for the words that say what a program does (five-letter stems of its telling words;
    all its words when it has only common ones). Two titles alike enough to be one program share
    at least one; looking candidates up by them keeps the work per record small however many
    records a country-year holds."""
    words = title_words(record.title or "")
    telling = [w for w in words if w not in GENERIC_WORDS and w[:6] not in _GENERIC_STEMS]
    return {w[:5] for w in (telling or words)}


_GENERIC_STEMS = frozenset(w[:6] for w in GENERIC_WORDS)


def _candidates(row: Record, index: _Index) -> Iterable[Record]:
    """Obligations that could be the row's program: the same implementer (or one whose name shares
    a telling word: a new implementer spelled two ways), and a title sharing a telling word; with
    no implementer, any title sharing a telling word."""
    found: dict[int, Record] = {}
    keys = [_implementer_key(row)] if row.implementer else [None]
    keys += [("name", w) for w in _name_words(row)]
    for stem in _signature(row):
        for key in keys:
            for record in index.get((key, stem), ()):
                found[record.id] = record
    return found.values()


def _implementer_key(record: Record) -> Any:
    return record.implementer_id or normalize_key(record.implementer or "")


_Index = dict[tuple[Any, str], list[Record]]


#: A word of implementer names shared by more implementers than this in a country-year says
#: nothing about which one it is ("Relief", "Aid"): it is not used to find candidates.
MAX_NAME_WORD_SHARE = 3


def _index(obligations: list[Record]) -> _Index:
    """Obligations by (implementer, title stem), (telling implementer name word, title stem) and
    (None, stem)."""
    index: _Index = defaultdict(list)
    sharing: dict[str, set[Any]] = defaultdict(set)
    words = {id(r): _name_words(r) for r in obligations}
    for record in obligations:
        for word in words[id(record)]:
            sharing[word].add(_implementer_key(record))
    for record in obligations:
        telling = (w for w in words[id(record)] if len(sharing[w]) <= MAX_NAME_WORD_SHARE)
        keys = [_implementer_key(record), None, *(("name", w) for w in telling)]
        for stem in _signature(record):
            for key in keys:
                index[(key, stem)].append(record)
    return index


def match_block(labels: Labels, rows: list[Record], obligations: list[Record]) -> list[MatchSpec]:
    """Pair each embassy record with at most one obligation, best scores first."""
    index = _index(obligations)
    scored = []
    for row in rows:
        for obligation in _candidates(row, index):
            result = compare(labels, row, obligation)
            if result:
                scored.append((result[0], row.id, obligation.id, row, obligation, result[1]))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    used_rows: set[int] = set()
    used_obligations: set[int] = set()
    matches = []
    for score, _r, _o, row, obligation, evidence in scored:
        if row.id in used_rows or obligation.id in used_obligations:
            continue
        used_rows.add(row.id)
        used_obligations.add(obligation.id)
        matches.append(MatchSpec(row, obligation, score, evidence))
    return matches


def _where(record: Record) -> str:
    sheet = f", sheet {record.sheet}" if record.sheet else ""
    return f"{record.file or 'entered by hand'}{sheet}, row {record.row}" if record.row else (record.file or "entered by hand")


def _what(labels: Labels, record: Record) -> str:
    return f"{labels.implementer(record)} for '{record.title or 'an untitled program'}'"


def _block_words(labels: Labels, block: Block) -> str:
    return f"{labels.place(block[0])}, {fiscal_year_label(block[1])}"


def duplicate_entry_flags(labels: Labels, block: Block, copies: list[list[Record]]) -> list[FlagSpec]:
    """The same record entered twice in one source."""
    flags = []
    for group in copies:
        first = group[0]
        rows = "; ".join(_where(r) for r in group)
        kind = "obligation" if first.kind == "obligation" else "embassy report row"
        explanation = (f"The same {kind} is recorded {len(group)} times by one source: {labels.who(first)}, "
                       f"{_what(labels, first)} in {_block_words(labels, block)}, "
                       f"{format_money(first.amount) or 'no amount'} ({rows}).")
        evidence = {"copies": [{"file": r.file, "sheet": r.sheet, "row": r.row, "id": r.id} for r in group],
                    "fields": {"implementer": first.implementer, "title": first.title, "amount": _money(first.amount),
                               "funder": labels.who(first)}}
        flags.append(FlagSpec("duplicate_entry", [(first.kind, r.id) for r in group], evidence, explanation, *block,
                              identities=first.identities))
    return flags


def duplicate_funding_flags(labels: Labels, block: Block, obligations: list[Record]) -> list[FlagSpec]:
    """Two agencies' records for the same implementer and purpose in one country and year."""
    buckets: dict[tuple[Any, str], list[Record]] = defaultdict(list)
    for record in obligations:
        for stem in _signature(record):
            buckets[(_implementer_key(record), stem)].append(record)
    flags = []
    seen: set[tuple[int, int]] = set()
    for group in buckets.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                flag = _duplicate_pair(labels, block, a, b, seen)
                if flag:
                    flags.append(flag)
    return flags


def _duplicate_pair(labels: Labels, block: Block, a: Record, b: Record, seen: set[tuple[int, int]]) -> FlagSpec | None:
    pair = (min(a.id, b.id), max(a.id, b.id))
    if a.agency_id == b.agency_id or pair in seen:
        return None
    seen.add(pair)  # a pair sharing several words is looked at once
    implementer, how = _implementers(a, b)
    title = title_similarity(a.title, b.title)
    if implementer < DUPLICATE_IMPLEMENTER_MIN or title < DUPLICATE_TITLE_MIN:
        return None
    first, second = sorted((a, b), key=lambda r: r.id)
    same_amount = first.amount == second.amount
    explanation = (f"{labels.who(first)} and {labels.who(second)} both record {labels.implementer(first)} for "
                   f"'{first.title}' in {_block_words(labels, block)}: {how}, titles {round(title * 100)}% alike, "
                   f"amounts {format_money(first.amount, cents=False)} and {format_money(second.amount, cents=False)}"
                   + (" (the same money reported twice, or two agencies funding one activity)." if same_amount
                      else " (two agencies funding one activity?)."))
    evidence = {"implementer": {"a": first.implementer, "b": second.implementer, "score": implementer, "how": how},
                "title": {"a": first.title, "b": second.title, "score": title},
                "amount": {"a": _money(first.amount), "b": _money(second.amount),
                           "score": amount_similarity(first.amount, second.amount)},
                "funders": [labels.who(first), labels.who(second)]}
    return FlagSpec("possible_duplicate_funding", first.keys + second.keys, evidence, explanation, *block,
                    identities=first.identities + second.identities)


def match_flags(labels: Labels, block: Block, matches: list[MatchSpec], rows: list[Record],
                obligations: list[Record], covered: bool) -> list[FlagSpec]:
    """amount_mismatch for matched pairs whose amounts differ; not_in_agency_records for
    unmatched embassy rows; embassy_unaware for unmatched obligations where the post reported."""
    flags = []
    for match in matches:
        row, obligation = match.row, match.obligation
        if row.amount is not None and obligation.amount is not None and row.amount != obligation.amount:
            difference = row.amount - obligation.amount
            explanation = (f"The embassy's report and {labels.who(obligation)} both record {_what(labels, obligation)} "
                           f"in {_block_words(labels, block)} (match score {match.score:.2f}), but the amounts differ: "
                           f"embassy {format_money(row.amount, cents=False)}, agency "
                           f"{format_money(obligation.amount, cents=False)} "
                           f"({format_money(abs(difference), cents=False)} {'more' if difference > 0 else 'less'}).")
            flags.append(FlagSpec("amount_mismatch", row.keys + obligation.keys, match.evidence, explanation, *block,
                                  identities=row.identities + obligation.identities))
    matched_rows = {m.row.id for m in matches}
    matched_obligations = {m.obligation.id for m in matches}
    for row in rows:
        if row.id not in matched_rows:
            explanation = (f"The embassy reports {_what(labels, row)} in {_block_words(labels, block)} "
                           f"({labels.who(row)}, {format_money(row.amount, cents=False) or 'no amount'}; {_where(row)}), "
                           "and no agency record matches it.")
            evidence = {"row": {"implementer": row.implementer, "title": row.title, "amount": _money(row.amount),
                                "funder": labels.who(row)}}
            flags.append(FlagSpec("not_in_agency_records", row.keys, evidence, explanation, *block,
                                  identities=row.identities))
    if covered:
        for obligation in obligations:
            if obligation.id not in matched_obligations and (obligation.amount or 0) > 0:
                explanation = (f"{labels.who(obligation)} records {format_money(obligation.amount, cents=False)} to "
                               f"{_what(labels, obligation)} in {_block_words(labels, block)}, and the embassy's "
                               f"{fiscal_year_label(block[1])} report does not list it.")
                evidence = {"obligation": {"implementer": obligation.implementer, "title": obligation.title,
                                           "amount": _money(obligation.amount), "funder": labels.who(obligation),
                                           "where": _where(obligation)}}
                flags.append(FlagSpec("embassy_unaware", obligation.keys, evidence, explanation, *block,
                                      identities=obligation.identities))
    return flags


def reconcile_block(labels: Labels, block: Block, obligations: list[Record], rows: list[Record],
                    covered: bool) -> tuple[list[FlagSpec], list[MatchSpec]]:
    """All block-level flags and matches of one country-year."""
    for record in (*obligations, *rows):
        if record.implementer_id is not None:
            record.canonical = labels.implementers.get(record.implementer_id)
    obligation_reps, obligation_copies = _groups(obligations)
    row_reps, row_copies = _groups(rows)
    matches = match_block(labels, row_reps, obligation_reps)
    flags = duplicate_entry_flags(labels, block, obligation_copies + row_copies)
    flags += duplicate_funding_flags(labels, block, obligation_reps)
    flags += match_flags(labels, block, matches, row_reps, obligation_reps, covered)
    return flags, matches


# --- whole runs ---------------------------------------------------------------------------


def ceiling_flags(session: Session, labels: Labels) -> list[FlagSpec]:
    """Programs with a ceiling whose obligations add up past it."""
    flags = []
    for program_id, (name, ceiling) in labels.programs.items():
        if ceiling is None:
            continue
        rows = session.execute(
            select(Obligation.id, Obligation.fiscal_year, Obligation.amount)
            .where(Obligation.program_id == program_id, Obligation.current == True,  # noqa: E712
                   Obligation.status.in_(("obligated", "de-obligated")))
            .order_by(Obligation.fiscal_year, Obligation.obligation_date, Obligation.id)).all()
        total = sum((r.amount for r in rows), Decimal("0.00"))
        if total <= ceiling:
            continue
        by_year: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        running, over = Decimal("0.00"), []
        for ident, fy, amount in rows:
            by_year[fy] += amount
            running += amount
            if running > ceiling:
                over.append(ident)
        years = "; ".join(f"{fiscal_year_label(y)} {format_money(a, cents=False)}" for y, a in sorted(by_year.items()))
        explanation = (f"Obligations under {name} total {format_money(total, cents=False)}, "
                       f"{format_money(total - ceiling, cents=False)} over its {format_money(ceiling, cents=False)} "
                       f"ceiling ({years}). The figures cannot all be right, or the ceiling was raised.")
        evidence = {"ceiling": str(ceiling), "total": str(total), "excess": str(total - ceiling),
                    "by_year": {str(y): str(a) for y, a in sorted(by_year.items())}}
        flags.append(FlagSpec("ceiling_exceeded", [("obligation", i) for i in over], evidence, explanation, None, None,
                              program_id, identities=[f"program|{program_id}"]))
    return flags


@dataclass
class ReconcileReport:
    """What a reconcile run did."""

    blocks: int = 0
    matches: int = 0
    flags_by_type: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    reopened: int = 0
    closed: int = 0


#: Flags are brought in line with the database this many country-years at a time (flat memory).
SYNC_BLOCKS = 300


def reconcile(session: Session, blocks: set[Block] | None = None, *, actor: str = "system") -> ReconcileReport:
    """Recompute matches and flags for the given country-years (all when None), keeping every
    reviewer's decision with its flag; the caller commits.

    Runs as an import does (tracker.db.lock_imports): flags are read and then written, so a
    reconcile and an import at the same moment must not interleave."""
    from tracker.flags import close_flags_outside, sync_flags

    lock_imports(session)
    labels = Labels.load(session)
    covered = covered_blocks(session, blocks)
    report = ReconcileReport()
    session.execute(delete(ReportMatch).where(_in_blocks((ReportMatch.country_code, ReportMatch.fiscal_year), blocks)))
    pending: list[MatchSpec] = []
    specs: list[FlagSpec] = []
    chunk: set[Block] = set()
    visited: set[Block] = set()
    for block in blocks_with_records(session, blocks):
        obligations = list(_obligations(session, labels, block))
        rows = list(_report_rows(session, block))
        report.blocks += 1
        visited.add(block)
        chunk.add(block)
        flags, matches = reconcile_block(labels, block, obligations, rows, block in covered)
        specs += flags
        pending += matches
        if len(pending) >= 5000:
            _store_matches(session, pending)
            report.matches += len(pending)
            pending = []
        if len(chunk) >= SYNC_BLOCKS:
            _count(report, specs)
            sync_flags(session, specs, chunk, report, actor=actor)
            specs, chunk = [], set()
    _store_matches(session, pending)
    report.matches += len(pending)
    _count(report, specs)
    sync_flags(session, specs, chunk, report, actor=actor)
    ceilings = ceiling_flags(session, labels)
    _count(report, ceilings)
    sync_flags(session, ceilings, None, report, actor=actor)
    close_flags_outside(session, visited, blocks, report)
    return report


def _count(report: ReconcileReport, specs: list[FlagSpec]) -> None:
    for spec in specs:
        report.flags_by_type[spec.type] = report.flags_by_type.get(spec.type, 0) + 1


def _store_matches(session: Session, matches: list[MatchSpec]) -> None:
    if not matches:
        return
    # Every row of a group of copies is the same program: each is matched (and so "listed").
    session.execute(ReportMatch.__table__.insert(), [  # type: ignore[attr-defined]
        {"embassy_row_id": row_id, "obligation_id": obligation_id, "country_code": m.row.country,
         "fiscal_year": m.row.fiscal_year, "score": m.score, "evidence": m.evidence}
        for m in matches for row_id in m.row.members for obligation_id in m.obligation.members])
    _first_reported(session, matches)


def _first_reported(session: Session, matches: list[MatchSpec]) -> None:
    """Remember when the post first listed each obligation (kept once set)."""
    rows = {m.row.id for m in matches}
    uploaded = dict(session.execute(  # type: ignore[arg-type]
        select(EmbassyReportRow.id, Submission.uploaded_at)
        .join(Submission, Submission.id == EmbassyReportRow.submission_id)
        .where(EmbassyReportRow.id.in_(rows))).all())  # type: ignore[attr-defined]
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for match in matches:
        by_time[uploaded[match.row.id]].extend(match.obligation.members)
    for moment, ids in by_time.items():
        session.execute(update(Obligation).where(Obligation.id.in_(ids), Obligation.first_reported_at.is_(None))  # type: ignore[union-attr,attr-defined]
                        .values(first_reported_at=moment))


def blocks_of_submission(session: Session, submission_id: int) -> set[Block]:
    """The country-years a submission's records touch."""
    found: set[Block] = set()
    for model in (Obligation, EmbassyReportRow):
        found |= {(c, y) for c, y in session.execute(
            select(model.country_code, model.fiscal_year).where(model.submission_id == submission_id).distinct())}
    submission = session.get(Submission, submission_id)
    if submission is not None and submission.source_kind == "embassy" and submission.country_code:
        years = session.execute(select(SubmissionYear.fiscal_year).where(SubmissionYear.submission_id == submission_id))
        found |= {(submission.country_code, y) for (y,) in years}
    return found


def awareness(session: Session, country: str | None = None, fiscal_year: int | None = None) -> list[dict[str, Any]]:
    """Per post and fiscal year it reported on: how much of the agency money there its report lists,
    by count and by dollars, and the median days from obligation to the post first listing it."""
    covered = sorted(covered_blocks(session))
    results = []
    for block in covered:
        if (country and block[0] != country) or (fiscal_year and block[1] != fiscal_year):
            continue
        rows = session.execute(
            select(Obligation.amount, Obligation.obligation_date, Obligation.first_reported_at,
                   func.count(ReportMatch.id))
            .outerjoin(ReportMatch, ReportMatch.obligation_id == Obligation.id)
            .where(Obligation.country_code == block[0], Obligation.fiscal_year == block[1],
                   Obligation.current == True, Obligation.status == "obligated", Obligation.amount > 0)  # noqa: E712
            .group_by(Obligation.id, Obligation.amount, Obligation.obligation_date, Obligation.first_reported_at)).all()
        total = sum((r[0] for r in rows), Decimal("0.00"))
        listed = [r for r in rows if r[3]]
        listed_amount = sum((r[0] for r in listed), Decimal("0.00"))
        delays = sorted((r[2].date() - r[1]).days for r in listed if r[1] and r[2])
        results.append({
            "country": block[0], "fiscal_year": block[1], "obligations": len(rows), "listed": len(listed),
            "share_by_count": round(len(listed) / len(rows), 3) if rows else None,
            "amount": total, "listed_amount": listed_amount,
            "share_by_dollars": round(float(listed_amount / total), 3) if total else None,
            "median_days_to_first_report": delays[len(delays) // 2] if delays else None,
        })
    return results
