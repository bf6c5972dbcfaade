"""Sign in and sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from tracker.audit import record_event
from tracker.db import get_session
from tracker.models import User, utcnow
from tracker.users import verify_password

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; sign in on valid credentials (one message for every failure)."""
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = session.exec(select(User).where(User.username == form.username.data)).first()
        if user is not None and user.active and verify_password(user, form.password.data or ""):
            user.last_login_at = utcnow()
            record_event(session, action="sign_in", actor=user.username, user_id=user.id)
            session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Unknown username or wrong password.", "error")
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
    """Sign out."""
    logout_user()
    return redirect(url_for("auth.login"))
