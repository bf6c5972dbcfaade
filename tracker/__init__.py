"""tracker: U.S. anti-trafficking obligations by fiscal year, agency, office, country and program,
with embassy reports reconciled against them and duplicate and unaware funding flagged."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask

from tracker import config as defaults


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, database, sign-in, CSRF, pages and commands.

    :param config: settings that override everything else (tests pass DATABASE_URL here);
        INSTANCE_PATH there (or TRACKER_INSTANCE_PATH) moves the instance folder
    """
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("TRACKER_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path or None)
    app.config.from_mapping(defaults.DEFAULTS)
    app.config.from_pyfile("tracker.cfg", silent=True)
    app.config.from_prefixed_env("TRACKER")
    if config:
        app.config.from_mapping(config)
    _fill_defaults(app)

    from tracker import cli, db
    from tracker.views import register_views

    db.init_app(app)
    register_views(app)
    cli.init_app(app)
    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies:
        # Behind reverse proxies: the client's address (audit, sign-in throttling) and scheme
        # (Secure cookies, HSTS) come from the X-Forwarded-* headers those proxies set.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app


def _fill_defaults(app: Flask) -> None:
    """Settings whose defaults depend on the instance folder."""
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = defaults.default_database_url(app.instance_path)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = defaults.load_or_create_secret(app.instance_path)
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    if not app.config["EXPORT_FOLDER"]:
        app.config["EXPORT_FOLDER"] = os.path.join(os.getcwd(), "exports")
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    if isinstance(lifetime, (int, float)):
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=lifetime)
