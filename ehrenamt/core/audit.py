"""The audit log: who did what to which object, when, from which state to which, and why.

Every domain writes its rows through :func:`record`; the actions are one enum, so a
history page can name each in words and a typo cannot invent a new action.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Application, AuditEntry, Card, Partner, User, UserRole
from ehrenamt.workflow import Actor


class Subject(enum.StrEnum):
    """The kinds of object an audit row is about (``audit_entry.subject_type``)."""

    APPLICATION = "application"
    CARD = "card"
    LEGACY_IMPORT = "legacy_import"
    PARTNER = "partner"
    PROGRAMME_RULES = "programme_rules"
    #: The office itself: its settings, and exports of its data are recorded against it.
    OFFICE = "office"
    USER = "user"


class AuditAction(enum.StrEnum):
    """Every action the audit log records (``audit_entry.action``)."""

    # The application workflow: workflow.Action's values, repeated on purpose (an enum
    # cannot extend another, and mypy must see each member). applications.decisions
    # converts one into the other by value, so the workflow tests fail if one is missing.
    SUBMIT = "submit"
    REQUEST_CONFIRMATIONS = "request_confirmations"
    START_REVIEW = "start_review"
    REQUEST_INFORMATION = "request_information"
    ANSWER = "answer"
    RECORD_ANSWER = "record_answer"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    # Organisations confirming an application's engagement.
    RESEND_CONFIRMATION = "resend_confirmation"
    OVERRIDE_CONFIRMATION = "override_confirmation"
    ORGANISATION_CONFIRMED = "organisation_confirmed"
    ORGANISATION_DECLINED = "organisation_declined"
    REMIND_ORGANISATION = "remind_organisation"
    # Cards (and partners: CREATE).
    CREATE = "create"
    ISSUE = "issue"
    RENDER = "render"
    REVOKE = "revoke"
    REISSUE = "reissue"
    EXTEND = "extend"
    EXPIRE = "expire"
    #: Staff confirmed the card went out by post in a print run.
    POST = "post"
    # Partners (and APPROVE).
    DECLINE = "decline"
    IMPORT = "import"
    INVITE = "invite"
    UNPUBLISH_BENEFIT = "unpublish_benefit"
    REPUBLISH_BENEFIT = "republish_benefit"
    # The office's programme rules.
    APPLY_PRESET = "apply_preset"
    UPDATE_RULES = "update_rules"
    # Corrections of an application's or a card holder's data (old → new in the reason).
    CORRECT = "correct"
    # The office's own settings (its postal address, the sender of its letters).
    UPDATE_OFFICE = "update_office"
    # Accounts: too many wrong second-factor codes.
    LOCK_SECOND_FACTOR = "lock_second_factor"
    # A volunteer's corrections (DSGVO Art. 16): the address on the account, the postal
    # address on the applications, the name by request to the office.
    REQUEST_EMAIL_CHANGE = "request_email_change"
    CHANGE_EMAIL = "change_email"
    CORRECT_ADDRESS = "correct_address"
    #: A correction of an open application changed an outcome of the eligibility check.
    RECHECK_ELIGIBILITY = "recheck_eligibility"
    REQUEST_NAME_CHANGE = "request_name_change"
    APPLY_NAME_CHANGE = "apply_name_change"
    DECLINE_NAME_CHANGE = "decline_name_change"
    # Staff accounts (the admin's staff page, and the person's own second factor).
    INVITE_STAFF = "invite_staff"
    #: A new invitation link for someone who has not set a password yet.
    RESEND_INVITATION = "resend_invitation"
    CHANGE_ROLE = "change_role"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    RESET_SECOND_FACTOR = "reset_second_factor"
    USE_RECOVERY_CODE = "use_recovery_code"
    NEW_RECOVERY_CODES = "new_recovery_codes"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action's name, not a password
    # The programme administrator.
    CREATE_OFFICE = "create_office"
    SWITCH_OFFICE = "switch_office"
    # Staff downloading personal data (an export: what, which filters, how many rows).
    EXPORT = "export"
    # Data protection: the office's retention periods; a person's data erased.
    UPDATE_RETENTION = "update_retention"
    ERASE_PERSON = "erase_person"


@dataclass(frozen=True)
class Acting:
    """Who performs an operation: the role, the signed-in user if any, and a label."""

    actor: Actor
    user: User | None
    label: str

    @classmethod
    def user_as(cls, user: User, actor: Actor) -> Acting:
        """A signed-in user acting in ``actor``'s role."""
        return cls(actor, user, user.email or user.display_name)

    @classmethod
    def staff(cls, user: User) -> Acting:
        """A staff member acting in their own role (admin or clerk); a programme admin
        acts as the admin of the office she works in."""
        admin = user.role in (UserRole.ADMIN, UserRole.PROGRAMME_ADMIN)
        return cls.user_as(user, Actor.ADMIN if admin else Actor.CLERK)

    @classmethod
    def system(cls) -> Acting:
        """The service itself (periodic jobs, automatic steps)."""
        return cls(Actor.SYSTEM, None, "system")


#: The subject of each kind of object that :func:`record_change` takes.
_SUBJECTS: dict[type, Subject] = {
    Application: Subject.APPLICATION,
    Card: Subject.CARD,
    Partner: Subject.PARTNER,
}


def record(
    acting: Acting,
    *,
    subject_type: Subject,
    subject_id: int,
    action: AuditAction,
    office_id: int | None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add one audit row to the current transaction."""
    entry = AuditEntry(
        actor_id=acting.user.id if acting.user else None,
        actor_role=acting.actor.value,
        actor_label=acting.label[:254],
        office_id=office_id,
        subject_type=subject_type.value,
        subject_id=subject_id,
        action=AuditAction(action).value,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )
    db.session.add(entry)
    return entry


def record_change(
    acting: Acting,
    subject: Application | Card | Partner,
    action: AuditAction,
    from_state: enum.Enum | None = None,
    to_state: enum.Enum | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """One audit row for an action on an application, a card or a partner (its id must
    be known: flush first for a new object)."""
    return record(
        acting,
        subject_type=_SUBJECTS[type(subject)],
        subject_id=subject.id,
        action=action,
        office_id=subject.office_id,
        from_state=from_state.value if from_state is not None else None,
        to_state=to_state.value if to_state is not None else None,
        reason=reason,
    )


def history(subject_type: Subject, subject_id: int) -> list[AuditEntry]:
    """The audit rows of one object, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.subject_type == subject_type.value, AuditEntry.subject_id == subject_id
            )
            .order_by(AuditEntry.id)
        )
    )
