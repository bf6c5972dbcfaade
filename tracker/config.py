"""Configuration defaults. Overridden, in order, by ``instance/tracker.cfg``, by ``TRACKER_*``
environment variables (``TRACKER_DATABASE_URL``, ``TRACKER_SECRET_KEY``, ...) and by the dict
given to ``create_app`` (tests)."""

from __future__ import annotations

from pathlib import Path

#: Default values of the app's settings.
DEFAULTS: dict[str, object] = {
    # None means "a SQLite file in the instance folder" (set in create_app).
    "DATABASE_URL": None,
    # None means "generated once and kept in the instance folder".
    "SECRET_KEY": None,
    # SQLite: seconds a writer waits for another writer's lock before giving up.
    "SQLITE_BUSY_TIMEOUT": 30,
    # Fiscal years accepted anywhere in the app.
    "FISCAL_YEAR_MIN": 2000,
    "FISCAL_YEAR_MAX": 2035,
    # Largest upload accepted, in bytes (larger requests get 413).
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Where uploaded files are kept (None: instance/uploads) and exports written (None: ./exports).
    "UPLOAD_FOLDER": None,
    "EXPORT_FOLDER": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # The session cookie is marked Secure whenever the request came over HTTPS; True marks it
    # Secure always (set it when the app is only ever reached through HTTPS).
    "SESSION_COOKIE_SECURE": False,
    # Seconds a sign-in lasts, however active the person is (then they sign in again).
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # Reverse proxies in front of the app that set X-Forwarded-For / X-Forwarded-Proto (0: none;
    # only count proxies you run: the headers are trusted from that many hops).
    "TRUSTED_PROXIES": 0,
    # Sign-in throttling: after this many failed sign-ins for one username (since its last
    # success) or from one client address within the window, sign-in is refused until the
    # window has passed. Counted from the audit trail, so it holds across processes.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_MAX_FAILURES_PER_IP": 20,
    "LOGIN_FAILURE_WINDOW": 15 * 60,
    "WTF_CSRF_TIME_LIMIT": None,
}


def default_database_url(instance_path: str) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'tracker.db'}"


def load_or_create_secret(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, generating it on first use."""
    import secrets

    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
