"""Reading applications: the clerk's queue, one application, its history."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import selectinload

from ehrenamt.core import audit
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardType,
    Engagement,
    RejectionReason,
)
from ehrenamt.workflow import (
    OPEN_STATES,
    ApplicationState,
)


@dataclass
class QueueFilter:
    """What the clerk's queue is narrowed to."""

    state: ApplicationState | None = None
    card_type: CardType | None = None
    organisation: str = ""
    name: str = ""


def list_queue(
    office_id: int, filters: QueueFilter, page: int, page_size: int
) -> Page[Application]:
    """The office's applications, longest waiting first, one page at a time."""
    query = queue_query(office_id, filters).options(selectinload(Application.engagements))
    return fetch_page(query, page, page_size)


def queue_query(office_id: int, filters: QueueFilter) -> Select[Application]:
    """The queue's applications, longest waiting first (the list and its exports)."""
    query = select(Application).where(Application.office_id == office_id)
    if filters.state is not None:
        query = query.where(Application.state == filters.state)
    else:
        query = query.where(Application.state.in_(OPEN_STATES))
    if filters.card_type is not None:
        query = query.where(Application.card_type == filters.card_type)
    if filters.name.strip():
        query = query.where(
            Application.search_name.contains(filters.name.strip().lower(), autoescape=True)
        )
    if filters.organisation.strip():
        query = query.where(
            exists().where(
                Engagement.application_id == Application.id,
                Engagement.organisation_key.startswith(
                    filters.organisation.strip().lower(), autoescape=True
                ),
            )
        )
    return query.order_by(Application.state_changed_at, Application.id)


def get_for_office(office_id: int, public_id: str) -> Application | None:
    """An application of this office; None for another office's (the view answers 404)."""
    return db.session.scalar(
        select(Application).where(
            Application.public_id == public_id, Application.office_id == office_id
        )
    )


def get_for_applicant(applicant_id: int, public_id: str) -> Application | None:
    """One of the applicant's own applications."""
    return db.session.scalar(
        select(Application).where(
            Application.public_id == public_id, Application.applicant_id == applicant_id
        )
    )


def applications_of(applicant_id: int) -> list[Application]:
    """The applicant's applications, newest first."""
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.applicant_id == applicant_id)
            .order_by(Application.submitted_at.desc())
        )
    )


def history(application: Application) -> list[AuditEntry]:
    """The audit rows of the application, oldest first."""
    return audit.history(audit.Subject.APPLICATION, application.id)


def count_by_state(office_id: int) -> dict[ApplicationState, int]:
    """How many of the office's applications are in each state."""
    rows = db.session.execute(
        select(Application.state, func.count())
        .where(Application.office_id == office_id)
        .group_by(Application.state)
    )
    return {state: count for state, count in rows}


REJECTION_REASON_LABELS = {
    RejectionReason.TOO_FEW_HOURS: _l("Der zeitliche Umfang des Engagements reicht nicht aus."),
    RejectionReason.TOO_SHORT: _l("Das Engagement besteht noch nicht lange genug."),
    RejectionReason.TOO_YOUNG: _l("Das Mindestalter ist nicht erreicht."),
    RejectionReason.PAID: _l("Die Aufwandsentschädigung übersteigt die Grenze."),
    RejectionReason.PLACE: _l("Wohn- oder Einsatzort liegt außerhalb des Gebiets."),
    RejectionReason.NOT_CONFIRMED: _l("Die Organisation hat das Engagement nicht bestätigt."),
    RejectionReason.NO_ANSWER: _l("Unsere Rückfrage wurde nicht beantwortet."),
    RejectionReason.OTHER: _l("Sonstiger Grund (siehe Erläuterung)."),
}


def rejection_reason_label(reason: RejectionReason | None) -> str:
    """The applicant-facing text of a rejection reason, translated."""
    return str(REJECTION_REASON_LABELS[reason]) if reason else ""
