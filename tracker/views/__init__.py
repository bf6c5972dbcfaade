"""Thin blueprints over the domain functions: load, check permission, call, commit, render."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlmodel import select
from werkzeug.exceptions import HTTPException

from tracker.db import get_session
from tracker.models import User, UserCountry
from tracker.money import format_money
from tracker.permissions import Actor

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
csrf = CSRFProtect()

#: The Content-Security-Policy every page is served with: no inline script anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user for a request (inactive accounts are refused by Flask-Login)."""
    if not user_id.isdigit():
        return None
    return get_session().get(User, int(user_id))


def get_actor() -> Actor:
    """The signed-in user's role and scope, as plain values (cached for the request)."""
    if "actor" not in g:
        if not current_user.is_authenticated:
            abort(401)
        countries = get_session().exec(select(UserCountry.country_code).where(UserCountry.user_id == current_user.id))
        g.actor = Actor(user_id=current_user.id, username=current_user.username, role=current_user.role,
                        countries=frozenset(countries.all()), agency_id=current_user.agency_id,
                        office_id=current_user.office_id)
    return g.actor


def options(pairs: list[tuple[Any, str]] | Any) -> list[Any]:
    """Choices for a SelectField (WTForms wants SelectChoice objects, not tuples)."""
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice(value, label) for value, label in pairs]


def require(allowed: bool) -> None:
    """Abort with 403 unless a permission holds."""
    if not allowed:
        abort(403)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked Secure whenever the request came
    over HTTPS (behind a proxy: once ProxyFix has read X-Forwarded-Proto), not only when
    SESSION_COOKIE_SECURE says so."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure if configured so, or if this request is HTTPS."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _error_page(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if request.path.startswith("/api/"):
        return {"error": error.name, "status": code, "message": error.description}, code
    return render_template("errors/error.html", error=error, code=code), code


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    return render_template("errors/error.html", code=400, error=error,
                           detail="The form expired or was not sent from this site. Go back, reload and try again."), 400


def _server_error(error: Exception) -> ResponseReturnValue:
    # Never a traceback for the person: the error goes to the log, the person sees a plain page.
    from flask import current_app

    current_app.logger.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
    if current_app.config.get("RAISE_SERVER_ERRORS"):
        raise error
    return render_template("errors/error.html", code=500, error=None,
                           detail="Something went wrong on our side; nothing was changed. Try again."), 500


def register_views(app: Flask) -> None:
    """Attach sign-in, CSRF protection, security headers, error pages and the blueprints."""
    from tracker.views import admin, api, auth, dashboard, main, obligations, review, uploads

    login_manager.init_app(app)
    csrf.init_app(app)
    app.session_interface = SessionCookies()
    for module in (auth, main, dashboard, obligations, review, uploads, admin, api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # read-only GETs
    app.before_request(auth.end_expired_session)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(Exception, _server_error)
    app.jinja_env.filters["money"] = lambda value: format_money(value, cents=False)
    app.jinja_env.filters["cents"] = format_money
    app.context_processor(lambda: {"actor": g.get("actor") if current_user.is_authenticated and _load_actor() else None})


def _load_actor() -> bool:
    try:
        get_actor()
    except HTTPException:
        return False
    return True
