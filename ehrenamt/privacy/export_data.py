"""What an export holds: everything stored about one volunteer (DSGVO Art. 15/20).

:func:`collect` reads it as plain JSON values plus the files that go beside them in the
archive. Every query starts from the volunteer's own id, so nothing of another person
can come along; what other people did to the volunteer's objects (a clerk's decision)
is shown by role, never by their name or address.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select

from ehrenamt.applications import drafts
from ehrenamt.cards import production
from ehrenamt.core import audit, mail, uploads
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardDocument,
    EmailChange,
    NameChangeRequest,
    OutboxMessage,
    Upload,
    User,
    Verification,
)
from ehrenamt.privacy import correction

#: Bumped when the JSON's shape changes, so a program reading it can tell.
FORMAT_VERSION = 1


@dataclass
class ExportFile:
    """A file of the archive: from disk (an upload) or from the database (a card)."""

    name: str
    path: Path | None = None
    content: bytes | None = None


@dataclass
class ExportData:
    """The JSON document and the files it refers to by name."""

    document: dict[str, Any]
    files: list[ExportFile] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A value JSON can hold: dates as ISO text, decimals as text, enums by value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _columns(row: Any, *names: str) -> dict[str, Any]:
    return {name: plain(getattr(row, name)) for name in names}


def file_bytes(user_id: int) -> int:
    """How many bytes of files an export of this volunteer carries (uploads and cards),
    to decide whether a worker builds it."""
    upload_bytes = db.session.scalar(
        select(func.coalesce(func.sum(Upload.size), 0))
        .join(Application, Upload.application_id == Application.id)
        .where(Application.applicant_id == user_id)
    )
    card_bytes = db.session.scalar(
        select(func.coalesce(func.sum(func.length(CardDocument.content)), 0))
        .join(Card, CardDocument.card_id == Card.id)
        .where(Card.holder_id == user_id)
    )
    return int(upload_bytes or 0) + int(card_bytes or 0)


def collect(user: User, exported_at: datetime) -> ExportData:
    """Everything stored about ``user``, as JSON values and files."""
    data = ExportData(document={})
    data.document.update(
        format_version=FORMAT_VERSION,
        exported_at=plain(exported_at),
        account=_columns(
            user, "email", "email_confirmed_at", "display_name", "language", "created_at"
        )
        | {"role": plain(user.role), "has_password": user.password_hash is not None},
        applications=[_application(a, data) for a in _applications(user.id)],
        cards=[_card(c, data) for c in _cards(user.id)],
        mails=_mails(correction.address_periods(user)),
        email_changes=[
            _columns(change, "old_email", "new_email", "created_at", "expires_at", "used_at")
            for change in db.session.scalars(
                select(EmailChange).where(EmailChange.user_id == user.id).order_by(EmailChange.id)
            )
        ],
        drafts=[
            _columns(draft, "email", "answers", "created_at", "saved_at", "expires_at")
            for draft in drafts.drafts_of_person(user)
        ],
    )
    return data


def _applications(user_id: int) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application).where(Application.applicant_id == user_id).order_by(Application.id)
        )
    )


def _application(application: Application, data: ExportData) -> dict[str, Any]:
    item = _columns(
        application,
        "public_id",
        "state",
        "card_type",
        "first_name",
        "last_name",
        "birth_date",
        "street",
        "postcode",
        "town",
        "phone",
        "qualification",
        "honour",
        "consent_version",
        "consent_at",
        "submitted_at",
        "decided_at",
        "rejection_reason",
        "rejection_text",
        "information_request",
        "information_answer",
    )
    item["office"] = application.office.name
    item["engagements"] = [
        _columns(
            engagement,
            "organisation_name",
            "organisation_postcode",
            "contact_name",
            "contact_email",
            "activity",
            "hours_per_week",
            "hours_per_year",
            "engaged_since",
            "allowance_euros_per_year",
            "confirmation_state",
            "request_sent_at",
            "confirmed_hours_per_week",
            "confirmed_hours_per_year",
            "answer_comment",
            "answered_at",
        )
        for engagement in application.engagements
    ]
    item["uploads"] = []
    for upload in application.uploads:
        name = f"uploads/{upload.id}-{_safe_name(upload.original_name)}"
        data.files.append(ExportFile(name, path=uploads.path_of(upload)))
        item["uploads"].append(
            _columns(upload, "original_name", "content_type", "size", "sha256", "created_at")
            | {"file": name}
        )
    item["name_changes"] = [
        _columns(
            request,
            "state",
            "first_name",
            "last_name",
            "note",
            "created_at",
            "decided_at",
            "decline_reason",
        )
        for request in db.session.scalars(
            select(NameChangeRequest)
            .where(NameChangeRequest.application_id == application.id)
            .order_by(NameChangeRequest.id)
        )
    ]
    item["history"] = _history(audit.Subject.APPLICATION, application.id)
    return item


def _cards(user_id: int) -> list[Card]:
    return list(db.session.scalars(select(Card).where(Card.holder_id == user_id).order_by(Card.id)))


def _card(card: Card, data: ExportData) -> dict[str, Any]:
    item = _columns(
        card,
        "number",
        "state",
        "card_type",
        "holder_name",
        "valid_from",
        "valid_until",
        "created_at",
        "issued_at",
        "revoked_at",
        "revocation_reason",
        "revocation_note",
    )
    item["office"] = card.office.name
    item["application"] = card.application.public_id
    item["replaces"] = card.replaces.number if card.replaces else None
    item["files"] = []
    for document in card.documents:
        name = f"cards/{production.document_filename(card, document.kind)}"
        data.files.append(ExportFile(name, content=document.content))
        item["files"].append(name)
    item["history"] = _history(audit.Subject.CARD, card.id)
    item["checks"] = [
        {
            "at": plain(check.at),
            "result": check.result,
            "channel": plain(check.channel),
            "partner": check.partner.name if check.partner else None,
            "benefit": check.benefit.title if check.benefit else None,
        }
        for check in db.session.scalars(
            select(Verification).where(Verification.card_id == card.id).order_by(Verification.at)
        )
    ]
    return item


def _history(subject: audit.Subject, subject_id: int) -> list[dict[str, Any]]:
    """The audit rows of one object; who acted by role only (a clerk's name and address
    are the clerk's data, not the volunteer's)."""
    rows: list[AuditEntry] = audit.history(subject, subject_id)
    return [
        _columns(row, "at", "action", "from_state", "to_state", "reason") | {"by": row.actor_role}
        for row in rows
    ]


def _mails(periods: list[correction.AddressPeriod]) -> list[dict[str, Any]]:
    """Mails to the volunteer's addresses, the current and earlier ones, each while it was
    theirs: recipient, subject and when (the outbox keeps no body once a mail is sent)."""
    if not periods:
        return []
    sent_to = OutboxMessage.payload["to"].as_string()
    matches = []
    for period in periods:
        match = [sent_to == period.email]
        if period.since is not None:
            match.append(OutboxMessage.created_at >= period.since)
        if period.until is not None:
            match.append(OutboxMessage.created_at < period.until)
        matches.append(and_(*match))
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == mail.SEND_MAIL_TASK, or_(*matches))
        .order_by(OutboxMessage.id)
    )
    return [
        {
            "to": message.payload.get("to"),
            "subject": message.payload.get("subject"),
            "queued_at": plain(message.created_at),
            "sent_at": plain(message.completed_at),
        }
        for message in messages
    ]


def _safe_name(name: str) -> str:
    """A file name that stays inside its folder of the archive."""
    cleaned = "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip(". ")
    return cleaned[:100] or "datei"
