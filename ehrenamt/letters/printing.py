"""The office's outbox of letters: what waits, its PDF, and marking it printed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import Select, select, update

from ehrenamt.cardformat.letter import LetterContent, letters_pdf
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import Letter, Office, utcnow

log = logging.getLogger(__name__)

#: Letters in one download: a morning's print, and a PDF a browser still opens quickly.
LETTERS_PER_PDF = 500


def waiting_query(office_id: int) -> Select[Any]:
    """The office's letters not yet printed, oldest first."""
    return (
        select(Letter)
        .where(Letter.office_id == office_id, Letter.printed_at.is_(None))
        .order_by(Letter.id)
    )


def list_waiting(office_id: int, page: int, page_size: int) -> Page[Letter]:
    """One page of the letters waiting to be printed."""
    return fetch_page(waiting_query(office_id), page, page_size)


def next_print(office_id: int, up_to: int | None = None) -> list[Letter]:
    """The letters of the next download: the oldest waiting, at most a PDF's worth, and
    with ``up_to`` only those up to that id (the ones the page offered)."""
    query = waiting_query(office_id)
    if up_to is not None:
        query = query.where(Letter.id <= up_to)
    return list(db.session.scalars(query.limit(LETTERS_PER_PDF)))


def get_for_office(office_id: int, public_id: str) -> Letter | None:
    """One letter of the office (printed or not); None for another office's."""
    return db.session.scalar(
        select(Letter).where(Letter.office_id == office_id, Letter.public_id == public_id)
    )


def sender_lines(office: Office) -> tuple[str, ...]:
    """The office as the sender of its letters: name, then its postal address."""
    lines = (line.strip() for line in office.postal_address.splitlines())
    return (office.name, *(line for line in lines if line))


def letter_content(letter: Letter) -> LetterContent:
    """What the PDF shows of a stored letter; the date in the recipient's language."""
    with force_locale(letter.language):
        closing = _("Mit freundlichen Grüßen")
        return LetterContent(
            sender_lines=sender_lines(letter.office),
            recipient_lines=tuple(letter.address_lines),
            date_caption=_("Datum"),
            date_text=format_date(letter.created_at.date(), format="long"),
            subject=letter.subject,
            body=f"{letter.body}\n\n{closing}\n{letter.office.name}",
        )


def render_letters(letters: Iterable[Letter]) -> bytes:
    """The letters as one PDF, each from a new sheet (DIN 5008, window envelope)."""
    return letters_pdf([letter_content(letter) for letter in letters])


def mark_printed(acting: Acting, office_id: int, up_to: int) -> int:
    """Mark the office's waiting letters up to id ``up_to`` printed; commits.

    ``up_to`` is the last letter of the PDF staff downloaded (ids grow), so a letter
    written after the download stays waiting. Returns how many were marked.
    """
    user = check_staff(acting, office_id, "letters")
    marked = db.session.scalars(
        update(Letter)
        .where(
            Letter.office_id == office_id,
            Letter.id <= up_to,
            Letter.printed_at.is_(None),
        )
        .values(printed_at=utcnow(), printed_by_id=user.id)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    log.info("%d letters marked printed", len(marked))
    return len(marked)
