"""Creating issuing offices (the CLI and, later, the programme administrator's pages)."""

from __future__ import annotations

from sqlalchemy import select

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
