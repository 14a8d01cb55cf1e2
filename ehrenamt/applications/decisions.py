"""The application workflow: staff decide, applicants answer or withdraw."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt.applications.queries import rejection_reason_label
from ehrenamt.cards import lifecycle
from ehrenamt.core import audit, mail, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import Conflict, NotPermitted
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.letters import notices
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardBatch,
    RejectionReason,
    Upload,
    User,
    utcnow,
)
from ehrenamt.workflow import (
    FINAL_STATES,
    Action,
    Actor,
    ApplicationState,
    next_state,
)


def transition(
    application: Application,
    action: Action,
    acting: Acting,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    changes: dict[str, object] | None = None,
) -> None:
    """Move the application along the workflow table, audited and notified.

    ``changes`` are set on the application only once every check has passed, so a
    refused action leaves nothing behind in the session that a later commit could save.
    """
    check_may_act(application, acting)
    if expected_version is not None and application.version != expected_version:
        raise Conflict(application.public_id)
    from_state = application.state
    to_state = next_state(from_state, action, acting.actor)
    for name, value in (changes or {}).items():
        setattr(application, name, value)
    now = utcnow()
    application.state = to_state
    application.state_changed_at = now
    if to_state in FINAL_STATES:
        application.decided_at = now
    audit.record_change(
        acting, application, audit.AuditAction(action.value), from_state, to_state, reason
    )
    # Rendering the mail loads the applicant and office; an autoflush there would send
    # the versioned UPDATE early, and a lost race would raise StaleDataError outside
    # commit_decision (a 500 instead of the conflict message). Flush at commit only.
    with db.session.no_autoflush:
        _notify_applicant(application)


def check_may_act(application: Application, acting: Acting) -> None:
    """Staff act only for their own office, applicants only on their own application."""
    if acting.actor in (Actor.CLERK, Actor.ADMIN):
        check_staff(acting, application.office_id, application.public_id)
    elif acting.actor == Actor.APPLICANT and (
        acting.user is None or acting.user.id != application.applicant_id
    ):
        raise NotPermitted(application.public_id)


def commit_decision(application: Application) -> None:
    try:
        outbox.commit()
    except StaleDataError:
        raise Conflict(application.public_id) from None


STATUS_SUBJECTS = {
    ApplicationState.AWAITING_CONFIRMATION: _l("Ihr Antrag auf die Ehrenamtskarte ist eingegangen"),
    ApplicationState.IN_REVIEW: _l("Ihr Antrag wird geprüft"),
    ApplicationState.NEEDS_INFORMATION: _l("Rückfrage zu Ihrem Antrag"),
    ApplicationState.APPROVED: _l("Ihr Antrag wurde bewilligt"),
    ApplicationState.REJECTED: _l("Ihr Antrag wurde abgelehnt"),
    ApplicationState.WITHDRAWN: _l("Ihr Antrag wurde zurückgezogen"),
}


def _notify_applicant(application: Application) -> None:
    subject = STATUS_SUBJECTS.get(application.state)
    if subject is None:
        return
    # A mail, or a letter for a person without e-mail; in the applicant's language.
    with force_locale(application.applicant.language):
        reason_label = rejection_reason_label(application.rejection_reason)
    notices.notify(
        application.applicant,
        subject,
        "application_status",
        office=application.office,
        application=application,
        account_link=external_url("account.index"),
        reason_label=reason_label,
    )


def approve(
    application: Application,
    acting: Acting,
    expected_version: int,
    note: str = "",
    *,
    batch: CardBatch | None = None,
) -> None:
    """Approve; the card is then produced by a worker (through the outbox).

    ``batch`` is the bulk issuing the approval is part of; its card joins it.
    """
    transition(
        application, Action.APPROVE, acting, reason=note or None, expected_version=expected_version
    )
    try:
        # The card row (state "issuing") is created with the approval; its unique index
        # on the approval makes it the only one. A worker then makes the documents.
        lifecycle.create_for_approval(application, acting, batch=batch)
    except (StaleDataError, IntegrityError):
        # Creating the card flushed the approval: another clerk decided first.
        outbox.rollback()
        raise Conflict(application.public_id) from None
    commit_decision(application)


def reject(
    application: Application,
    acting: Acting,
    expected_version: int,
    reason: RejectionReason,
    text: str,
) -> None:
    """Reject with a reason from the list and free text; both are mailed."""
    transition(
        application,
        Action.REJECT,
        acting,
        reason=f"{reason.value}: {text}",
        expected_version=expected_version,
        changes={"rejection_reason": reason, "rejection_text": text},
    )
    commit_decision(application)


def request_information(
    application: Application, acting: Acting, expected_version: int, question: str
) -> None:
    """Ask the applicant something; they answer in their account."""
    transition(
        application,
        Action.REQUEST_INFORMATION,
        acting,
        reason=question,
        expected_version=expected_version,
        changes={"information_request": question, "information_answer": None},
    )
    commit_decision(application)


def answer_information_request(
    application: Application, acting: Acting, answer: str, proof: Upload | None = None
) -> None:
    """The applicant's answer (with the proof asked for, if any) sends the application back
    to review; the clerk who asked is told by mail (the queue marks it too)."""
    transition(
        application, Action.ANSWER, acting, reason=answer, changes={"information_answer": answer}
    )
    if proof is not None:
        application.uploads.append(proof)
    _notify_asking_clerk(application, with_file=proof is not None)
    commit_decision(application)


def record_answer(
    application: Application, acting: Acting, expected_version: int, answer: str
) -> None:
    """Staff record the answer that came on paper or by phone; the review resumes."""
    transition(
        application,
        Action.RECORD_ANSWER,
        acting,
        reason=answer,
        expected_version=expected_version,
        changes={"information_answer": answer},
    )
    commit_decision(application)


def _notify_asking_clerk(application: Application, *, with_file: bool) -> None:
    """Mail the clerk who asked the latest question; the office's address if none can be
    found (an imported application, a clerk since removed)."""
    asked_by = db.session.scalar(
        select(AuditEntry.actor_id)
        .where(
            AuditEntry.subject_type == audit.Subject.APPLICATION,
            AuditEntry.subject_id == application.id,
            AuditEntry.action == audit.AuditAction.REQUEST_INFORMATION,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    clerk = db.session.get(User, asked_by) if asked_by is not None else None
    address = (
        clerk.email
        if clerk is not None and clerk.is_active and clerk.email
        else application.office.contact_email
    )
    with force_locale(clerk.language if clerk is not None else "de"):
        mail.queue_mail(
            address,
            str(_l("Antwort auf Ihre Rückfrage eingegangen")),
            "answer_arrived",
            application=application,
            office=application.office,
            with_file=with_file,
            review_link=external_url("review.detail", public_id=application.public_id),
        )


def withdraw(application: Application, acting: Acting) -> None:
    """The applicant withdraws before a decision."""
    transition(application, Action.WITHDRAW, acting)
    commit_decision(application)


def start_review_early(
    application: Application, acting: Acting, expected_version: int, note: str
) -> None:
    """A clerk starts the review without waiting for every organisation."""
    transition(
        application,
        Action.START_REVIEW,
        acting,
        reason=note or None,
        expected_version=expected_version,
    )
    commit_decision(application)
