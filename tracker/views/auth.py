"""Sign in and sign out."""

from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from tracker.audit import record_event
from tracker.db import get_session
from tracker.models import User, utcnow
from tracker.users import SIGN_IN, SIGN_IN_FAILED, SIGN_IN_THROTTLED, SIGN_OUT, sign_in_wait, verify_password

bp = Blueprint("auth", __name__)

#: The session key holding when the person signed in (seconds since the epoch; the cookie is signed).
SIGNED_IN_AT = "signed_in_at"


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


#: The one message for every refused sign-in: it never says whether the username exists.
WRONG_CREDENTIALS = "Unknown username or wrong password."


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; sign in on valid credentials. Every failure gets the same message
    and status, throttled or not, known user or not; every attempt is audited."""
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        username = (form.username.data or "").strip()
        config = current_app.config
        wait = sign_in_wait(session, username=username, ip=request.remote_addr, now=utcnow(),
                            max_failures=config["LOGIN_MAX_FAILURES"], max_per_ip=config["LOGIN_MAX_FAILURES_PER_IP"],
                            window=timedelta(seconds=config["LOGIN_FAILURE_WINDOW"]))
        if wait is not None:
            record_event(session, action=SIGN_IN_THROTTLED, actor=username[:100],
                         summary=f"sign-in as {username[:100]} refused: too many failed attempts")
            session.commit()
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            flash(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.", "error")
            return render_template("auth/login.html", form=form), 429
        user = session.exec(select(User).where(User.username == username)).first()
        if verify_password(user, form.password.data or "") and user is not None and user.active:
            user.last_login_at = utcnow()
            record_event(session, action=SIGN_IN, actor=user.username, user_id=user.id, entity_type="user",
                         entity_id=user.id, summary=f"{user.username} signed in")
            session.commit()
            flask_session.clear()
            login_user(user)
            flask_session.permanent = True  # the cookie expires with the sign-in
            flask_session[SIGNED_IN_AT] = time.time()
            return redirect(_safe_next(request.args.get("next")))
        record_event(session, action=SIGN_IN_FAILED, actor=username[:100], entity_type="user",
                     entity_id=user.id if user is not None else None,
                     summary=f"failed sign-in as {username[:100]}")
        session.commit()
        flash(WRONG_CREDENTIALS, "error")
    status = 401 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _safe_next(target: str | None) -> str:
    """Follow ?next= only to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Sign out (audited)."""
    _sign_out(f"{current_user.username} signed out")
    return redirect(url_for("auth.login"))


def _sign_out(summary: str) -> None:
    """End the signed-in session, with an audit event saying why."""
    session = get_session()
    record_event(session, action=SIGN_OUT, actor=current_user.username, user_id=current_user.id, entity_type="user",
                 entity_id=current_user.id, summary=summary)
    session.commit()
    logout_user()
    flask_session.clear()


def end_expired_session() -> ResponseReturnValue | None:
    """Sign out a session older than PERMANENT_SESSION_LIFETIME, however active (run before every
    request). The cookie's own expiry is not enough: a copied cookie would live on."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    started = flask_session.get(SIGNED_IN_AT)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if isinstance(started, (int, float)) and 0 <= time.time() - started <= lifetime:
        return None
    _sign_out(f"{current_user.username}'s session expired")
    if request.path.startswith("/api/"):
        return {"error": "Unauthorized", "status": 401, "message": "Your session expired; sign in again."}, 401
    flash("Your session expired; sign in again.", "error")
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
