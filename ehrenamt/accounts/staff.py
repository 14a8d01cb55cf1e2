"""An office's staff accounts, run by its admin: invitations, roles, deactivation and
the second factor.

Every change is audited and mailed to the person concerned. The last active admin of an
office cannot be demoted or deactivated (nobody could run the office's staff any more),
and an admin cannot change their own account here, so that nobody locks themselves out
by a slip of the mouse; another admin can.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import aliased

from ehrenamt.accounts import links, recovery_codes, users
from ehrenamt.core import audit, mail, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.errors import DomainError, NotPermitted
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.core.turns import wait_for_turn
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import LinkPurpose, Office, OneTimeLink, User, UserRole, utcnow
from ehrenamt.workflow import Actor

#: The roles an office admin gives and takes: programme admins are not an office's staff.
OFFICE_ROLES = (UserRole.CLERK, UserRole.ADMIN)
#: How long an invitation link works.
INVITATION_MAX_AGE = timedelta(days=7)
#: An invitation goes out again at most this often per person: a double click, or an
#: admin clicking on and on, must not fill the person's mailbox.
INVITATION_RESEND_INTERVAL = timedelta(minutes=10)


class StaffChangeRefused(DomainError):
    """A change the admin may not make; the message says why (for the page)."""


class LastAdmin(StaffChangeRefused):
    """The change would leave the office without an active admin."""


class OwnAccount(StaffChangeRefused):
    """An admin tried to change their own account on the staff page."""


class EmailTaken(StaffChangeRefused):
    """The address has an account already."""


class InvitationNotResent(StaffChangeRefused):
    """No new invitation: the person has a password already, or one went out just now."""


def _staff_query(office_id: int) -> Select[Any]:
    return select(User).where(User.office_id == office_id, User.role.in_(OFFICE_ROLES))


def list_staff(office_id: int, page: int, page_size: int) -> Page[User]:
    """One page of the office's clerks and admins, active ones first, by name."""
    query = _staff_query(office_id).order_by(
        User.active.desc(), func.lower(User.display_name), User.id
    )
    return fetch_page(query, page, page_size)


def get_staff_member(office_id: int, user_id: int) -> User | None:
    """The clerk or admin ``user_id`` of the office; None for anyone else."""
    found: User | None = db.session.scalar(_staff_query(office_id).where(User.id == user_id))
    return found


def _check_admin(acting: audit.Acting, office_id: int) -> User:
    """The acting admin of ``office_id``; :class:`NotPermitted` for anyone else."""
    admin = check_staff(acting, office_id, "staff")
    if acting.actor != Actor.ADMIN:
        raise NotPermitted("staff")
    return admin


def invite_staff(
    acting: audit.Acting, office_id: int, email: str, display_name: str, role: UserRole
) -> User:
    """A new clerk or admin of the office, mailed a one-time link to set a password;
    they enrol their authenticator at the first sign-in. Commits."""
    _check_admin(acting, office_id)
    if role not in OFFICE_ROLES:
        raise NotPermitted("role")
    if users.find_user(email) is not None:
        raise EmailTaken(_("Zu dieser E-Mail-Adresse gibt es schon ein Konto."))
    office = db.session.get(Office, office_id)
    user = users.create_user(email, role, office=office, display_name=display_name.strip())
    db.session.flush()
    _audit(acting, user, audit.AuditAction.INVITE_STAFF, to_state=role.value)
    mail_invitation(user)
    outbox.commit()
    return user


def resend_invitation(acting: audit.Acting, member: User) -> None:
    """Mail ``member`` a new invitation link; every earlier one stops working (an old
    mail forwarded or lying about must not set the password). Only for someone who has
    not set a password yet, and at most every :data:`INVITATION_RESEND_INTERVAL`.
    Commits."""
    _check_change(acting, member)
    send_invitation_again(acting, member)


def send_invitation_again(acting: audit.Acting, member: User) -> None:
    """:func:`resend_invitation` after its permission check (the programme's
    administrators check theirs: :mod:`ehrenamt.accounts.programme_admins`)."""
    # One resend at a time per person: the second of two clicks reads the first's link.
    wait_for_turn(member, User.session_version)
    if member.password_hash is not None:
        raise InvitationNotResent(
            _(
                "Diese Person hat ihr Passwort schon festgelegt. Hat sie es vergessen, "
                "fordert sie auf der Anmeldeseite einen Link an."
            )
        )
    if not member.active:
        raise InvitationNotResent(_("Der Zugang ist deaktiviert; aktivieren Sie ihn zuerst."))
    now = utcnow()
    last = db.session.scalar(
        select(func.max(OneTimeLink.created_at)).where(
            OneTimeLink.user_id == member.id, OneTimeLink.purpose == LinkPurpose.INVITATION
        )
    )
    if last is not None and last > now - INVITATION_RESEND_INTERVAL:
        raise InvitationNotResent(
            _(
                "Die letzte Einladung ging vor weniger als %(minutes)s Minuten hinaus; bitte "
                "versuchen Sie es später noch einmal.",
                minutes=int(INVITATION_RESEND_INTERVAL.total_seconds() // 60),
            )
        )
    links.expire_links([member.id], LinkPurpose.INVITATION)
    _audit(acting, member, audit.AuditAction.RESEND_INVITATION)
    mail_invitation(member)
    outbox.commit()


def mail_invitation(user: User) -> None:
    """Issue an invitation link for ``user`` and queue the mail that carries it (also
    for a programme administrator: :mod:`ehrenamt.accounts.programme_admins`)."""
    token = links.issue_link(user, LinkPurpose.INVITATION, INVITATION_MAX_AGE)
    with force_locale(user.language):
        mail.queue_mail(
            users.email_of(user),
            _("Einladung zur Ehrenamtskarte"),
            "staff_invitation",
            user=user,
            office=user.office,
            role=user.role,
            link=external_url("passwords.accept_invitation", token=token),
            days=INVITATION_MAX_AGE.days,
        )


def change_role(acting: audit.Acting, member: User, role: UserRole) -> None:
    """Make ``member`` a clerk or an admin. Commits."""
    if role not in OFFICE_ROLES:
        raise NotPermitted("role")
    _check_change(acting, member)
    if member.role == role:
        return
    old = member.role
    _change(member, removes_admin=role != UserRole.ADMIN, role=role)
    _audit(acting, member, audit.AuditAction.CHANGE_ROLE, old.value, role.value)
    tell(member, _l("Ihre Rolle ist jetzt: %(role)s.", role=_role_name(role)))


def deactivate(acting: audit.Acting, member: User) -> None:
    """``member`` can no longer sign in; their sessions end at once. Commits."""
    _check_change(acting, member)
    if not member.active:
        return
    _change(member, removes_admin=True, active=False, session_version=User.session_version + 1)
    _audit(acting, member, audit.AuditAction.DEACTIVATE, "active", "inactive")
    tell(member, _l("Ihr Zugang wurde deaktiviert. Sie können sich nicht mehr anmelden."))


def reactivate(acting: audit.Acting, member: User) -> None:
    """``member`` can sign in again. Commits."""
    _check_change(acting, member)
    if member.active:
        return
    member.active = True
    _audit(acting, member, audit.AuditAction.REACTIVATE, "inactive", "active")
    tell(member, _l("Ihr Zugang wurde wieder freigeschaltet."))


def reset_second_factor(acting: audit.Acting, member: User) -> None:
    """Forget ``member``'s authenticator and recovery codes (a lost phone): they enrol
    again at their next sign-in, and their sessions end now. Commits."""
    _check_change(acting, member)
    forget_second_factor(member)
    _audit(acting, member, audit.AuditAction.RESET_SECOND_FACTOR)
    tell(
        member,
        _l(
            "Ihr zweiter Faktor wurde zurückgesetzt. Bei der nächsten Anmeldung richten Sie "
            "Ihre Authenticator-App neu ein."
        ),
    )


def forget_second_factor(member: User) -> None:
    """Drop ``member``'s authenticator, its lock and the recovery codes, and end her
    sessions: the next sign-in enrols anew (the caller audits and commits)."""
    member.totp_secret = None
    member.totp_last_step = None
    member.second_factor_failures = 0
    member.second_factor_locked_until = None
    member.session_version += 1
    recovery_codes.delete_codes(member)


def _check_change(acting: audit.Acting, member: User) -> None:
    """Refuse a change by anyone but another admin of the member's office."""
    if member.office_id is None or member.role not in OFFICE_ROLES:
        raise NotPermitted("staff")
    admin = _check_admin(acting, member.office_id)
    if admin.id == member.id:
        raise OwnAccount(
            _("Ihr eigenes Konto können Sie hier nicht ändern; bitten Sie eine andere Person.")
        )


def _change(member: User, *, removes_admin: bool, **values: Any) -> None:
    """Set ``values`` on ``member``; refused with :class:`LastAdmin` if the change takes
    away the office's last active admin.

    The check and the change are one conditional UPDATE, so that two admins removing
    each other at once cannot both succeed. On PostgreSQL the office row is locked
    first: the second UPDATE then starts after the first commits and sees its result
    (without the lock, each would see the other still active in its snapshot).
    """
    query = update(User).where(User.id == member.id).values(**values)
    if removes_admin and member.role == UserRole.ADMIN and member.active:
        db.session.execute(select(Office.id).where(Office.id == member.office_id).with_for_update())
        other = aliased(User)
        query = query.where(
            exists().where(
                other.office_id == member.office_id,
                other.role == UserRole.ADMIN,
                other.active.is_(True),
                other.id != member.id,
            )
        )
    result = db.session.execute(query.execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        db.session.rollback()
        raise LastAdmin(_("Das ist die letzte aktive Administration des Amts; das geht nicht."))
    db.session.refresh(member)


def _audit(
    acting: audit.Acting,
    member: User,
    action: audit.AuditAction,
    from_state: str | None = None,
    to_state: str | None = None,
) -> None:
    audit.record(
        acting,
        subject_type=audit.Subject.USER,
        subject_id=member.id,
        action=action,
        office_id=member.office_id,
        from_state=from_state,
        to_state=to_state,
    )


def _role_name(role: UserRole) -> LazyString:
    return _l("Administration") if role == UserRole.ADMIN else _l("Sachbearbeitung")


def tell(member: User, change: LazyString) -> None:
    """Mail ``member`` what changed in their account (in their language), then commit."""
    with force_locale(member.language):
        mail.queue_mail(
            users.email_of(member),
            _("Ihr Zugang zur Ehrenamtskarte wurde geändert"),
            "staff_account_changed",
            user=member,
            office=member.office,
            what_changed=str(change),
        )
    outbox.commit()
