"""The programme administrator: creates offices and chooses the office she works in.

She acts as the admin of one office at a time, the one in her account's ``office_id``:
every office page and the one staff rule (:func:`ehrenamt.core.access.check_staff`)
then treat her as that office's admin, and other offices' objects stay out of reach
until she switches. (Kept in the account, not the session: all her tabs and devices
work in the same office, so none acts on another than the one it shows.)
"""

from __future__ import annotations

from sqlalchemy import func, select

from ehrenamt.core import audit
from ehrenamt.core.errors import DomainError, NotPermitted
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import Office, User, UserRole
from ehrenamt.offices.setup import create_office


class SlugTaken(DomainError):
    """Another office has this short name already."""


def _check_programme_admin(user: User) -> None:
    if user.role != UserRole.PROGRAMME_ADMIN:
        raise NotPermitted("programme")


def list_offices(page: int, page_size: int) -> Page[Office]:
    """One page of every office of the programme, by name."""
    return fetch_page(select(Office).order_by(func.lower(Office.name), Office.id), page, page_size)


def add_office(
    user: User, name: str, slug: str, contact_email: str, preset: str, postcodes: str
) -> Office:
    """A new office, made by the same service as the CLI's ``create-office``; audited.

    Raises :class:`SlugTaken` for a short name in use. Commits.
    """
    _check_programme_admin(user)
    if db.session.scalar(select(Office.id).where(Office.slug == slug)) is not None:
        raise SlugTaken(slug)
    office = create_office(name.strip(), slug, contact_email.strip().lower(), preset, postcodes)
    audit.record(
        audit.Acting.staff(user),
        subject_type=audit.Subject.OFFICE,
        subject_id=office.id,
        action=audit.AuditAction.CREATE_OFFICE,
        office_id=office.id,
        to_state=preset,
    )
    db.session.commit()
    return office


def switch_office(user: User, office_id: int) -> Office:
    """Work in office ``office_id`` from now on (audited in that office). Commits.

    Raises :class:`NotPermitted` for anyone but a programme admin or an unknown office.
    """
    _check_programme_admin(user)
    office = db.session.get(Office, office_id)
    if office is None:
        raise NotPermitted("office")
    if user.office_id != office.id:
        user.office_id = office.id
        audit.record(
            audit.Acting.staff(user),
            subject_type=audit.Subject.OFFICE,
            subject_id=office.id,
            action=audit.AuditAction.SWITCH_OFFICE,
            office_id=office.id,
        )
    db.session.commit()
    return office
