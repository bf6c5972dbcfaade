"""Run the shared corpora (../shared/samples and ../shared/bad-inputs) through the real
`tracker` command on a fresh database, and fail on any difference from their answer keys.

    .venv/bin/python .ci/shared_corpus.py [--shared ../shared] [--tracker .venv/bin/tracker]

The project's own tests never need ../shared (a user's clone has no such folder); this script
is run by .ci/run when the folder exists, and by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path


def tracker(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a tracker command; the environment carries the scratch database."""
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def check_samples(binary: str, samples: Path) -> list[str]:
    """Import every sample as the answer key lists it; compare totals cell by cell."""
    key = json.loads((samples / "answer_key.json").read_text())
    problems = []
    for entry in key["files"]:
        if entry["kind"] == "agency":
            args = ["--source", "agency", "--agency", entry["agency"]]
        else:
            args = ["--source", "embassy", "--country", entry["country"], "--fiscal-years",
                    f"{min(key['fiscal_years'])}-{max(key['fiscal_years'])}"]
        done = tracker(binary, "import", str(samples / entry["file"]), *args, "--json")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["status"] != "committed":
            problems.append(f"{entry['file']}: {result['status']}: {result['errors'][:3]}")
    done = tracker(binary, "totals", "--by", "fiscal_year,agency,country", "--json")
    got = {(r["fiscal_year"], r["agency"], r["country"]): Decimal(r["amount"]) for r in json.loads(done.stdout)}
    expected = {(r["fiscal_year"], r["agency"], r["country"]): Decimal(str(r["amount"]))
                for r in key["agency_totals_as_reported"]}
    for cell in sorted(set(got) | set(expected), key=str):
        if got.get(cell) != expected.get(cell):
            problems.append(f"totals {cell}: expected {expected.get(cell)}, got {got.get(cell)}")
    print(f"samples: {len(key['files'])} files, {len(expected)} total cells compared, {len(problems)} problems")
    done = tracker(binary, "flags", "--json")
    problems += score_flags(key, json.loads(done.stdout))
    return problems


#: The bar the flags must clear on every scenario (issue 4).
MIN_RECALL, MIN_PRECISION = 0.95, 0.90


def score_flags(key: dict, flags: list[dict]) -> list[str]:
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
        print(f"  flags {kind:28} expected {len(expected):3}  found {len(found):3}  recall {recall:.2f}  "
              f"precision {precision:.2f}")
        if recall < MIN_RECALL or precision < MIN_PRECISION:
            problems.append(f"flags {kind}: recall {recall:.2f}, precision {precision:.2f}")
    for negative in key.get("negatives", []):
        kind = negative["must_not_be"]
        if any(hits(negative["records"], records(f)) for f in flags if f["type"] == kind):
            problems.append(f"negative flagged as {kind}: {negative['records']} ({negative.get('note')})")
    return problems


def check_bad_inputs(binary: str, folder: Path) -> list[str]:
    """Every hostile or broken file gets the outcome the manifest states, fast, without a traceback."""
    manifest = json.loads((folder / "manifest.json").read_text())
    template = manifest["assumed_template"]
    problems = []
    for case in manifest["files"]:
        started = time.perf_counter()
        done = tracker(binary, "import", str(folder / case["filename"]), "--source", template["source"],
                       "--country", template["uploader_iso3"], "--json")
        seconds = time.perf_counter() - started
        lines = done.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {"status": "no output"}
        expected = case["expected_cli_status"]
        if result["status"] != expected:
            problems.append(f"{case['filename']}: {result['status']}, expected {expected}")
        if (done.returncode == 0) != (expected in ("committed", "already-imported")):
            problems.append(f"{case['filename']}: exit status {done.returncode}")
        if "Traceback" in done.stderr:
            problems.append(f"{case['filename']}: traceback on stderr")
        if seconds > 20:
            problems.append(f"{case['filename']}: took {seconds:.1f} s")
        expected_rows = (case.get("details") or {}).get("expected_rows")
        if expected == "committed" and expected_rows is not None and result.get("records") != expected_rows:
            problems.append(f"{case['filename']}: {result.get('records')} records, expected {expected_rows}")
    print(f"bad inputs: {len(manifest['files'])} files, {len(problems)} problems")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--shared", default=str(root.parent / "shared"))
    parser.add_argument("--tracker", default=str(root / ".venv" / "bin" / "tracker"))
    options = parser.parse_args()
    shared = Path(options.shared)
    if not shared.is_dir():
        print(f"no shared folder at {shared}: nothing to check")
        return 0
    problems = []
    for name, check in (("samples", check_samples), ("bad-inputs", check_bad_inputs)):
        if not (shared / name).is_dir():
            continue
        with tempfile.TemporaryDirectory() as instance:
            os.environ["TRACKER_INSTANCE_PATH"] = instance
            os.environ.pop("TRACKER_DATABASE_URL", None)
            for step in (("db", "upgrade"), ("seed",)):
                done = tracker(options.tracker, *step)
                if done.returncode:
                    print(done.stdout, done.stderr)
                    return 1
            problems += check(options.tracker, shared / name)
    for problem in problems:
        print("  PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
