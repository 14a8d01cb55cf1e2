"""Importing a file of old cards: a dry run, the clerk's go-ahead, a worker in batches.

All lines or none: the dry run refuses a file with any bad line, and the worker checks
the file again before it writes (another import may have taken a number meanwhile).
Idempotent per number: a line whose number the office imported before is skipped, so
the same file imported twice creates its cards once. The worker commits every
``LEGACY_IMPORT_BATCH_SIZE`` lines together with how far it got, so a worker that dies
goes on where it stopped, and no transaction holds more than one batch.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from flask import current_app
from sqlalchemy import select

from ehrenamt.cards.validity import today
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, Subject, record, record_change
from ehrenamt.core.errors import Conflict
from ehrenamt.core.uploads import SPREADSHEET_TYPES, CheckedFile
from ehrenamt.extensions import db
from ehrenamt.legacy.rows import CheckReport, LegacyRow, check_file
from ehrenamt.models import (
    Application,
    Card,
    CardState,
    LegacyImport,
    LegacyImportState,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState

log = logging.getLogger(__name__)

#: The Celery task that imports a confirmed file.
IMPORT_TASK = "ehrenamt.import_legacy_cards"
#: Recorded as the consent of an imported card's application: the town's paper form.
LEGACY_CONSENT = "paper-import"


def check_upload(
    office_id: int, acting: Acting, checked: CheckedFile
) -> tuple[LegacyImport | None, CheckReport]:
    """The dry run of a checked file; a file without errors is kept for the go-ahead."""
    check_staff(acting, office_id, "legacy-import")
    kind = SPREADSHEET_TYPES[checked.content_type]
    report = check_file(checked.data, kind, office_id)
    if report.errors:
        db.session.rollback()
        return None, report
    legacy_import = LegacyImport(
        public_id=secrets.token_hex(16),
        office_id=office_id,
        created_by_id=acting.user.id if acting.user else None,
        original_name=checked.original_name,
        file_kind=kind,
        content=checked.data,
        sha256=hashlib.sha256(checked.data).hexdigest(),
        state=LegacyImportState.CHECKED,
        total_rows=report.total,
    )
    db.session.add(legacy_import)
    db.session.commit()
    return legacy_import, report


def get_for_office(office_id: int, public_id: str) -> LegacyImport | None:
    """An import of the staff member's office, or None."""
    return db.session.scalar(
        select(LegacyImport).where(
            LegacyImport.office_id == office_id, LegacyImport.public_id == public_id
        )
    )


def start(legacy_import: LegacyImport, acting: Acting) -> None:
    """The clerk's go-ahead: a worker imports the checked file (audited)."""
    check_staff(acting, legacy_import.office_id, legacy_import.public_id)
    if legacy_import.state != LegacyImportState.CHECKED:
        raise Conflict(legacy_import.public_id)
    legacy_import.state = LegacyImportState.IMPORTING
    _audit(acting, legacy_import, LegacyImportState.CHECKED, f"{legacy_import.total_rows} lines")
    outbox.enqueue(IMPORT_TASK, import_id=legacy_import.id)
    outbox.commit()


def _audit(
    acting: Acting, legacy_import: LegacyImport, from_state: LegacyImportState, reason: str
) -> None:
    record(
        acting,
        subject_type=Subject.LEGACY_IMPORT,
        subject_id=legacy_import.id,
        action=AuditAction.IMPORT,
        office_id=legacy_import.office_id,
        from_state=from_state.value,
        to_state=legacy_import.state.value,
        reason=f"{reason}; file sha256 {legacy_import.sha256[:16]}",
    )


def run(import_id: int) -> LegacyImportState | None:
    """The worker: import a confirmed file in batches, from where it stopped."""
    legacy_import = db.session.get(LegacyImport, import_id, populate_existing=True)
    if legacy_import is None or legacy_import.state != LegacyImportState.IMPORTING:
        db.session.rollback()
        return legacy_import.state if legacy_import else None
    assert legacy_import.content is not None
    creator = db.session.get(User, legacy_import.created_by_id or 0)
    acting = Acting.staff(creator) if creator is not None else Acting.system()
    report = check_file(legacy_import.content, legacy_import.file_kind, legacy_import.office_id)
    if report.errors:
        lines = ", ".join(str(line) for line in sorted(report.errors)[:20])
        _finish(legacy_import, acting, LegacyImportState.FAILED, f"errors in lines {lines}")
        return LegacyImportState.FAILED
    size = max(1, int(current_app.config["LEGACY_IMPORT_BATCH_SIZE"]))
    while legacy_import.processed_rows < len(report.rows):
        start_at = legacy_import.processed_rows
        batch = report.rows[start_at : start_at + size]
        created = import_rows(legacy_import.office_id, batch, acting)
        legacy_import.processed_rows += len(batch)
        legacy_import.created_cards += created
        legacy_import.skipped_rows += len(batch) - created
        db.session.commit()
    _finish(
        legacy_import,
        acting,
        LegacyImportState.DONE,
        f"{legacy_import.created_cards} cards, {legacy_import.skipped_rows} imported before",
    )
    log.info("imported %d old cards", legacy_import.created_cards)
    return LegacyImportState.DONE


def _finish(
    legacy_import: LegacyImport, acting: Acting, state: LegacyImportState, reason: str
) -> None:
    legacy_import.state = state
    legacy_import.finished_at = utcnow()
    legacy_import.content = None  # personal data: kept only as long as needed
    legacy_import.failure = reason if state == LegacyImportState.FAILED else None
    _audit(acting, legacy_import, LegacyImportState.IMPORTING, reason)
    db.session.commit()


def import_rows(office_id: int, rows: list[LegacyRow], acting: Acting) -> int:
    """Add the cards of ``rows`` not imported before to the transaction; how many."""
    numbers = [row.number for row in rows]
    present = set(
        db.session.scalars(select(Card.legacy_number).where(Card.legacy_number.in_(numbers)))
    )
    emails = sorted({row.email for row in rows if row.email})
    holders: dict[str, User] = {
        user.email: user
        for user in db.session.scalars(select(User).where(User.email.in_(emails)))
        if user.email
    }
    now, day = utcnow(), today()
    new_cards: list[tuple[Card, LegacyRow]] = []
    for row in rows:
        if row.number in present:
            continue
        present.add(row.number)
        name = f"{row.first_name} {row.last_name}"
        holder = holders.get(row.email) if row.email else None
        if holder is None:
            holder = User(email=row.email, role=UserRole.VOLUNTEER, display_name=name[:200])
            db.session.add(holder)
            if row.email:
                holders[row.email] = holder
        application = Application(
            public_id=secrets.token_urlsafe(16),
            submission_key=f"legacy:{office_id}:{row.number}",
            office_id=office_id,
            applicant=holder,
            state=ApplicationState.APPROVED,
            card_type=row.card_type,
            first_name=row.first_name,
            last_name=row.last_name,
            search_name=name.lower(),
            birth_date=row.birth_date,
            street=row.street,
            postcode=row.postcode,
            town=row.town,
            consent_version=LEGACY_CONSENT,
            consent_at=now,
            submitted_at=now,
            state_changed_at=now,
            decided_at=now,
        )
        expired = row.valid_until is not None and row.valid_until < day
        card = Card(
            public_id=secrets.token_hex(16),
            number=row.number,
            legacy_number=row.number,
            application=application,
            office_id=office_id,
            holder=holder,
            state=CardState.EXPIRED if expired else CardState.ACTIVE,
            card_type=row.card_type,
            holder_name=name,
            search_name=name.lower(),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            # Nothing made here yet: the first re-issue or extension makes the documents
            # (and gives a new number, see cards/production.py).
            generation=0,
            rendered_generation=0,
        )
        db.session.add_all([application, card])
        new_cards.append((card, row))
    db.session.flush()  # the ids, for the audit rows
    for card, row in new_cards:
        reason = f"line {row.line}, number {row.number}"
        record_change(
            acting, card.application, AuditAction.IMPORT, None, ApplicationState.APPROVED, reason
        )
        record_change(acting, card, AuditAction.IMPORT, None, card.state, reason)
    return len(new_cards)


def progress(legacy_import: LegacyImport) -> dict[str, object]:
    """The import page's figures, also polled by its script."""
    return {
        "state": legacy_import.state.value,
        "total": legacy_import.total_rows,
        "processed": legacy_import.processed_rows,
        "created": legacy_import.created_cards,
        "skipped": legacy_import.skipped_rows,
        "complete": legacy_import.state in (LegacyImportState.DONE, LegacyImportState.FAILED),
    }
