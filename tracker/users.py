"""Users: creation, passwords and scope (roles are listed in models.ROLES)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.audit import record_event
from tracker.countries import CountryResolver
from tracker.models import ROLES, AuditEvent, User, UserCountry
from tracker.offices import OfficeResolver

#: Passwords shorter than this are refused.
MIN_PASSWORD_LENGTH = 12


class UserError(ValueError):
    """A user that cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    """Hash a password with a modern, salted, slow scheme (scrypt)."""
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User | None, password: str) -> bool:
    """Tell whether the password is the user's. With no user, a hash is still checked, so an
    unknown username takes as long to refuse as a wrong password (no enumeration by timing)."""
    global _DUMMY_HASH
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


_DUMMY_HASH: str | None = None

#: Audit actions of sign-in.
SIGN_IN, SIGN_IN_FAILED, SIGN_IN_THROTTLED, SIGN_OUT = "sign_in", "sign_in.failed", "sign_in.throttled", "sign_out"


def sign_in_wait(session: Session, *, username: str, ip: str | None, now: datetime, max_failures: int,
                 max_per_ip: int, window: timedelta) -> timedelta | None:
    """How long sign-in stays refused for this username or client address, or None if it is allowed.

    Failed sign-ins are counted from the audit trail (every one is an event), not in memory, so
    the limit holds across worker processes and restarts. A username's count starts again after
    its last successful sign-in; an address's count does not.
    """
    since = now - window
    last_success = session.exec(select(func.max(AuditEvent.at)).where(
        AuditEvent.action == SIGN_IN, AuditEvent.actor == username[:100], AuditEvent.at >= since)).one()
    checks = [(AuditEvent.actor == username[:100], max_failures, max(since, last_success or since))]
    if ip:
        checks.append((AuditEvent.ip == ip[:45], max_per_ip, since))
    waits = []
    for condition, limit, start in checks:
        recent = session.exec(select(AuditEvent.at).where(AuditEvent.action == SIGN_IN_FAILED, condition,
                                                          AuditEvent.at > start)
                              .order_by(AuditEvent.at.desc()).limit(limit)).all()  # type: ignore[attr-defined]
        if limit > 0 and len(recent) >= limit:
            waits.append(recent[-1] + window - now)  # until the oldest of the last `limit` leaves the window
    return max(waits) if waits else None


def generate_password() -> str:
    """Return a random password that is easy to copy (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    countries: Sequence[str] = (),
    agency: str | None = None,
    full_name: str | None = None,
    actor: str = "cli",
) -> User:
    """Create a user with a role and a scope, and audit it (the caller commits).

    :param countries: countries an embassy officer's scope covers (codes or names)
    :param agency: the agency (or "AGENCY/OFFICE") an agency staff member's scope covers
    """
    username = username.strip()
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not username or len(username) > 80 or any(ch.isspace() for ch in username):
        raise UserError("a username is 1-80 characters without spaces")
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"there is already a user called {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if role == "embassy" and not countries:
        raise UserError("an embassy officer needs at least one country (--country)")
    if role == "agency" and not agency:
        raise UserError("agency staff need an agency or office (--agency)")
    codes = _country_codes(session, countries)
    user = User(username=username, role=role, full_name=full_name, password_hash=hash_password(password))
    if agency:
        office = OfficeResolver(session).resolve(agency)
        user.agency_id = office.agency_id
        user.office_id = office.office_id if office.stated else None
    session.add(user)
    session.flush()
    for code in codes:
        session.add(UserCountry(user_id=user.id, country_code=code))  # type: ignore[arg-type]
    record_event(
        session,
        action="user.create",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        summary=f"created {role} user {username}",
        after={"username": username, "role": role, "countries": codes, "agency": agency},
    )
    return user


def _country_codes(session: Session, countries: Sequence[str]) -> list[str]:
    if not countries:
        return []
    resolver = CountryResolver.load(session)
    return sorted({resolver.resolve(c) for c in countries})


def set_password(session: Session, *, username: str, password: str, actor: str = "cli") -> User:
    """Replace a user's password, and audit it (the caller commits)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise UserError(f"there is no user called {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    session.add(user)
    record_event(session, action="user.password", actor=actor, entity_type="user", entity_id=user.id,
                 summary=f"set the password of {username}")
    return user


def user_countries(session: Session, user: User) -> list[str]:
    """Return the country codes in a user's scope."""
    rows = session.exec(select(UserCountry.country_code).where(UserCountry.user_id == user.id))
    return sorted(rows.all())
