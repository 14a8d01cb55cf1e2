"""Organisations confirm an applicant's engagement by e-mail link."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt.accounts import links
from ehrenamt.applications.decisions import check_may_act, commit_decision, transition
from ehrenamt.core import audit, mail, outbox, security
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import Conflict
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    ConfirmationState,
    Engagement,
    Office,
    utcnow,
)
from ehrenamt.workflow import (
    Action,
    Actor,
    ApplicationState,
)


def send_confirmation_request(engagement: Engagement, *, reminder: bool) -> None:
    """A new secret link for the organisation (an older one stops working)."""
    application = engagement.application
    if not engagement.contact_email:
        # Staff record such an organisation's answer with a note; no link can reach it.
        raise ValueError("the organisation has no e-mail address")
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
    check_may_act(application, acting)
    if (
        application.state != ApplicationState.AWAITING_CONFIRMATION
        or engagement.confirmation_state != ConfirmationState.PENDING
    ):
        raise Conflict(application.public_id)
    send_confirmation_request(engagement, reminder=True)
    audit.record_change(
        acting,
        application,
        audit.AuditAction.RESEND_CONFIRMATION,
        reason=engagement.organisation_name,
    )
    outbox.commit()


def override_confirmation(engagement: Engagement, acting: Acting, note: str) -> None:
    """A clerk confirms in the organisation's place, with a note saying why."""
    application = engagement.application
    check_may_act(application, acting)
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
    audit.record_change(
        acting,
        application,
        audit.AuditAction.OVERRIDE_CONFIRMATION,
        reason=f"{engagement.organisation_name}: {note}",
    )
    _start_review_if_all_answered(application, acting)
    commit_decision(application)


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
        transition(application, Action.START_REVIEW, acting)


class ConfirmationLinkError(Exception):
    """The organisation's link is unknown, expired, or was used already."""

    def __init__(self, problem: links.LinkProblem, engagement: Engagement | None = None) -> None:
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
        raise ConfirmationLinkError(links.LinkProblem.UNKNOWN)
    if engagement.confirmation_state != ConfirmationState.PENDING:
        raise ConfirmationLinkError(links.LinkProblem.USED, engagement)
    if engagement.application.state != ApplicationState.AWAITING_CONFIRMATION:
        raise ConfirmationLinkError(links.LinkProblem.USED, engagement)
    if engagement.token_expires_at is None or engagement.token_expires_at < utcnow():
        raise ConfirmationLinkError(links.LinkProblem.EXPIRED, engagement)
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
    audit.record_change(
        acting,
        application,
        audit.AuditAction.ORGANISATION_CONFIRMED
        if confirmed
        else audit.AuditAction.ORGANISATION_DECLINED,
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
            send_confirmation_request(engagement, reminder=True)
            engagement.reminder_count += 1
            audit.record(
                Acting.system(),
                subject_type=audit.Subject.APPLICATION,
                subject_id=engagement.application_id,
                action=audit.AuditAction.REMIND_ORGANISATION,
                office_id=office.id,
                reason=engagement.organisation_name,
            )
            sent += 1
        outbox.commit()
        if sent >= limit:
            break
    return sent


MAX_REMINDERS = 3
