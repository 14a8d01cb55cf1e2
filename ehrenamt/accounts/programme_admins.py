"""The programme's administrators, run by one another in the browser: invite, deactivate,
reactivate, reset the second factor.

Why here and not only in the CLI: a district or state has several people in this role
and replaces them over the years; the CLI needs a server shell, which the people running
the programme usually do not have. The rules are the office staff page's: every change
is audited and mailed, nobody changes their own account here, and the last active
programme administrator cannot be deactivated (the CLI stays the way back in, and it
creates the first one).

The audit rows have no office (``office_id`` None): a programme administrator belongs
to none. The programme's audit log shows them (:func:`ehrenamt.insight.audit_log`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import aliased

from ehrenamt.accounts import staff, users
from ehrenamt.core import audit, outbox
from ehrenamt.core.errors import NotPermitted
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import User, UserRole


def _query() -> Select[Any]:
    return select(User).where(User.role == UserRole.PROGRAMME_ADMIN)


def list_programme_admins(page: int, page_size: int) -> Page[User]:
    """One page of the programme's administrators, active ones first, by name."""
    query = _query().order_by(User.active.desc(), func.lower(User.display_name), User.id)
    return fetch_page(query, page, page_size)


def get_programme_admin(user_id: int) -> User | None:
    """The programme administrator ``user_id``; None for anyone else."""
    found: User | None = db.session.scalar(_query().where(User.id == user_id))
    return found


def _check(acting: User, member: User | None = None) -> None:
    """Only a programme administrator acts here, and not on her own account."""
    if acting.role != UserRole.PROGRAMME_ADMIN:
        raise NotPermitted("programme")
    if member is not None and member.role != UserRole.PROGRAMME_ADMIN:
        raise NotPermitted("programme")
    if member is not None and member.id == acting.id:
        raise staff.OwnAccount(
            _("Ihr eigenes Konto können Sie hier nicht ändern; bitten Sie eine andere Person.")
        )


def _audit(acting: User, member: User, action: audit.AuditAction, **states: str) -> None:
    audit.record(
        audit.Acting.staff(acting),
        subject_type=audit.Subject.USER,
        subject_id=member.id,
        action=action,
        office_id=None,
        from_state=states.get("from_state"),
        to_state=states.get("to_state"),
    )


def invite_programme_admin(acting: User, email: str, display_name: str) -> User:
    """A new programme administrator, mailed a one-time link to set a password; she
    enrols her authenticator at the first sign-in and then chooses an office. Commits."""
    _check(acting)
    if users.find_user(email) is not None:
        raise staff.EmailTaken(_("Zu dieser E-Mail-Adresse gibt es schon ein Konto."))
    member = users.create_user(email, UserRole.PROGRAMME_ADMIN, display_name=display_name.strip())
    db.session.flush()
    _audit(acting, member, audit.AuditAction.INVITE_STAFF, to_state=UserRole.PROGRAMME_ADMIN)
    staff.mail_invitation(member)
    outbox.commit()
    return member


def deactivate(acting: User, member: User) -> None:
    """``member`` can no longer sign in; her sessions end. Refused with
    :class:`staff.LastAdmin` for the last active programme administrator. Commits."""
    _check(acting, member)
    if not member.active:
        return
    # Check and change in one conditional UPDATE: two administrators deactivating each
    # other at once cannot both succeed (the loser's UPDATE matches no row). On
    # PostgreSQL the active programme admins' rows are locked first (in id order, so two
    # cannot deadlock): the second UPDATE then starts after the first commits and sees
    # its result; without the lock each sees the other still active in its snapshot.
    db.session.execute(
        select(User.id)
        .where(User.role == UserRole.PROGRAMME_ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    other = aliased(User)
    result = db.session.execute(
        update(User)
        .where(
            User.id == member.id,
            exists().where(
                other.role == UserRole.PROGRAMME_ADMIN,
                other.active.is_(True),
                other.id != member.id,
            ),
        )
        .values(active=False, session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.session.rollback()
        raise staff.LastAdmin(
            _("Das ist die letzte aktive Programmadministration; das geht nicht.")
        )
    db.session.refresh(member)
    _audit(acting, member, audit.AuditAction.DEACTIVATE, from_state="active", to_state="inactive")
    staff.tell(member, _l("Ihr Zugang wurde deaktiviert. Sie können sich nicht mehr anmelden."))


def reactivate(acting: User, member: User) -> None:
    """``member`` can sign in again. Commits."""
    _check(acting, member)
    if member.active:
        return
    member.active = True
    _audit(acting, member, audit.AuditAction.REACTIVATE, from_state="inactive", to_state="active")
    staff.tell(member, _l("Ihr Zugang wurde wieder freigeschaltet."))


def reset_second_factor(acting: User, member: User) -> None:
    """Forget ``member``'s authenticator and recovery codes (a lost phone); she enrols
    again at the next sign-in. Commits."""
    _check(acting, member)
    staff.forget_second_factor(member)
    _audit(acting, member, audit.AuditAction.RESET_SECOND_FACTOR)
    staff.tell(
        member,
        _l(
            "Ihr zweiter Faktor wurde zurückgesetzt. Bei der nächsten Anmeldung richten Sie "
            "Ihre Authenticator-App neu ein."
        ),
    )


def resend_invitation(acting: User, member: User) -> None:
    """A new invitation link for a programme administrator who has not set a password
    yet, with the staff page's rules (:func:`staff.resend_invitation`). Commits."""
    _check(acting, member)
    staff.send_invitation_again(audit.Acting.staff(acting), member)
