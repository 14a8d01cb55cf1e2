"""User accounts: created, found, authenticated, passwords set."""

from __future__ import annotations

from sqlalchemy import select

from ehrenamt.core import outbox, security
from ehrenamt.extensions import db
from ehrenamt.models import Office, User, UserRole, utcnow


def normalise_email(email: str) -> str:
    """E-mail addresses are compared in lower case without surrounding space."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


class NoEmailAddress(ValueError):
    """The person has no e-mail address (a paper application or an imported paper card):
    they get letters."""


def email_of(user: User) -> str:
    """The address of an account that signs in; such accounts always have one."""
    if not user.email:
        raise NoEmailAddress(user.id)
    return user.email


def create_user(
    email: str,
    role: UserRole,
    *,
    password: str | None = None,
    office: Office | None = None,
    display_name: str = "",
    totp_secret: str | None = None,
    email_confirmed: bool = False,
    language: str = "de",
) -> User:
    """Add a new account to the session (the caller commits)."""
    user = User(
        email=normalise_email(email),
        role=role,
        password_hash=security.hash_password(password) if password else None,
        office_id=office.id if office else None,
        display_name=display_name,
        totp_secret=totp_secret,
        email_confirmed_at=utcnow() if email_confirmed else None,
        language=language,
    )
    db.session.add(user)
    return user


def create_person_without_email(display_name: str, language: str = "de") -> User:
    """Add a volunteer without e-mail (a paper application): no way to sign in, letters
    instead of mails. The caller commits."""
    user = User(
        email=None,
        role=UserRole.VOLUNTEER,
        password_hash=None,
        display_name=display_name,
        language=language,
    )
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account if the password matches; the same time either way."""
    user = find_user(email)
    if not security.verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and sign out other sessions."""
    user.password_hash = security.hash_password(password)
    user.session_version += 1
    db.session.commit()


def record_sign_in(user: User) -> None:
    """Note when ``user`` signed in (the staff page shows it). Commits, and hands on any
    message the sign-in's transaction queued."""
    user.last_sign_in_at = utcnow()
    outbox.commit()
