"""Print runs: staff choose cards, a worker lays them out with cover letters in one PDF.

The run is created in the request (its cards checked and listed in print order), and
the PDF is made by the ``ehrenamt.make_print_run`` task, which reports its progress on
the row as it goes. Staff download it, print, post, and confirm: the cards are then
marked posted, which the holder's account shows.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ehrenamt.cardformat import print_sheets
from ehrenamt.cardformat.letter import LetterContent
from ehrenamt.cards.production import face_of
from ehrenamt.cards.register import RegisterFilter, register_query
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import DomainError, NotPermitted
from ehrenamt.extensions import db
from ehrenamt.letters.notices import postal_address
from ehrenamt.letters.printing import sender_lines
from ehrenamt.models import (
    Card,
    CardBatch,
    CardState,
    Letter,
    Office,
    PrintLayout,
    PrintRun,
    PrintRunCard,
    PrintRunState,
    utcnow,
)

log = logging.getLogger(__name__)

MAKE_PRINT_RUN_TASK = "ehrenamt.make_print_run"
#: Cards in one run: a day's post for a large office, and a PDF a printer still takes.
MAX_CARDS = 2000
#: The worker writes its progress after every this many cards.
PROGRESS_EVERY = 20


class PrintRunRefused(DomainError):
    """The chosen cards cannot be printed; the message says why, for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def create_print_run(
    acting: Acting, office_id: int, card_ids: Sequence[int], layout: PrintLayout
) -> PrintRun:
    """Check the cards and queue the run's PDF; commits (then the worker starts).

    Every card must be the office's (another office's card refuses the whole run) and
    active: a card still being made, or revoked or expired, is named in the refusal.
    """
    user = check_staff(acting, office_id, "print run")
    ids = list(dict.fromkeys(card_ids))
    if not ids:
        raise PrintRunRefused(_("Bitte wählen Sie mindestens eine Karte."))
    if len(ids) > MAX_CARDS:
        raise PrintRunRefused(_("Höchstens %(most)s Karten je Druckauftrag.", most=MAX_CARDS))
    cards = {card.id: card for card in db.session.scalars(select(Card).where(Card.id.in_(ids)))}
    if len(cards) != len(ids) or any(card.office_id != office_id for card in cards.values()):
        raise NotPermitted("print run")
    issuing = sorted(c.number for c in cards.values() if c.state == CardState.ISSUING)
    if issuing:
        raise PrintRunRefused(
            _(
                "Diese Karten werden noch erstellt: %(numbers)s. Bitte warten Sie, bis sie "
                "fertig sind, und starten Sie den Druckauftrag dann erneut.",
                numbers=", ".join(issuing),
            )
        )
    unusable = sorted(c.number for c in cards.values() if c.state != CardState.ACTIVE)
    if unusable:
        raise PrintRunRefused(
            _(
                "Diese Karten sind gesperrt oder abgelaufen: %(numbers)s.",
                numbers=", ".join(unusable),
            )
        )
    run = PrintRun(
        public_id=secrets.token_urlsafe(16),
        office_id=office_id,
        created_by_id=user.id,
        layout=layout,
        state=PrintRunState.QUEUED,
        size=len(ids),
        done=0,
    )
    run.cards = [PrintRunCard(position=n, card_id=card_id) for n, card_id in enumerate(ids)]
    db.session.add(run)
    db.session.flush()
    outbox.enqueue(MAKE_PRINT_RUN_TASK, print_run_id=run.id)
    outbox.commit()
    log.info("print run %s of %d cards queued", run.id, len(ids))
    return run


def make_print_run(run_id: int) -> bool:
    """The worker's part: lay out the run's PDF; False if it was made already."""
    run = db.session.get(PrintRun, run_id)
    if run is None or run.state != PrintRunState.QUEUED:
        return False
    cards = list(
        db.session.scalars(
            select(Card)
            .join(PrintRunCard, PrintRunCard.card_id == Card.id)
            .where(PrintRunCard.print_run_id == run_id)
            .order_by(PrintRunCard.position)
            .options(
                joinedload(Card.office).joinedload(Office.programme),
                joinedload(Card.application),
            )
        )
    )
    items = [_print_item(card) for card in cards]
    layout = run.layout.value
    db.session.commit()  # nothing is held while the pages are drawn

    def progress(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == len(items):
            db.session.execute(update(PrintRun).where(PrintRun.id == run_id).values(done=done))
            db.session.commit()

    printed = print_sheets.print_run_pdf(items, layout, progress=progress)
    made = db.session.execute(
        update(PrintRun)
        .where(PrintRun.id == run_id, PrintRun.state == PrintRunState.QUEUED)
        .values(state=PrintRunState.READY, pdf=printed.pdf, pages=printed.pages, done=len(items))
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    log.info("print run %s: %d cards, %d pages", run_id, len(items), printed.pages)
    return bool(made)


def mark_failed(run_id: int, reason: str) -> None:
    """The worker could not make the PDF; staff see it and can start a new run."""
    db.session.rollback()
    db.session.execute(
        update(PrintRun)
        .where(PrintRun.id == run_id, PrintRun.state == PrintRunState.QUEUED)
        .values(state=PrintRunState.FAILED, error=reason[:200])
    )
    db.session.commit()


def _print_item(card: Card) -> print_sheets.PrintItem:
    if card.token is None:  # active cards always carry their signed token
        raise ValueError(f"card {card.id} has no token")
    language = card.holder.language
    with force_locale(language):
        body = render_template("letters/card_cover.txt", card=card).strip()
        closing = _("Mit freundlichen Grüßen")
        letter = LetterContent(
            sender_lines=sender_lines(card.office),
            recipient_lines=tuple(postal_address(card.application).splitlines()),
            date_caption=_("Datum"),
            date_text=format_date(utcnow().date(), format="long"),
            subject=str(COVER_SUBJECT),
            body=f"{body}\n\n{closing}\n{card.office.name}",
        )
    return print_sheets.PrintItem(face=face_of(card, card.token), letter=letter)


COVER_SUBJECT = _l("Ihre Ehrenamtskarte")


def get_for_office(office_id: int, public_id: str) -> PrintRun | None:
    """A print run of the office, or None."""
    return db.session.scalar(
        select(PrintRun).where(PrintRun.office_id == office_id, PrintRun.public_id == public_id)
    )


def confirm_posted(acting: Acting, run: PrintRun) -> int:
    """Staff posted the run: its cards are marked posted, the PDF is dropped; commits."""
    check_staff(acting, run.office_id, run.public_id)
    if run.state != PrintRunState.READY:
        raise PrintRunRefused(_("Dieser Druckauftrag ist nicht fertig oder schon versandt."))
    now = utcnow()
    run.state = PrintRunState.POSTED
    run.posted_at = now
    run.pdf = None
    cards = [entry.card for entry in run.cards]
    for card in cards:
        card.posted_at = now
        record_change(acting, card, AuditAction.POST, reason=run.public_id)
    # The run's cover letter said what the waiting "card is ready" letter says, with the
    # card enclosed: that letter is done, not printed a second time.
    db.session.execute(
        update(Letter)
        .where(
            Letter.card_id.in_([card.id for card in cards]),
            Letter.kind == "card_ready",
            Letter.printed_at.is_(None),
        )
        .values(printed_at=now, printed_by_id=acting.user.id if acting.user else None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return len(cards)


def cards_of_batch(office_id: int, batch_public_id: str) -> list[int] | None:
    """The cards of a bulk issuing of the office, in their order; None if no such batch."""
    batch = db.session.scalar(
        select(CardBatch).where(
            CardBatch.office_id == office_id, CardBatch.public_id == batch_public_id
        )
    )
    if batch is None:
        return None
    return list(
        db.session.scalars(select(Card.id).where(Card.batch_id == batch.id).order_by(Card.id))
    )


def cards_of_letters_waiting(office_id: int) -> list[int]:
    """The cards whose "card issued" letter waits to be printed: the run's cover letter
    says the same, with the card enclosed."""
    rows = db.session.scalars(
        select(Letter.card_id)
        .where(
            Letter.office_id == office_id,
            Letter.printed_at.is_(None),
            Letter.card_id.is_not(None),
            Letter.kind == "card_ready",
        )
        .order_by(Letter.id)
        .limit(MAX_CARDS + 1)
    )
    return list(dict.fromkeys(card_id for card_id in rows if card_id is not None))


def cards_in_register(office_id: int, filters: RegisterFilter) -> list[int]:
    """The cards the register's filter selects (one more than a run takes, so that
    too many is refused rather than cut off)."""
    query = register_query(office_id, filters).with_only_columns(Card.id).limit(MAX_CARDS + 1)
    return list(db.session.scalars(query))
