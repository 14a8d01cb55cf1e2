"""Submitting an application, and what follows once the e-mail address is confirmed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ehrenamt.accounts import links, users
from ehrenamt.applications.confirmation import send_confirmation_request
from ehrenamt.applications.decisions import transition
from ehrenamt.core import audit, outbox
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import DomainError
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    CardType,
    Engagement,
    Office,
    Qualification,
    Upload,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import (
    OPEN_STATES,
    Action,
    Actor,
    ApplicationState,
)


class ApplicationError(DomainError):
    """Base of the errors a view shows to the user."""


class AccountExists(ApplicationError):
    """The e-mail address has an account; the applicant must sign in first."""


class AlreadyOpen(ApplicationError):
    """The person has an open application at this office already."""

    def __init__(self, application: Application) -> None:
        super().__init__(application.public_id)
        self.application = application


@dataclass
class EngagementInput:
    """One organisation as entered in the form."""

    organisation_name: str
    contact_name: str
    contact_email: str | None
    activity: str
    engaged_since: date
    hours_per_week: Decimal | None = None
    hours_per_year: int | None = None
    allowance_euros_per_year: int = 0
    organisation_postcode: str | None = None


@dataclass
class ApplicationInput:
    """An application as entered in the form, validated."""

    submission_key: str
    office: Office
    card_type: CardType
    first_name: str
    last_name: str
    birth_date: date
    street: str
    postcode: str
    town: str
    email: str
    consent_version: str
    #: The language the form was filled in; the applicant's mails follow it.
    language: str = "de"
    phone: str | None = None
    password: str | None = None
    qualification: Qualification | None = None
    honour: str | None = None
    engagements: list[EngagementInput] = field(default_factory=list)
    proof: Upload | None = None
    #: The version of the office's privacy notice the applicant was given.
    privacy_notice_id: int | None = None


@dataclass
class SubmitResult:
    """The application (new, or found again for a repeated form) and its applicant."""

    application: Application
    applicant: User
    created: bool


def submit_application(data: ApplicationInput, signed_in: User | None) -> SubmitResult:
    """Create the application, and the volunteer's account if needed.

    The same form sent twice (a double click) yields one application; two requests
    racing are decided by the database's unique constraints, and the loser is told
    what the winner created.
    """
    repeated = find_by_submission_key(data.submission_key)
    if repeated is not None:
        return SubmitResult(repeated, repeated.applicant, created=False)
    try:
        return _create_application(data, signed_in)
    except IntegrityError:
        outbox.rollback()
        repeated = find_by_submission_key(data.submission_key)
        if repeated is not None:
            return SubmitResult(repeated, repeated.applicant, created=False)
        existing = users.find_user(data.email)
        if existing is not None and (signed_in is None or signed_in.id != existing.id):
            raise AccountExists(data.email) from None
        open_application = find_open_application(existing, data.office) if existing else None
        if open_application is not None:
            raise AlreadyOpen(open_application) from None
        raise


def _create_application(data: ApplicationInput, signed_in: User | None) -> SubmitResult:
    if signed_in is not None and signed_in.role == UserRole.VOLUNTEER:
        applicant = signed_in
    else:
        if users.find_user(data.email) is not None:
            raise AccountExists(data.email)
        applicant = users.create_user(
            data.email,
            UserRole.VOLUNTEER,
            password=data.password or None,
            display_name=f"{data.first_name} {data.last_name}",
            language=data.language,
        )
        db.session.flush()

    open_application = find_open_application(applicant, data.office)
    if open_application is not None:
        outbox.rollback()
        raise AlreadyOpen(open_application)

    application = new_application(data, applicant)
    db.session.flush()
    audit.record(
        Acting.user_as(applicant, Actor.APPLICANT),
        subject_type=audit.Subject.APPLICATION,
        subject_id=application.id,
        action=audit.AuditAction.SUBMIT,
        office_id=data.office.id,
        to_state=ApplicationState.SUBMITTED.value,
    )
    if applicant.email_confirmed_at is not None:
        proceed_to_confirmation(application)
    else:
        links.queue_email_confirmation(applicant)
    outbox.commit()
    return SubmitResult(application, applicant, created=True)


def new_application(data: ApplicationInput, applicant: User) -> Application:
    """The application row with its engagements and proof, added to the session."""
    now = utcnow()
    application = Application(
        public_id=secrets.token_urlsafe(16),
        submission_key=data.submission_key,
        office=data.office,
        applicant=applicant,
        state=ApplicationState.SUBMITTED,
        card_type=data.card_type,
        first_name=data.first_name,
        last_name=data.last_name,
        search_name=f"{data.first_name} {data.last_name}".lower(),
        birth_date=data.birth_date,
        street=data.street,
        postcode=data.postcode,
        town=data.town,
        phone=data.phone or None,
        qualification=data.qualification,
        honour=data.honour or None,
        consent_version=data.consent_version,
        privacy_notice_id=data.privacy_notice_id,
        consent_at=now,
        submitted_at=now,
        state_changed_at=now,
    )
    for item in data.engagements:
        application.engagements.append(
            Engagement(
                organisation_name=item.organisation_name,
                organisation_key=item.organisation_name.strip().lower(),
                organisation_postcode=item.organisation_postcode or None,
                contact_name=item.contact_name,
                contact_email=users.normalise_email(item.contact_email)
                if item.contact_email
                else None,
                activity=item.activity,
                hours_per_week=item.hours_per_week,
                hours_per_year=item.hours_per_year,
                engaged_since=item.engaged_since,
                allowance_euros_per_year=item.allowance_euros_per_year,
            )
        )
    if data.proof is not None:
        application.uploads.append(data.proof)
    db.session.add(application)
    return application


def find_by_submission_key(key: str) -> Application | None:
    """The application a form with this submission key created, if any."""
    return db.session.scalar(select(Application).where(Application.submission_key == key))


def find_open_application(applicant: User, office: Office) -> Application | None:
    """The person's open application at this office, if any."""
    return db.session.scalar(
        select(Application).where(
            Application.applicant_id == applicant.id,
            Application.office_id == office.id,
            Application.state.in_(OPEN_STATES),
        )
    )


def confirm_applicant_email(user: User) -> None:
    """The volunteer confirmed their address: their submitted applications move on."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    waiting = db.session.scalars(
        select(Application).where(
            Application.applicant_id == user.id, Application.state == ApplicationState.SUBMITTED
        )
    ).all()
    for application in waiting:
        proceed_to_confirmation(application)
    outbox.commit()


def proceed_to_confirmation(application: Application) -> None:
    """The application moves on: organisations are asked, or the review starts.

    An organisation without an e-mail address (paper applications) is not asked: its
    engagement waits for the clerk to record the confirmation with a note.
    """
    if application.engagements:
        for engagement in application.engagements:
            if engagement.contact_email:
                send_confirmation_request(engagement, reminder=False)
        transition(application, Action.REQUEST_CONFIRMATIONS, Acting.system())
    else:
        transition(application, Action.START_REVIEW, Acting.system())
