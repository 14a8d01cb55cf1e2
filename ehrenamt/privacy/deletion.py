"""Deleting applications with everything that hangs on them, the one way both the
retention job and a person's erasure do it.

Everything here runs in the caller's transaction and commits nothing: a batch is either
gone completely or not at all. Files are unlinked by the caller after the commit (a
rollback must not leave rows pointing at deleted files); a file whose unlink was missed
(the process died in between) is found by :func:`delete_orphan_files` later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, delete, func, literal, or_, select, update

from ehrenamt.core import audit
from ehrenamt.core.uploads import upload_folder
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardDocument,
    CardState,
    Engagement,
    OutboxMessage,
    PrintRun,
    PrintRunCard,
    PrintRunState,
    RetainedRevocation,
    Upload,
    Verification,
)
from ehrenamt.workflow import Actor

#: Audit rows keep who on the staff did what and when; a deleted person's own rows, and
#: an organisation contact's (named in the application), get this label instead.
PSEUDONYM = "gelöschte Person #{id}"
DELETED_ORGANISATION = "Organisation (gelöscht)"
#: Why a print run stopped: a card of it was deleted (staff see the run as failed and
#: start a new one; no personal data).
PRINT_RUN_CARD_DELETED = "a card of the run was deleted"


def pseudonym(user_id: int) -> str:
    """The label that replaces a deleted person's name and address in the audit log."""
    return PSEUDONYM.format(id=user_id)


@dataclass
class Deleted:
    """What one call deleted: counts per kind, and the upload files to unlink."""

    applications: int = 0
    cards: int = 0
    uploads: int = 0
    files: list[str] = field(default_factory=list)

    def add(self, other: Deleted) -> None:
        """Sum another call's result into this one."""
        self.applications += other.applications
        self.cards += other.cards
        self.uploads += other.uploads
        self.files.extend(other.files)


def delete_applications(application_ids: Sequence[int], today: date) -> Deleted:
    """Delete the applications with their engagements, uploads and cards, keep revoked
    numbers still valid, and strip the personal text from their audit rows."""
    result = Deleted()
    if not application_ids:
        return result
    ids = list(application_ids)
    cards = db.session.execute(
        select(Card.id, Card.number, Card.state, Card.valid_until, Card.office_id).where(
            Card.application_id.in_(ids)
        )
    ).all()
    card_ids = [card.id for card in cards]
    if card_ids:
        _retain_revoked_numbers([c for c in cards if c.state == CardState.REVOKED], today, card_ids)
        db.session.execute(
            update(Verification).where(Verification.card_id.in_(card_ids)).values(card_id=None)
        )
        db.session.execute(delete(CardDocument).where(CardDocument.card_id.in_(card_ids)))
        _drop_print_pdfs(card_ids)
        # One statement, so a lost card and its replacement go together (the replacement
        # refers to it; the check runs at the end of the statement).
        result.cards = _count(db.session.execute(delete(Card).where(Card.id.in_(card_ids))))
        _strip_audit(audit.Subject.CARD, card_ids)
    result.files = list(
        db.session.scalars(
            delete(Upload)
            .where(Upload.application_id.in_(ids))
            .returning(Upload.stored_name)
            .execution_options(synchronize_session=False)
        )
    )
    result.uploads = len(result.files)
    db.session.execute(delete(Engagement).where(Engagement.application_id.in_(ids)))
    _strip_audit(audit.Subject.APPLICATION, ids)
    _pseudonymise_applicants(audit.Subject.APPLICATION, ids)
    result.applications = _count(
        db.session.execute(
            delete(Application)
            .where(Application.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    )
    return result


def _drop_print_pdfs(card_ids: list[int]) -> None:
    """Print runs holding the cards lose their PDF (it prints the holder's name and
    address); one not yet posted is failed, so nobody prints and posts a deleted card.
    The runs' card lists lose the cards by the database's cascade."""
    runs = select(PrintRunCard.print_run_id).where(PrintRunCard.card_id.in_(card_ids))
    db.session.execute(
        update(PrintRun)
        .where(
            PrintRun.id.in_(runs),
            PrintRun.state.in_((PrintRunState.QUEUED, PrintRunState.READY)),
        )
        .values(state=PrintRunState.FAILED, error=PRINT_RUN_CARD_DELETED)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(PrintRun)
        .where(PrintRun.id.in_(runs), PrintRun.pdf.is_not(None))
        .values(pdf=None)
        .execution_options(synchronize_session=False)
    )


def _retain_revoked_numbers(revoked: Sequence[Any], today: date, card_ids: list[int]) -> None:
    """Revoked cards still within their validity stay on the revocation list."""
    keep = [c for c in revoked if c.valid_until is None or c.valid_until >= today]
    if not keep:
        return
    versions = dict(
        db.session.execute(
            select(AuditEntry.subject_id, func.max(AuditEntry.id))
            .where(
                AuditEntry.subject_type == audit.Subject.CARD.value,
                AuditEntry.action == audit.AuditAction.REVOKE.value,
                AuditEntry.subject_id.in_(card_ids),
            )
            .group_by(AuditEntry.subject_id)
        ).all()
    )
    for card in keep:
        db.session.add(
            RetainedRevocation(
                number=card.number,
                office_id=card.office_id,
                valid_until=card.valid_until,
                revocation_version=versions.get(card.id, 0),
            )
        )
    db.session.flush()


def _strip_audit(subject: audit.Subject, ids: Iterable[int]) -> None:
    """The subjects' audit rows keep action, states, time and staff actor; free text
    (a reason, a note that may name the person) and organisation contacts go."""
    subject_rows = (AuditEntry.subject_type == subject.value) & AuditEntry.subject_id.in_(list(ids))
    db.session.execute(update(AuditEntry).where(subject_rows).values(reason=None))
    db.session.execute(
        update(AuditEntry)
        .where(subject_rows, AuditEntry.actor_role == Actor.ORGANISATION.value)
        .values(actor_label=DELETED_ORGANISATION)
    )


def _pseudonymise_applicants(subject: audit.Subject, ids: Iterable[int]) -> None:
    """The applicants' own actions on the subjects: labelled with their pseudonym (one
    statement for the whole batch: the label is made from the row's own actor id)."""
    prefix = PSEUDONYM.split("{", 1)[0]
    db.session.execute(
        update(AuditEntry)
        .where(
            AuditEntry.subject_type == subject.value,
            AuditEntry.subject_id.in_(list(ids)),
            AuditEntry.actor_role == Actor.APPLICANT.value,
            AuditEntry.actor_id.is_not(None),
        )
        .values(actor_label=literal(prefix) + cast(AuditEntry.actor_id, String), actor_id=None)
    )


def pseudonymise_person(user_id: int) -> None:
    """Every audit row the person acted in, or about their account, loses their name,
    e-mail address and any free text."""
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == user_id)
        .values(actor_id=None, actor_label=pseudonym(user_id), reason=None)
    )
    db.session.execute(
        update(AuditEntry)
        .where(
            AuditEntry.subject_type == audit.Subject.USER.value, AuditEntry.subject_id == user_id
        )
        .values(reason=None)
    )


def delete_mails_mentioning(texts: Iterable[str]) -> int:
    """Delete outbox messages whose payload holds any of ``texts`` (sent or not)."""
    needles: set[str] = set()
    for text in texts:
        if text:
            needles.add(text)
            # The payload is stored as JSON text, where non-ASCII letters are escaped.
            needles.add(json.dumps(text)[1:-1])
    if not needles:
        return 0
    payload = cast(OutboxMessage.payload, String)
    return _count(
        db.session.execute(
            delete(OutboxMessage)
            .where(or_(*(payload.contains(needle, autoescape=True) for needle in needles)))
            .execution_options(synchronize_session=False)
        )
    )


def unlink_files(names: Iterable[str]) -> None:
    """Remove deleted uploads' files (after the commit that deleted their rows)."""
    folder = upload_folder()
    for name in names:
        (folder / name).unlink(missing_ok=True)


#: Upload files younger than this are never taken for orphans: their row may still be
#: in a transaction that has not committed yet.
ORPHAN_MIN_AGE_SECONDS = 3600.0


def delete_orphan_files(
    limit: int, folder: Path | None = None, column: Any = Upload.stored_name
) -> int:
    """Delete up to ``limit`` files that no row names any more in ``column`` (a run
    that died between its commit and the unlink); the upload folder by default, or
    ``folder`` with its rows' ``column``. Looks at the folder in chunks."""
    folder = folder or upload_folder()
    if not folder.is_dir():
        return 0
    cutoff = time.time() - ORPHAN_MIN_AGE_SECONDS
    deleted = 0
    chunk: list[str] = []

    def sweep() -> int:
        known = set(db.session.scalars(select(column).where(column.in_(chunk))))
        db.session.rollback()  # end the read; nothing held while unlinking
        orphans = [name for name in chunk if name not in known]
        for name in orphans:
            (folder / name).unlink(missing_ok=True)
        chunk.clear()
        return len(orphans)

    for path in folder.iterdir():
        if deleted >= limit:
            break
        if path.is_file() and path.stat().st_mtime < cutoff:
            chunk.append(path.name)
        if len(chunk) >= 500:
            deleted += sweep()
    if chunk:
        deleted += sweep()
    return deleted


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
