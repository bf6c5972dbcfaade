"""Thin blueprints over the domain functions: load, check permission, call, commit, render."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from tracker.db import get_session
from tracker.models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
csrf = CSRFProtect()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user for a request (inactive accounts are refused by Flask-Login)."""
    if not user_id.isdigit():
        return None
    return get_session().get(User, int(user_id))


def register_views(app: Flask) -> None:
    """Attach sign-in, CSRF protection and the blueprints."""
    from tracker.views import auth, main

    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
