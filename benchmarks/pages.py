"""Benchmark: how fast the dashboard and the obligations browser's first page answer with a
large database (default 1,000,000 obligations) on SQLite.

    .venv/bin/python benchmarks/pages.py [--rows 1000000] [--db /tmp/pages.db] [--repeat 15]

Method: the synthetic data of benchmarks/reconcile_scale.py (obligations over ~190 countries and
10 fiscal years, embassy reports, then a full reconcile so flags exist), one signed-in reviewer,
and each page requested `--repeat` times in-process through Flask's test client (server time,
no network), after one warm-up request. Prints the median and the 90th percentile in ms, and
the same for the plain SQL sum of all obligations as a baseline measured in the same run.
Target: median under 500 ms for both pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/tracker-pages.db")
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    url = f"sqlite:///{options.db}"
    if not os.path.exists(options.db):
        from reconcile_scale import build, run_reconcile

        print(f"building {options.rows:,} obligations in {options.db} ...", flush=True)
        print(build(url, options.rows), flush=True)
        print("reconciling ...", flush=True)
        print({k: v for k, v in run_reconcile(url).items() if k != "flags"}, flush=True)

    from sqlalchemy import text

    from tracker import create_app
    from tracker.db import get_session
    from tracker.users import create_user

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        session = get_session()
        if not session.execute(text("SELECT 1 FROM app_user WHERE username = 'bench'")).first():
            create_user(session, username="bench", role="reviewer", password="benchmark-password")
            session.commit()
        count = session.execute(text("SELECT count(*) FROM obligation")).scalar_one()
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "benchmark-password"})

    def timed(call) -> list[float]:  # type: ignore[no-untyped-def]
        call()  # warm-up
        found = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            call()
            found.append((time.perf_counter() - started) * 1000)
        return found

    def page(path: str):  # type: ignore[no-untyped-def]
        def call() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return call

    def baseline() -> None:
        with app.app_context():
            get_session().execute(text("SELECT sum(amount) FROM obligation")).scalar_one()

    print(f"{count:,} obligations; {options.repeat} requests each after a warm-up")
    for name, call in (("SQL sum of all obligations (baseline)", baseline), ("/dashboard", page("/dashboard")),
                       ("/obligations (first page)", page("/obligations")),
                       ("/obligations?fy=2005&agency=DOS", page("/obligations?fy=2005&agency=DOS"))):
        times = timed(call)
        print(f"  {name:40} median {statistics.median(times):7.0f} ms   p90 {sorted(times)[int(len(times) * 0.9) - 1]:7.0f} ms")


if __name__ == "__main__":
    main()
