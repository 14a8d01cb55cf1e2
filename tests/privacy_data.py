"""Test data for the privacy tests: cards, uploads, letters, print runs, and a search of
the whole database."""

from __future__ import annotations

import io
import json
import secrets
from datetime import date, datetime

from sqlalchemy import JSON, Enum, LargeBinary, String, Text, cast, func, or_, select

from ehrenamt.cardformat import card_numbers
from ehrenamt.core import uploads
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Base,
    Card,
    CardState,
    Letter,
    Office,
    PrintLayout,
    PrintRun,
    PrintRunCard,
    PrintRunState,
    Upload,
)
from tests.test_uploads import make_pdf


def make_card(
    application: Application,
    *,
    state: CardState = CardState.ACTIVE,
    valid_from: date,
    valid_until: date | None,
) -> Card:
    """A card of the application, already in ``state``."""
    card = Card(
        public_id=secrets.token_hex(16),
        number=card_numbers.new_card_number(),
        application_id=application.id,
        office_id=application.office_id,
        holder_id=application.applicant_id,
        state=state,
        card_type=application.card_type,
        holder_name=application.full_name,
        search_name=application.full_name.lower(),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    db.session.add(card)
    db.session.commit()
    return card


def attach_upload(application: Application | None, created_at: datetime | None = None) -> Upload:
    """A stored proof (its file on disk), attached to the application if given."""
    upload = uploads.store_upload(io.BytesIO(make_pdf()), "nachweis-privat.pdf")
    upload.application = application
    if created_at is not None:
        upload.created_at = created_at
    db.session.commit()
    return upload


def make_letter(
    application: Application, *, card: Card | None = None, printed_at: datetime | None = None
) -> Letter:
    """A letter about the application (or its card) to its applicant."""
    letter = Letter(
        public_id=secrets.token_hex(16),
        office_id=application.office_id,
        recipient_id=application.applicant_id,
        application_id=application.id,
        card_id=card.id if card else None,
        kind="card_ready" if card else "application_status",
        language="de",
        subject="Ihr Antrag",
        body=f"Sehr geehrte Person {application.last_name}",
        address=f"{application.full_name}\n{application.street}\n{application.town}",
        printed_at=printed_at,
    )
    db.session.add(letter)
    db.session.commit()
    return letter


def make_print_run(
    office: Office,
    cards: list[Card],
    state: PrintRunState,
    created_at: datetime,
    posted_at: datetime | None = None,
) -> PrintRun:
    """A print run of the cards, its PDF still held unless it was posted."""
    run = PrintRun(
        public_id=secrets.token_urlsafe(16),
        office_id=office.id,
        layout=PrintLayout.SHEET,
        state=state,
        size=len(cards),
        done=len(cards),
        created_at=created_at,
        posted_at=posted_at,
        pdf=None if state == PrintRunState.POSTED else b"%PDF-1.7 names and addresses",
    )
    run.cards = [PrintRunCard(position=n, card_id=card.id) for n, card in enumerate(cards)]
    db.session.add(run)
    db.session.commit()
    return run


def text_columns_containing(needle: str) -> list[str]:
    """``table.column`` of every text column (and JSON, read as text) of every table in
    which some row contains ``needle`` (also lower-cased, and as JSON escapes it)."""
    forms = {needle, needle.lower(), json.dumps(needle)[1:-1]}
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            # Enum columns hold only their members (the database checks it).
            if isinstance(column.type, LargeBinary | Enum) or not isinstance(
                column.type, String | Text | JSON
            ):
                continue
            as_text = cast(column, Text) if isinstance(column.type, JSON) else column
            hits = db.session.scalar(
                select(func.count())
                .select_from(table)
                .where(or_(*(as_text.contains(form, autoescape=True) for form in forms)))
            )
            if hits:
                found.append(f"{table.name}.{column.name}")
    db.session.rollback()
    return found
