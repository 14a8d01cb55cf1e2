"""Who may act on an office's objects: one rule for every domain."""

from __future__ import annotations

from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.models import ADMIN_ROLES, User
from ehrenamt.workflow import Actor


def check_staff(acting: Acting, office_id: int, subject: str) -> User:
    """The acting user, who must be staff of ``office_id`` acting in their own role.

    A clerk acts as clerk; only an admin account acts as admin; a partner or volunteer
    account is nobody's staff, even with an office. A programme admin is staff of the one
    office she has chosen to work in (her ``office_id``), as its admin. Anything else raises
    :class:`NotPermitted` (views answer 404: another office's object does not exist).
    """
    user = acting.user
    if (
        user is None
        or not user.is_staff
        or user.office_id != office_id
        or acting.actor not in (Actor.CLERK, Actor.ADMIN)
        or (acting.actor == Actor.ADMIN and user.role not in ADMIN_ROLES)
    ):
        raise NotPermitted(subject)
    return user
