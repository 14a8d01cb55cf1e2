"""Sign-in: who is signed in, and the decorators views use to check roles."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user

from ehrenamt.accounts import users
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import STAFF_ROLES, User, UserRole

F = TypeVar("F", bound=Callable[..., Any])


def init_login_manager(manager: LoginManager) -> None:
    """Where to send anonymous visitors, and how to load the user of a session."""
    manager.login_view = "auth.login"
    manager.login_message = _l("Bitte melden Sie sich an.")
    manager.login_message_category = "info"
    manager.session_protection = "strong"
    manager.user_loader(_load_user)


def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    if user.role in STAFF_ROLES and not session.get("second_factor"):
        return None
    return user


def fresh_session() -> None:
    """Drop everything from the session (no fixation) but the visitor's language."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def sign_in(user: User, *, second_factor: bool = False) -> None:
    """Start a fresh session for ``user`` (staff only with their second factor)."""
    fresh_session()
    session["second_factor"] = second_factor
    session.permanent = True
    # Before login_user: ``user`` may be the current_user proxy, which then points at
    # itself.
    users.record_sign_in(user)
    login_user(user)
    note_authentication()


def note_authentication() -> None:
    """Remember that the person proved who they are just now (sign-in, password given
    again), for the pages that need a recent proof (:func:`authenticated_within`)."""
    session["authenticated_at"] = time.time()


def authenticated_within(minutes: float) -> bool:
    """Whether the person signed in or gave their password in the last ``minutes``: a
    session left open on a shared computer must not hand over everything stored."""
    at = session.get("authenticated_at")
    return isinstance(at, int | float) and 0 <= time.time() - at <= minutes * 60


def roles_required(*roles: UserRole) -> Callable[[F], F]:
    """Only these roles; anonymous visitors are sent to sign in, others get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from flask import current_app

            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                abort(403)
            if (
                current_user.role == UserRole.PROGRAMME_ADMIN
                and current_user.office_id is None
                and roles != (UserRole.PROGRAMME_ADMIN,)
            ):
                # An office's page, but she has not chosen an office to work in yet.
                return redirect(url_for("programme.offices"))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


#: A programme admin passes both, as the admin of the office she works in.
staff_required = roles_required(UserRole.CLERK, UserRole.ADMIN, UserRole.PROGRAMME_ADMIN)
admin_required = roles_required(UserRole.ADMIN, UserRole.PROGRAMME_ADMIN)
programme_admin_required = roles_required(UserRole.PROGRAMME_ADMIN)
volunteer_required = roles_required(UserRole.VOLUNTEER)
partner_role_required = roles_required(UserRole.PARTNER)


def partner_required(view: F) -> F:
    """A partner account whose partner is approved; ``g.partner`` is that partner.

    A partner still pending (or declined) sees only its own registration: 403 here.
    """
    from ehrenamt.models import PartnerState
    from ehrenamt.partners import membership

    @roles_required(UserRole.PARTNER)
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from flask import g

        partner = membership.partner_of(current_user)
        if partner is None or partner.state != PartnerState.APPROVED:
            abort(403)
        g.partner = partner
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def acting_staff() -> Acting:
    """The signed-in staff member, acting in their own role (for staff views)."""
    return Acting.staff(current_user)
