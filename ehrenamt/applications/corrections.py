"""Corrections of a person's data by staff: a typo in the name, a new address.

Each changed field is one audit row with the old and the new value and the clerk's
reason. The card keeps the name it was printed with; a card whose holder's name was
corrected is offered for re-issuing (:func:`name_differs_on_card`), which prints the
corrected name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm.exc import StaleDataError

from ehrenamt.applications import recheck
from ehrenamt.cards.register import card_for_application
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import Conflict
from ehrenamt.models import Application, Card, CardState


@dataclass(frozen=True)
class PersonData:
    """What staff may correct: the person's name, birth date, address and phone."""

    first_name: str
    last_name: str
    birth_date: date
    street: str
    postcode: str
    town: str
    phone: str | None

    @classmethod
    def of(cls, application: Application) -> PersonData:
        """The data as the application has it now."""
        return cls(
            first_name=application.first_name,
            last_name=application.last_name,
            birth_date=application.birth_date,
            street=application.street,
            postcode=application.postcode,
            town=application.town,
            phone=application.phone,
        )


def correct(
    application: Application,
    acting: Acting,
    corrected: PersonData,
    reason: str,
    *,
    expected_version: int,
) -> list[str]:
    """Store the corrected data; returns the names of the fields that changed.

    Any state: a decided application is corrected as much as an open one (the card
    holder's data is the application's). Raises :class:`Conflict` if the application
    changed since the clerk saw it.
    """
    check_staff(acting, application.office_id, application.public_id)
    if application.version != expected_version:
        raise Conflict(application.public_id)
    before = PersonData.of(application)
    changed = [name for name in before.__dataclass_fields__ if _differs(before, corrected, name)]
    checks = recheck.checks_before(application) if changed else None
    for name in changed:
        old, new = getattr(before, name), getattr(corrected, name)
        setattr(application, name, new)
        record_change(
            acting,
            application,
            AuditAction.CORRECT,
            reason=f"{name}: {_shown(old)} → {_shown(new)}; {reason}",
        )
    if changed:
        application.search_name = application.full_name.lower()
        # Address and birth date feed the place and age rules: an open application is
        # checked again, and a changed outcome audited.
        recheck.record_recheck(application, acting, checks)
        try:
            outbox.commit()
        except StaleDataError:
            # Another clerk changed the application between our reading and writing.
            outbox.rollback()
            raise Conflict(application.public_id) from None
    return changed


def _differs(before: PersonData, after: PersonData, name: str) -> bool:
    return bool(getattr(before, name) != getattr(after, name))


def _shown(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "–" if value in (None, "") else str(value)


def name_differs_on_card(application: Application) -> Card | None:
    """The application's card if it is in use and shows a name other than the corrected
    one: staff are offered to re-issue it."""
    card = card_for_application(application.id)
    if card is None or card.state not in (CardState.ACTIVE, CardState.ISSUING):
        return None
    return card if card.holder_name != application.full_name else None
