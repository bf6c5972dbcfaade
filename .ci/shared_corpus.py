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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scenario import score_flags  # noqa: E402  (the scorer lives with the scenario generator)


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
    problems += score_flags(key, json.loads(done.stdout), report=print)
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
