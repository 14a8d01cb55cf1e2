"""Applications: submitting, the review workflow, and the clerk's queue.

Every state change goes through :func:`_transition`, which asks the workflow table,
bumps the version (the ORM refuses the UPDATE if someone else changed the row first),
writes the audit row and queues the applicant's e-mail, all in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardBatch,
    CardType,
    ConfirmationState,
    Engagement,
    Office,
    Qualification,
    RejectionReason,
    Upload,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.services import accounts, audit, cards, mail, outbox, security
from ehrenamt.services.audit import Acting
from ehrenamt.urls import external_url
from ehrenamt.workflow import (
    FINAL_STATES,
    OPEN_STATES,
    Action,
    Actor,
    ApplicationState,
    next_state,
)


class ApplicationError(Exception):
    """Base of the errors a view shows to the user."""


class AccountExists(ApplicationError):
    """The e-mail address has an account; the applicant must sign in first."""


class AlreadyOpen(ApplicationError):
    """The person has an open application at this office already."""

    def __init__(self, application: Application) -> None:
        super().__init__(application.public_id)
        self.application = application


class Conflict(ApplicationError):
    """Someone else changed the application since the page was loaded."""


class NotPermitted(ApplicationError):
    """The actor may not act on this application (wrong office or not the owner)."""


@dataclass
class EngagementInput:
    """One organisation as entered in the form."""

    organisation_name: str
    contact_name: str
    contact_email: str
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


@dataclass
class SubmitResult:
    """The application (new, or found again for a repeated form) and its applicant."""

    application: Application
    applicant: User
    created: bool


# --- submitting ---------------------------------------------------------------------


def submit_application(data: ApplicationInput, signed_in: User | None) -> SubmitResult:
    """Create the application, and the volunteer's account if needed.

    The same form sent twice (a double click) yields one application; two requests
    racing are decided by the database's unique constraints, and the loser is told
    what the winner created.
    """
    repeated = _find_by_submission_key(data.submission_key)
    if repeated is not None:
        return SubmitResult(repeated, repeated.applicant, created=False)
    try:
        return _create_application(data, signed_in)
    except IntegrityError:
        outbox.rollback()
        repeated = _find_by_submission_key(data.submission_key)
        if repeated is not None:
            return SubmitResult(repeated, repeated.applicant, created=False)
        existing = accounts.find_user(data.email)
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
        if accounts.find_user(data.email) is not None:
            raise AccountExists(data.email)
        applicant = accounts.create_user(
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
                contact_email=accounts.normalise_email(item.contact_email),
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
    db.session.flush()
    audit.record(
        Acting.user_as(applicant, Actor.APPLICANT),
        subject_type="application",
        subject_id=application.id,
        action="submit",
        office_id=data.office.id,
        to_state=ApplicationState.SUBMITTED.value,
    )
    if applicant.email_confirmed_at is not None:
        _proceed_after_email_confirmed(application)
    else:
        accounts.queue_email_confirmation(applicant)
    outbox.commit()
    return SubmitResult(application, applicant, created=True)


def _find_by_submission_key(key: str) -> Application | None:
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
        _proceed_after_email_confirmed(application)
    outbox.commit()


def _proceed_after_email_confirmed(application: Application) -> None:
    if application.engagements:
        for engagement in application.engagements:
            _send_confirmation_request(engagement, reminder=False)
        _transition(application, Action.REQUEST_CONFIRMATIONS, Acting.system())
    else:
        _transition(application, Action.START_REVIEW, Acting.system())


# --- the workflow -------------------------------------------------------------------


def _transition(
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
    _check_may_act(application, acting)
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
    audit.record(
        acting,
        subject_type="application",
        subject_id=application.id,
        action=action.value,
        office_id=application.office_id,
        from_state=from_state.value,
        to_state=to_state.value,
        reason=reason,
    )
    # Rendering the mail loads the applicant and office; an autoflush there would send
    # the versioned UPDATE early, and a lost race would raise StaleDataError outside
    # _commit_decision (a 500 instead of the conflict message). Flush at commit only.
    with db.session.no_autoflush:
        _notify_applicant(application)


def _check_may_act(application: Application, acting: Acting) -> None:
    """Staff act only for their own office, applicants only on their own application."""
    if acting.actor in (Actor.CLERK, Actor.ADMIN):
        # The claimed role must be the account's own: a partner or volunteer with an
        # office is not its clerk, and a clerk is not its admin.
        if (
            acting.user is None
            or not acting.user.is_staff
            or (acting.actor == Actor.ADMIN and acting.user.role != UserRole.ADMIN)
            or acting.user.office_id != application.office_id
        ):
            raise NotPermitted(application.public_id)
    elif acting.actor == Actor.APPLICANT and (
        acting.user is None or acting.user.id != application.applicant_id
    ):
        raise NotPermitted(application.public_id)


def _commit_decision(application: Application) -> None:
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
    # In the applicant's language, whoever's request (a German clerk's) sends it.
    with force_locale(application.applicant.language):
        mail.queue_mail(
            application.applicant.email,
            str(subject),
            "application_status",
            application=application,
            office=application.office,
            account_link=external_url("account.index"),
            reason_label=rejection_reason_label(application.rejection_reason),
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
    _transition(
        application, Action.APPROVE, acting, reason=note or None, expected_version=expected_version
    )
    try:
        # The card row (state "issuing") is created with the approval; its unique index
        # on the approval makes it the only one. A worker then makes the documents.
        cards.create_for_approval(application, acting, batch=batch)
    except (StaleDataError, IntegrityError):
        # Creating the card flushed the approval: another clerk decided first.
        outbox.rollback()
        raise Conflict(application.public_id) from None
    _commit_decision(application)


def reject(
    application: Application,
    acting: Acting,
    expected_version: int,
    reason: RejectionReason,
    text: str,
) -> None:
    """Reject with a reason from the list and free text; both are mailed."""
    _transition(
        application,
        Action.REJECT,
        acting,
        reason=f"{reason.value}: {text}",
        expected_version=expected_version,
        changes={"rejection_reason": reason, "rejection_text": text},
    )
    _commit_decision(application)


def request_information(
    application: Application, acting: Acting, expected_version: int, question: str
) -> None:
    """Ask the applicant something; they answer in their account."""
    _transition(
        application,
        Action.REQUEST_INFORMATION,
        acting,
        reason=question,
        expected_version=expected_version,
        changes={"information_request": question, "information_answer": None},
    )
    _commit_decision(application)


def answer_information_request(application: Application, acting: Acting, answer: str) -> None:
    """The applicant's answer sends the application back to review."""
    _transition(
        application, Action.ANSWER, acting, reason=answer, changes={"information_answer": answer}
    )
    _commit_decision(application)


def withdraw(application: Application, acting: Acting) -> None:
    """The applicant withdraws before a decision."""
    _transition(application, Action.WITHDRAW, acting)
    _commit_decision(application)


def start_review_early(
    application: Application, acting: Acting, expected_version: int, note: str
) -> None:
    """A clerk starts the review without waiting for every organisation."""
    _transition(
        application,
        Action.START_REVIEW,
        acting,
        reason=note or None,
        expected_version=expected_version,
    )
    _commit_decision(application)


# --- organisation confirmation ------------------------------------------------------


def _send_confirmation_request(engagement: Engagement, *, reminder: bool) -> None:
    """A new secret link for the organisation (an older one stops working)."""
    application = engagement.application
    rules = application.office.rules
    token = security.new_token()
    now = utcnow()
    engagement.token_hash = security.hash_token(token)
    engagement.token_expires_at = now + timedelta(days=rules.confirmation_link_days)
    engagement.request_sent_at = now
    engagement.confirmation_state = ConfirmationState.PENDING
    # Organisations are German clubs and associations: their request is in German,
    # whatever language the applicant uses.
    with force_locale("de"):
        subject = (
            _(
                "Erinnerung: Bitte bestätigen Sie das Engagement von %(name)s",
                name=application.full_name,
            )
            if reminder
            else _("Bitte bestätigen Sie das Engagement von %(name)s", name=application.full_name)
        )
        mail.queue_mail(
            engagement.contact_email,
            subject,
            "organisation_request",
            engagement=engagement,
            applicant_name=application.full_name,
            office=application.office,
            link=external_url("confirm.respond", token=token),
            expires_at=engagement.token_expires_at,
            reminder=reminder,
        )


def resend_confirmation(engagement: Engagement, acting: Acting) -> None:
    """A clerk sends the organisation a fresh link."""
    application = engagement.application
    _check_may_act(application, acting)
    if (
        application.state != ApplicationState.AWAITING_CONFIRMATION
        or engagement.confirmation_state != ConfirmationState.PENDING
    ):
        raise Conflict(application.public_id)
    _send_confirmation_request(engagement, reminder=True)
    audit.record(
        acting,
        subject_type="application",
        subject_id=application.id,
        action="resend_confirmation",
        office_id=application.office_id,
        reason=engagement.organisation_name,
    )
    outbox.commit()


def override_confirmation(engagement: Engagement, acting: Acting, note: str) -> None:
    """A clerk confirms in the organisation's place, with a note saying why."""
    application = engagement.application
    _check_may_act(application, acting)
    _lock_application(application)
    # The organisation may have answered while the clerk looked at the page.
    db.session.refresh(application)
    db.session.refresh(engagement)
    if (
        application.state != ApplicationState.AWAITING_CONFIRMATION
        or engagement.confirmation_state
        not in (ConfirmationState.PENDING, ConfirmationState.NOT_SENT)
    ):
        raise Conflict(application.public_id)
    engagement.confirmation_state = ConfirmationState.OVERRIDDEN
    engagement.answer_comment = note
    engagement.answered_at = utcnow()
    engagement.token_hash = None
    audit.record(
        acting,
        subject_type="application",
        subject_id=application.id,
        action="override_confirmation",
        office_id=application.office_id,
        reason=f"{engagement.organisation_name}: {note}",
    )
    _start_review_if_all_answered(application, acting)
    _commit_decision(application)


def _lock_application(application: Application) -> None:
    """Hold the application's row until commit, so answers to it take turns.

    Organisations answer, and clerks override, independently; whoever completes the set
    of answers starts the review. Without the lock two answers at the same moment each
    see the other still pending and nobody starts it (PostgreSQL). SQLite ignores
    FOR UPDATE; there the flush in :func:`_start_review_if_all_answered` takes turns.
    """
    db.session.execute(
        select(Application.id).where(Application.id == application.id).with_for_update()
    )


def _start_review_if_all_answered(application: Application, acting: Acting) -> None:
    """Start the review if no organisation is left to answer (call after locking)."""
    # Write this answer first (on SQLite that takes the database's write lock), then read
    # every engagement afresh, so an answer committed meanwhile counts.
    db.session.flush()
    db.session.scalars(
        select(Engagement)
        .where(Engagement.application_id == application.id)
        .execution_options(populate_existing=True)
    ).all()
    if application.state == ApplicationState.AWAITING_CONFIRMATION and all(
        e.confirmation_state not in (ConfirmationState.PENDING, ConfirmationState.NOT_SENT)
        for e in application.engagements
    ):
        _transition(application, Action.START_REVIEW, acting)


class ConfirmationLinkError(Exception):
    """The organisation's link is unknown, expired, or was used already."""

    def __init__(self, problem: accounts.LinkProblem, engagement: Engagement | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.engagement = engagement


def engagement_for_token(token: str, *, lock: bool = False) -> Engagement:
    """The engagement an organisation's link is for, if the link can still be used."""
    query = select(Engagement).where(Engagement.token_hash == security.hash_token(token))
    if lock:
        # Read the row as it is once locked, not as an earlier query of this request saw
        # it: a double click must find the first click's answer.
        query = query.with_for_update().execution_options(populate_existing=True)
    engagement = db.session.scalar(query)
    if engagement is None:
        raise ConfirmationLinkError(accounts.LinkProblem.UNKNOWN)
    if engagement.confirmation_state != ConfirmationState.PENDING:
        raise ConfirmationLinkError(accounts.LinkProblem.USED, engagement)
    if engagement.application.state != ApplicationState.AWAITING_CONFIRMATION:
        raise ConfirmationLinkError(accounts.LinkProblem.USED, engagement)
    if engagement.token_expires_at is None or engagement.token_expires_at < utcnow():
        raise ConfirmationLinkError(accounts.LinkProblem.EXPIRED, engagement)
    return engagement


def answer_confirmation(
    token: str,
    *,
    confirmed: bool,
    hours_per_week: Decimal | None,
    hours_per_year: int | None,
    comment: str,
) -> Engagement:
    """The organisation confirms (possibly correcting the hours) or declines."""
    engagement = engagement_for_token(token, lock=True)
    application = engagement.application
    _lock_application(application)
    acting = Acting(
        Actor.ORGANISATION, None, f"{engagement.contact_name} ({engagement.organisation_name})"
    )
    engagement.confirmation_state = (
        ConfirmationState.CONFIRMED if confirmed else ConfirmationState.DECLINED
    )
    if confirmed:
        engagement.confirmed_hours_per_week = hours_per_week
        engagement.confirmed_hours_per_year = hours_per_year
    engagement.answer_comment = comment or None
    engagement.answered_at = utcnow()
    audit.record(
        acting,
        subject_type="application",
        subject_id=application.id,
        action="organisation_confirmed" if confirmed else "organisation_declined",
        office_id=application.office_id,
        reason=comment or None,
    )
    _start_review_if_all_answered(application, acting)
    try:
        outbox.commit()
    except StaleDataError:
        # Another organisation answered in the same moment; answer again on fresh data.
        outbox.rollback()
        return answer_confirmation(
            token,
            confirmed=confirmed,
            hours_per_week=hours_per_week,
            hours_per_year=hours_per_year,
            comment=comment,
        )
    return engagement


def remind_organisations(limit: int = 500) -> int:
    """Send reminders to organisations that have not answered in time; returns count."""
    now = utcnow()
    sent = 0
    # Each office has its own reminder period, so the due rows are chosen per office in
    # the database (not filtered in Python after a LIMIT, which could starve an office).
    for office in db.session.scalars(select(Office).options(selectinload(Office.rules))).all():
        due_before = now - timedelta(days=office.rules.reminder_after_days)
        due = db.session.scalars(
            select(Engagement)
            .join(Engagement.application)
            .where(
                Application.office_id == office.id,
                Application.state == ApplicationState.AWAITING_CONFIRMATION,
                Engagement.confirmation_state == ConfirmationState.PENDING,
                Engagement.reminder_count < MAX_REMINDERS,
                Engagement.request_sent_at < due_before,
            )
            .order_by(Engagement.request_sent_at)
            .limit(limit - sent)
            # An organisation answering right now keeps its row (and its link).
            .with_for_update(of=Engagement, skip_locked=True)
        ).all()
        for engagement in due:
            _send_confirmation_request(engagement, reminder=True)
            engagement.reminder_count += 1
            audit.record(
                Acting.system(),
                subject_type="application",
                subject_id=engagement.application_id,
                action="remind_organisation",
                office_id=office.id,
                reason=engagement.organisation_name,
            )
            sent += 1
        outbox.commit()
        if sent >= limit:
            break
    return sent


MAX_REMINDERS = 3


# --- reading ------------------------------------------------------------------------


@dataclass
class QueueFilter:
    """What the clerk's queue is narrowed to."""

    state: ApplicationState | None = None
    card_type: CardType | None = None
    organisation: str = ""
    name: str = ""


@dataclass
class Page:
    """One page of a list, paged in the database."""

    items: list[Application]
    number: int
    has_next: bool


def list_queue(office_id: int, filters: QueueFilter, page: int, page_size: int) -> Page:
    """The office's applications, longest waiting first, one page at a time."""
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
    query = (
        query.order_by(Application.state_changed_at, Application.id)
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
        .options(selectinload(Application.engagements))
    )
    rows = list(db.session.scalars(query))
    return Page(rows[:page_size], page, has_next=len(rows) > page_size)


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
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.subject_type == "application", AuditEntry.subject_id == application.id
            )
            .order_by(AuditEntry.id)
        )
    )


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
