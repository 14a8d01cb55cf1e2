"""Paper applications: a clerk types in a signed form, with the scan attached.

The same rules, eligibility check and workflow apply as online; what differs is who
vouches for the person: the clerk holds the signed form, so there is no e-mail address
to confirm, and the person may have no address at all (then they get letters). The
audit's first row names the clerk, so the history shows the application came on paper.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ehrenamt.accounts import users
from ehrenamt.applications.submission import (
    AccountExists,
    AlreadyOpen,
    ApplicationInput,
    SubmitResult,
    find_by_submission_key,
    find_open_application,
    new_application,
    proceed_to_confirmation,
)
from ehrenamt.core import audit, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Application, Upload, User, UserRole
from ehrenamt.workflow import ApplicationState


def enter_paper_application(data: ApplicationInput, scan: Upload, acting: Acting) -> SubmitResult:
    """Create the application a clerk typed in from paper, and move it on at once.

    ``data.email`` may be empty: the person is then a volunteer row without e-mail (found
    again by name and birth date for a later application). A form sent twice yields one
    application, as online.
    """
    clerk = check_staff(acting, data.office.id, "paper application")
    repeated = find_by_submission_key(data.submission_key)
    if repeated is not None:
        return SubmitResult(repeated, repeated.applicant, created=False)
    applicant = _find_or_add_person(data)
    db.session.flush()
    open_application = find_open_application(applicant, data.office)
    if open_application is not None:
        outbox.rollback()
        raise AlreadyOpen(open_application)
    application = new_application(data, applicant)
    application.entered_by_id = clerk.id
    application.uploads.insert(0, scan)
    try:
        db.session.flush()
    except IntegrityError:
        # A double click racing the first: the first one's application is the answer.
        outbox.rollback()
        repeated = find_by_submission_key(data.submission_key)
        if repeated is None:
            raise
        return SubmitResult(repeated, repeated.applicant, created=False)
    audit.record(
        acting,
        subject_type=audit.Subject.APPLICATION,
        subject_id=application.id,
        action=audit.AuditAction.SUBMIT,
        office_id=data.office.id,
        to_state=ApplicationState.SUBMITTED.value,
        reason=PAPER_REASON,
    )
    proceed_to_confirmation(application)
    outbox.commit()
    return SubmitResult(application, applicant, created=True)


#: The audit reason of a paper application's first row.
PAPER_REASON = "paper application entered by staff"


def _find_or_add_person(data: ApplicationInput) -> User:
    display_name = f"{data.first_name} {data.last_name}"
    if data.email:
        existing = users.find_user(data.email)
        if existing is not None:
            if existing.role != UserRole.VOLUNTEER:
                raise AccountExists(data.email)
            return existing
        return users.create_user(
            data.email, UserRole.VOLUNTEER, display_name=display_name, language=data.language
        )
    known = _known_person_without_email(data)
    if known is not None:
        return known
    return users.create_person_without_email(display_name, data.language)


def _known_person_without_email(data: ApplicationInput) -> User | None:
    """The person without e-mail who applied before under this name and birth date."""
    return db.session.scalar(
        select(User)
        .join(Application, Application.applicant_id == User.id)
        .where(
            User.email.is_(None),
            Application.search_name == f"{data.first_name} {data.last_name}".lower(),
            Application.birth_date == data.birth_date,
        )
        .order_by(Application.id.desc())
        .limit(1)
    )
