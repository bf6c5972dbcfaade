"""Results stage: one ImportResult per file drives the CLI's JSON and text reports and the web
preview; blocking errors and warnings are kept apart, each naming sheet, row, column and value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Issues listed in full per file; past this, a count stands for the rest.
MAX_LISTED_ISSUES = 2000


@dataclass
class Issue:
    """A blocking error or a warning about one place in the file (row 0: the file or sheet)."""

    sheet: str
    row: int
    column: str
    header: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: {"sheet", "row", "column", "header", "value", "message"}."""
        return asdict(self)

    def where(self) -> str:
        """Where it is, for people: "sheet 'FY2006', row 12, column F (Amount)"."""
        parts = []
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" ({self.header})" if self.header else ""))
        return ", ".join(parts) or "file"


@dataclass
class Skipped:
    """A row read but not stored, and why (a total row, a note, or a row with errors)."""

    sheet: str
    row: int
    reason: str


@dataclass
class ImportResult:
    """What became of one file."""

    file: str
    status: str = "rejected"  # committed, dry-run, rejected, already-imported
    submission_id: int | None = None
    rows_read: int = 0
    records: int = 0
    updated: int = 0  # records changed through the tracker's own record IDs
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    fiscal_years: list[int] = field(default_factory=list)
    mapping: list[dict[str, Any]] = field(default_factory=list)
    more_errors: int = 0
    more_warnings: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # a re-filled template, cell by cell

    @property
    def ok(self) -> bool:
        """Committed, already imported, or a dry run that would commit."""
        return self.status in ("committed", "already-imported", "dry-run")

    def error(self, issue: Issue) -> None:
        """Add a blocking error (counted past the listing limit)."""
        if len(self.errors) < MAX_LISTED_ISSUES:
            self.errors.append(issue)
        else:
            self.more_errors += 1

    def warn(self, issue: Issue) -> None:
        """Add a warning (counted past the listing limit)."""
        if len(self.warnings) < MAX_LISTED_ISSUES:
            self.warnings.append(issue)
        else:
            self.more_warnings += 1

    @property
    def error_count(self) -> int:
        """All blocking errors, listed or not."""
        return len(self.errors) + self.more_errors

    def as_json(self) -> dict[str, Any]:
        """The command line's JSON object for this file."""
        return {
            "file": self.file,
            "status": self.status,
            "submission_id": self.submission_id,
            "rows_read": self.rows_read,
            "records": self.records,
            "updated": self.updated,
            "skipped": [asdict(s) for s in self.skipped],
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "errors_not_listed": self.more_errors,
            "warnings_not_listed": self.more_warnings,
            "notes": self.notes,
            "superseded": self.superseded,
            "fiscal_years": self.fiscal_years,
            "mapping": self.mapping,
            "changes": self.changes,
        }

    def as_text(self) -> str:
        """A readable report for the terminal."""
        lines = [f"{self.file}: {self.status}" + (f" (submission {self.submission_id})" if self.submission_id else "")]
        lines.append(f"  rows read {self.rows_read}, records {'stored' if self.status == 'committed' else 'found'} "
                     f"{self.records}" + (f", updated {self.updated}" if self.updated else "")
                     + f", skipped {len(self.skipped)}")
        if self.fiscal_years:
            lines.append("  fiscal years: " + ", ".join(f"FY{y}" for y in self.fiscal_years))
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.superseded:
            lines.append("  supersedes submission " + ", ".join(map(str, self.superseded)))
        for change in self.changes[:100]:
            lines.append(f"  {change['change']}: row {change['row']} {change['field']} "
                         f"{change['before']!s:.40} -> {change['after']!s:.40}".rstrip())
        for title, issues, more in (("errors", self.errors, self.more_errors), ("warnings", self.warnings, self.more_warnings)):
            if issues:
                lines.append(f"  {title} ({len(issues) + more}):")
                lines.extend(f"    {i.where()}: {i.message}" + (f" [value: {i.value[:80]}]" if i.value else "")
                             for i in issues)
                if more:
                    lines.append(f"    ... and {more} more")
        if self.skipped:
            lines.append("  skipped rows:")
            lines.extend(f"    sheet '{s.sheet}' row {s.row}: {s.reason}" if s.sheet else f"    row {s.row}: {s.reason}"
                         for s in self.skipped[:200])
            if len(self.skipped) > 200:
                lines.append(f"    ... and {len(self.skipped) - 200} more")
        return "\n".join(lines)
