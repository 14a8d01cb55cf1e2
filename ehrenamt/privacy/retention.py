"""The retention job: every period of :mod:`ehrenamt.privacy.periods` applied.

Work is done in batches of RETENTION_BATCH_SIZE rows, one short transaction each (no
long lock, no table rewrite), and at most RETENTION_MAX_ROWS_PER_RUN rows of each kind
per run: a backlog is caught up over several runs. A batch is committed whole or not at
all, so a run killed at any point leaves a consistent state and the next run goes on
where it stopped; run again with nothing due, it deletes nothing. Only counts are
logged, never a name, address or e-mail.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, delete, exists, or_, select

from ehrenamt.cardformat.token import CARD_TIME_ZONE
from ehrenamt.cards.index import card_index
from ehrenamt.core import uploads
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    ApplicationDraft,
    Card,
    CardState,
    DataExport,
    EmailChange,
    LegacyImport,
    Letter,
    NameChangeRequest,
    OneTimeLink,
    OutboxMessage,
    PrintRun,
    ProgrammeRules,
    RetainedRevocation,
    User,
    UserRole,
    Verification,
    utcnow,
)
from ehrenamt.privacy import deletion, report, retention_rows
from ehrenamt.privacy.export import export_folder
from ehrenamt.privacy.periods import (
    OfficePeriods,
    days_before,
    deployment_periods,
    months_before,
)
from ehrenamt.workflow import ApplicationState

log = logging.getLogger(__name__)


class DeletionKind(enum.StrEnum):
    """What the job deletes; the deletion report counts per kind."""

    DECIDED_APPLICATIONS = "decided_applications"
    CARD_DATA = "card_data"
    UNCONFIRMED_APPLICATIONS = "unconfirmed_applications"
    UNCONFIRMED_ACCOUNTS = "unconfirmed_accounts"
    CHECK_RECORDS = "check_records"
    UNCLAIMED_UPLOADS = "unclaimed_uploads"
    ONE_TIME_LINKS = "one_time_links"
    SENT_MAILS = "sent_mails"
    RETAINED_REVOCATIONS = "retained_revocations"
    ORPHAN_FILES = "orphan_files"
    PRINTED_LETTERS = "printed_letters"
    PRINT_RUNS = "print_runs"
    UNCONFIRMED_IMPORTS = "unconfirmed_imports"
    DATA_EXPORTS = "data_exports"
    EMAIL_CHANGES = "email_changes"
    NAME_CHANGE_REQUESTS = "name_change_requests"
    APPLICATION_DRAFTS = "application_drafts"
    #: Not the job's: people erased at their request (privacy.erasure), per office.
    ERASED_PERSONS = "erased_persons"


#: Called after each committed batch (before its files are unlinked): lets a test stop
#: a run halfway, as a killed process would.
AfterBatch = Callable[[DeletionKind], None]


#: How the job waits between batches (a test records the pauses instead).
pause = time.sleep


@dataclass
class _Run:
    now: datetime
    today: date
    batch: int
    budget: int
    after_batch: AfterBatch | None
    counts: dict[tuple[int | None, DeletionKind], int]
    pause_share: float = 0.0
    #: When the current batch began (the end of the previous pause).
    batch_began: float = field(default_factory=time.monotonic)

    def left(self, kind: DeletionKind) -> int:
        done = sum(n for (_office, k), n in self.counts.items() if k == kind)
        return max(self.budget - done, 0)

    def note(self, office_id: int | None, kind: DeletionKind, count: int) -> None:
        if count:
            key = (office_id, kind)
            self.counts[key] = self.counts.get(key, 0) + count

    def committed(self, kind: DeletionKind) -> None:
        if self.after_batch is not None:
            self.after_batch(kind)
        # Yield the cores for a share of the batch's time (RETENTION_PAUSE_SHARE).
        took = time.monotonic() - self.batch_began
        if self.pause_share > 0 and took > 0:
            pause(took * self.pause_share)
        self.batch_began = time.monotonic()


def apply_retention(
    now: datetime | None = None, *, after_batch: AfterBatch | None = None
) -> dict[tuple[int | None, DeletionKind], int]:
    """Delete what is past its period, in batches; counts per (office id, kind)."""
    now = now or utcnow()
    config = current_app.config
    run = _Run(
        now=now,
        today=now.astimezone(CARD_TIME_ZONE).date(),
        batch=int(config["RETENTION_BATCH_SIZE"]),
        budget=int(config["RETENTION_MAX_ROWS_PER_RUN"]),
        after_batch=after_batch,
        counts={},
        pause_share=float(config["RETENTION_PAUSE_SHARE"]),
    )
    run_id = report.start_run(now)
    offices = [OfficePeriods.of(rules) for rules in db.session.scalars(select(ProgrammeRules))]
    db.session.rollback()
    for periods in offices:
        _applications(
            run, periods.office_id, DeletionKind.DECIDED_APPLICATIONS, _decided(periods, run)
        )
        _applications(run, periods.office_id, DeletionKind.CARD_DATA, _card_data(periods, run))
        _applications(
            run,
            periods.office_id,
            DeletionKind.UNCONFIRMED_APPLICATIONS,
            _unconfirmed(periods, run),
        )
        _check_records(run, periods.office_id, periods.check_days)
    _check_records(run, None, deployment_periods().check_days)
    _small_kinds(run)
    _rows_of_today(run)
    card_index().revocations_changed()
    report.finish_run(run_id, sum(run.counts.values()), utcnow())
    for (office_id, kind), count in sorted(run.counts.items(), key=lambda item: str(item[0])):
        log.info("retention: deleted %d %s (office %s)", count, kind.value, office_id or "-")
    return run.counts


def _decided(periods: OfficePeriods, run: _Run) -> Select[int]:
    """Rejected or withdrawn, decided longer ago than the office's period."""
    return select(Application.id).where(
        Application.office_id == periods.office_id,
        Application.state.in_((ApplicationState.REJECTED, ApplicationState.WITHDRAWN)),
        Application.state_changed_at < months_before(run.now, periods.decided_months),
    )


def _card_data(periods: OfficePeriods, run: _Run) -> Select[int]:
    """Approved, and every card of it ended (expired or revoked) longer ago than the
    office's period."""
    cutoff = months_before(run.now, periods.card_months)
    cutoff_day = cutoff.astimezone(CARD_TIME_ZONE).date()
    still_needed = exists().where(
        Card.application_id == Application.id,
        or_(
            Card.state.in_((CardState.ISSUING, CardState.ACTIVE)),
            and_(Card.state == CardState.REVOKED, Card.revoked_at >= cutoff),
            and_(Card.state == CardState.EXPIRED, Card.valid_until >= cutoff_day),
        ),
    )
    return select(Application.id).where(
        Application.office_id == periods.office_id,
        Application.state == ApplicationState.APPROVED,
        Application.state_changed_at < cutoff,
        ~still_needed,
    )


def _unconfirmed(periods: OfficePeriods, run: _Run) -> Select[int]:
    """Still waiting for the applicant's e-mail confirmation after the office's period."""
    return (
        select(Application.id)
        .join(User, User.id == Application.applicant_id)
        .where(
            Application.office_id == periods.office_id,
            Application.state == ApplicationState.SUBMITTED,
            Application.submitted_at < days_before(run.now, periods.unconfirmed_days),
            User.email_confirmed_at.is_(None),
        )
    )


def _applications(run: _Run, office_id: int, kind: DeletionKind, query: Select[int]) -> None:
    while (left := run.left(kind)) > 0:
        # No ORDER BY: the index scan stops after the batch instead of sorting every
        # due row first (bench/retention.py); which rows come first does not matter.
        ids = db.session.scalars(query.limit(min(run.batch, left))).all()
        if not ids:
            db.session.rollback()
            return
        applicants = db.session.scalars(
            select(Application.applicant_id).where(Application.id.in_(ids)).distinct()
        ).all()
        deleted = deletion.delete_applications(ids, run.today)
        accounts = (
            _delete_unconfirmed_accounts(applicants)
            if kind == DeletionKind.UNCONFIRMED_APPLICATIONS
            else 0
        )
        report.add_count(office_id, kind, deleted.applications, run.now)
        report.add_count(office_id, DeletionKind.UNCONFIRMED_ACCOUNTS, accounts, run.now)
        db.session.commit()
        run.committed(kind)
        deletion.unlink_files(deleted.files)
        run.note(office_id, kind, deleted.applications)
        run.note(office_id, DeletionKind.UNCONFIRMED_ACCOUNTS, accounts)
        if len(ids) < run.batch:
            return


def _delete_unconfirmed_accounts(user_ids: Sequence[int]) -> int:
    """Accounts made by an application whose address was never confirmed, once nothing
    of theirs is left: the account is personal data too."""
    gone = select(User.id).where(
        User.id.in_(list(user_ids)),
        User.role == UserRole.VOLUNTEER,
        User.email_confirmed_at.is_(None),
        ~exists().where(Application.applicant_id == User.id),
        ~exists().where(Card.holder_id == User.id),
    )
    ids = list(db.session.scalars(gone))
    if not ids:
        return 0
    db.session.execute(delete(OneTimeLink).where(OneTimeLink.user_id.in_(ids)))
    # A letter to the account (not about an application) would keep its row alive.
    db.session.execute(delete(Letter).where(Letter.recipient_id.in_(ids)))
    for user_id in ids:
        deletion.pseudonymise_person(user_id)
    result = db.session.execute(
        delete(User).where(User.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _check_records(run: _Run, office_id: int | None, days: int) -> None:
    """Records of checks of the office's cards (or, for None, of no card) past the period."""
    cutoff = days_before(run.now, days)
    query = select(Verification.id).where(Verification.at < cutoff)
    if office_id is None:
        query = query.where(Verification.card_id.is_(None))
    else:
        query = query.join(Card, Card.id == Verification.card_id).where(Card.office_id == office_id)
    _delete_by_id(run, office_id, DeletionKind.CHECK_RECORDS, Verification, query)


def _small_kinds(run: _Run) -> None:
    """Kinds without an office: spent links, sent mails, revoked numbers past their end,
    unclaimed uploads and orphaned files."""
    periods = deployment_periods()
    links = select(OneTimeLink.id).where(
        or_(OneTimeLink.used_at.is_not(None), OneTimeLink.expires_at < run.now)
    )
    _delete_by_id(run, None, DeletionKind.ONE_TIME_LINKS, OneTimeLink, links)
    mails = select(OutboxMessage.id).where(
        OutboxMessage.completed_at < days_before(run.now, periods.sent_mail_days)
    )
    _delete_by_id(run, None, DeletionKind.SENT_MAILS, OutboxMessage, mails)
    numbers = select(RetainedRevocation.id).where(RetainedRevocation.valid_until < run.today)
    _delete_by_id(run, None, DeletionKind.RETAINED_REVOCATIONS, RetainedRevocation, numbers)
    cutoff = run.now - timedelta(hours=periods.unclaimed_upload_hours)
    kind = DeletionKind.UNCLAIMED_UPLOADS
    _note_outside_batch(
        run, kind, uploads.delete_unclaimed(cutoff, limit=run.left(kind), batch=run.batch)
    )
    kind = DeletionKind.ORPHAN_FILES
    _note_outside_batch(run, kind, deletion.delete_orphan_files(run.left(kind)))
    # Export files whose row went in a run that died before unlinking them.
    exports = deletion.delete_orphan_files(run.left(kind), export_folder(), DataExport.stored_name)
    _note_outside_batch(run, kind, exports)


def _rows_of_today(run: _Run) -> None:
    """Letters, print runs (their card lists go by cascade), unconfirmed imports of old
    cards, data exports (files after the commit), e-mail changes, name change requests,
    expired drafts of the application form."""
    periods = deployment_periods()
    rows = retention_rows
    kinds: tuple[tuple[DeletionKind, type, Select[int]], ...] = (
        (DeletionKind.PRINTED_LETTERS, Letter, rows.printed_letters(periods, run.now)),
        (DeletionKind.PRINT_RUNS, PrintRun, rows.print_runs(periods, run.now)),
        (
            DeletionKind.UNCONFIRMED_IMPORTS,
            LegacyImport,
            rows.unconfirmed_imports(periods, run.now),
        ),
        (DeletionKind.EMAIL_CHANGES, EmailChange, rows.spent_email_changes(periods, run.now)),
        (
            DeletionKind.NAME_CHANGE_REQUESTS,
            NameChangeRequest,
            rows.decided_name_changes(periods, run.now),
        ),
        (DeletionKind.APPLICATION_DRAFTS, ApplicationDraft, rows.expired_drafts(run.now)),
    )
    for kind, model, query in kinds:
        _delete_by_id(run, None, kind, model, query)
    folder = export_folder()
    _delete_by_id(
        run,
        None,
        DeletionKind.DATA_EXPORTS,
        DataExport,
        rows.expired_exports(run.now),
        files=(DataExport.stored_name, lambda name: (folder / name).unlink(missing_ok=True)),
    )


def _note_outside_batch(run: _Run, kind: DeletionKind, count: int) -> None:
    """Count what a helper deleted in its own transactions."""
    run.note(None, kind, count)
    report.add_count(None, kind, count, run.now)
    db.session.commit()


#: A column naming each deleted row's file, and how to remove one (after the commit).
FileColumn = tuple[Any, Callable[[str], None]]


def _delete_by_id(
    run: _Run,
    office_id: int | None,
    kind: DeletionKind,
    model: type,
    query: Select[int],
    files: FileColumn | None = None,
) -> None:
    id_column = model.id  # type: ignore[attr-defined]
    while (left := run.left(kind)) > 0:
        ids = db.session.scalars(query.limit(min(run.batch, left))).all()
        if not ids:
            db.session.rollback()
            return
        names: list[str | None] = []
        if files is not None:
            names = list(db.session.scalars(select(files[0]).where(id_column.in_(ids))))
        result = db.session.execute(
            delete(model).where(id_column.in_(ids)).execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        report.add_count(office_id, kind, count, run.now)
        db.session.commit()
        run.committed(kind)
        if files is not None:
            for name in names:
                if name:
                    files[1](name)
        run.note(office_id, kind, count)
        if len(ids) < run.batch:
            return
