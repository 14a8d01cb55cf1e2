"""Creating issuing offices (the CLI and, later, the programme administrator's pages)."""

from __future__ import annotations

from sqlalchemy import select

from ehrenamt.core import audit
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Office, Programme
from ehrenamt.offices.rules import rules_from_preset


def create_office(
    name: str, slug: str, contact_email: str, preset: str, postcodes: str = ""
) -> Office:
    """An office with rules from a preset, in the (single) programme."""
    programme = db.session.scalar(select(Programme).limit(1))
    if programme is None:
        programme = Programme(name="Ehrenamtskarte")
        db.session.add(programme)
    office = Office(
        programme=programme, name=name, slug=slug, contact_email=contact_email, postcodes=postcodes
    )
    office.rules = rules_from_preset(preset)
    db.session.add(office)
    db.session.flush()
    return office


#: Lines of an office's postal address below its name (DIN 5008's letterhead and return
#: line have room for a department, the street and the town, and a PO box).
MAX_ADDRESS_LINES = 4


def set_postal_address(office: Office, address: str, acting: Acting) -> None:
    """An office admin sets the address its letters give as sender; audited, commits."""
    check_staff(acting, office.id, office.slug)
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    new = "\n".join(lines[:MAX_ADDRESS_LINES])
    if new == office.postal_address:
        return
    before = office.postal_address
    office.postal_address = new
    audit.record(
        acting,
        subject_type=audit.Subject.OFFICE,
        subject_id=office.id,
        action=audit.AuditAction.UPDATE_OFFICE,
        office_id=office.id,
        reason=f"postal_address: {before!r} → {new!r}",
    )
    db.session.commit()
