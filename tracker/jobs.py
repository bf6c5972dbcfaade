"""Web uploads run in the background: a small thread pool runs the import (a dry run for the
preview, then the commit) while the page shows how far it has got."""

from __future__ import annotations

import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from threading import Lock
from typing import Any

from flask import Flask
from sqlmodel import Session, select

from tracker.db import get_engine
from tracker.importing.pipeline import ImportRequest, import_and_commit
from tracker.importing.preview import preview_rows
from tracker.models import UploadJob, User, UserCountry, utcnow

log = logging.getLogger(__name__)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tracker-upload")
_progress: dict[int, tuple[int, int | None]] = {}
_lock = Lock()


def progress(job_id: int) -> tuple[int, int | None] | None:
    """Rows done and expected so far, for a job running in this process."""
    with _lock:
        return _progress.get(job_id)


def start(app: Flask, job_id: int) -> None:
    """Run a job in the background, or at once when the app says so (tests)."""
    if app.config.get("UPLOADS_IN_BACKGROUND", True):
        _pool.submit(run, app, job_id)
    else:
        run(app, job_id)


def run(app: Flask, job_id: int) -> None:
    """Run one job: import the file as its phase says, keep the result (never raises)."""
    engine = get_engine(app)
    try:
        with Session(engine) as session:
            job = session.get(UploadJob, job_id)
            if job is None:
                return
            job.state, job.updated_at = "running", utcnow()
            session.commit()
            request = _request(session, app, job)
        with Session(engine, expire_on_commit=False) as session:
            result = import_and_commit(session, request)
        preview = None
        if job.phase == "preview":
            wanted = {(i.sheet, i.row) for i in [*result.errors, *result.warnings] if i.row}
            preview = preview_rows(job.stored_path, job.filename, wanted)
        if result.status == "rejected":
            # A refused file is not kept: its problems and preview are in the job; the bytes
            # (perhaps hostile, perhaps huge once inflated) have no further use.
            with contextlib.suppress(OSError):
                os.remove(job.stored_path)
        with Session(engine) as session:
            job = session.get(UploadJob, job_id)
            job.state, job.result, job.preview = "done", _json(result.as_json()), preview or job.preview  # type: ignore[union-attr]
            job.submission_id = result.submission_id if result.status == "committed" else None  # type: ignore[union-attr]
            job.message = result.status  # type: ignore[union-attr]
            job.updated_at = utcnow()  # type: ignore[union-attr]
            session.commit()
    except Exception:  # noqa: BLE001 - a failed job is shown as failed, never as a traceback
        log.exception("upload job %s failed", job_id)
        with Session(engine) as session:
            job = session.get(UploadJob, job_id)
            if job is not None:
                job.state, job.message, job.updated_at = "failed", "the file could not be processed", utcnow()
                session.commit()
    finally:
        with _lock:
            _progress.pop(job_id, None)


def _request(session: Session, app: Flask, job: UploadJob) -> ImportRequest:
    user = session.get(User, job.user_id)
    allowed = None
    if user is not None and user.role == "embassy":
        allowed = list(session.exec(select(UserCountry.country_code).where(UserCountry.user_id == user.id)).all())

    def report(done: int, total: int | None, job_id: int = job.id) -> None:  # type: ignore[assignment]
        with _lock:
            _progress[job_id] = (done, total)

    return ImportRequest(path=job.stored_path, filename=job.filename, source=job.source_kind, agency=job.agency,
                         country=job.country_code, fiscal_years=job.fiscal_years or None,
                         dry_run=job.phase == "preview", uploaded_by_id=job.user_id,
                         actor=user.username if user else "web", allowed_countries=allowed,
                         own_agency_only=user is not None and user.role == "agency",
                         fy_min=app.config["FISCAL_YEAR_MIN"], fy_max=app.config["FISCAL_YEAR_MAX"], progress=report)


def _json(value: Any) -> Any:
    import json

    from tracker.cli import _json_default

    return json.loads(json.dumps(value, default=_json_default))
