"""A change of name, asked by the volunteer and decided by the office (DSGVO Art. 16).

The name is printed on the card and signed into its code, so staff look at it first
(e.g. a marriage certificate). Applying it corrects the application and makes the card
again with the new name; declining tells the volunteer why. Both are audited.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ehrenamt.cards import lifecycle, register
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.letters import notices
from ehrenamt.models import (
    Application,
    CardState,
    NameChangeRequest,
    NameChangeState,
    User,
    utcnow,
)
from ehrenamt.privacy.correction import CorrectionRefused, Refusal, address_applications
from ehrenamt.workflow import Actor


def name_application(user_id: int) -> Application | None:
    """The application whose name a request changes: the newest open or approved one."""
    applications = address_applications(user_id)
    return applications[0] if applications else None


def pending_for_application(application_id: int) -> NameChangeRequest | None:
    """The request waiting for staff on this application, if any."""
    return db.session.scalar(
        select(NameChangeRequest).where(
            NameChangeRequest.application_id == application_id,
            NameChangeRequest.state == NameChangeState.PENDING,
        )
    )


def pending_for_office(office_id: int, limit: int = 50) -> list[NameChangeRequest]:
    """The office's requests waiting for a decision, oldest first (a short list)."""
    return list(
        db.session.scalars(
            select(NameChangeRequest)
            .where(
                NameChangeRequest.office_id == office_id,
                NameChangeRequest.state == NameChangeState.PENDING,
            )
            .options(selectinload(NameChangeRequest.application))
            .order_by(NameChangeRequest.id)
            .limit(limit)
        )
    )


def latest_for_user(user_id: int) -> NameChangeRequest | None:
    """The volunteer's newest request, to show where it stands."""
    return db.session.scalar(
        select(NameChangeRequest)
        .join(Application, NameChangeRequest.application_id == Application.id)
        .where(Application.applicant_id == user_id)
        .order_by(NameChangeRequest.id.desc())
    )


def request_name_change(
    user: User, first_name: str, last_name: str, note: str | None
) -> NameChangeRequest:
    """Ask the office to change the name; a newer request replaces a waiting one. Commits."""
    application = name_application(user.id)
    if application is None:
        raise CorrectionRefused(Refusal.NOTHING_TO_CORRECT)
    if (application.first_name, application.last_name) == (first_name, last_name):
        raise CorrectionRefused(Refusal.SAME)
    request = pending_for_application(application.id)
    if request is None:
        request = NameChangeRequest(
            application_id=application.id,
            office_id=application.office_id,
            state=NameChangeState.PENDING,
            first_name=first_name,
            last_name=last_name,
        )
        db.session.add(request)
    request.first_name, request.last_name, request.note = first_name, last_name, note
    request.created_at = utcnow()
    # The names stay out of the audit row: it outlives the person's data.
    record_change(
        Acting.user_as(user, Actor.APPLICANT), application, AuditAction.REQUEST_NAME_CHANGE
    )
    db.session.commit()
    return request


def get_for_office(office_id: int, request_id: int) -> NameChangeRequest | None:
    """A request of the office; None for another office's (the view answers 404)."""
    request = db.session.get(NameChangeRequest, request_id)
    return request if request is not None and request.office_id == office_id else None


def _decide(request: NameChangeRequest, acting: Acting, state: NameChangeState) -> User:
    staff = check_staff(acting, request.office_id, str(request.id))
    if request.state != NameChangeState.PENDING:
        raise Conflict(str(request.id))
    request.state = state
    request.decided_at = utcnow()
    request.decided_by_id = staff.id
    return staff


def apply_name_change(request: NameChangeRequest, acting: Acting) -> None:
    """Correct the name on the application and make its valid card again. Commits."""
    _decide(request, acting, NameChangeState.APPLIED)
    application = request.application
    application.first_name, application.last_name = request.first_name, request.last_name
    application.search_name = application.full_name.lower()
    record_change(acting, application, AuditAction.APPLY_NAME_CHANGE)
    card = register.card_for_application(application.id)
    _mail_decision(request)
    if card is None or card.state not in (CardState.ACTIVE, CardState.ISSUING):
        outbox.commit()
        return
    card.holder_name = application.full_name
    card.search_name = application.full_name.lower()
    if card.state == CardState.ACTIVE:
        lifecycle.reissue(card, acting)  # commits; the worker mails the card with the new name
        return
    # Still being made: made once more, with the new name.
    card.generation += 1
    lifecycle.request_documents(card)
    lifecycle.commit_card(card)


def decline_name_change(request: NameChangeRequest, acting: Acting, reason: str) -> None:
    """Keep the name; the volunteer is told why. Commits."""
    _decide(request, acting, NameChangeState.DECLINED)
    request.decline_reason = reason
    record_change(acting, request.application, AuditAction.DECLINE_NAME_CHANGE, reason=reason)
    _mail_decision(request)
    outbox.commit()


def _mail_decision(request: NameChangeRequest) -> None:
    application = request.application
    user = application.applicant
    # By mail, or by letter for a person whose address is gone since the request.
    notices.notify(
        user,
        _l("Ihre Namensänderung"),
        "name_change_decided",
        office=application.office,
        application=application,
        change=request,
    )
