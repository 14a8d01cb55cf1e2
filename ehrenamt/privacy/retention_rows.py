"""What the retention job deletes of the tables that hang on no application's period:
letters, print runs, imports of old cards, data exports, e-mail changes and name change
requests. Each is a query of the due rows' ids; :mod:`ehrenamt.privacy.retention`
deletes them in batches."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select

from ehrenamt.models import (
    ApplicationDraft,
    DataExport,
    EmailChange,
    LegacyImport,
    LegacyImportState,
    Letter,
    NameChangeRequest,
    NameChangeState,
    PrintRun,
    PrintRunState,
)
from ehrenamt.privacy.periods import DeploymentPeriods, days_before

#: A used or expired e-mail change link is kept this much longer, so its page can still
#: say "already used" or "expired" instead of "unknown".
EMAIL_CHANGE_GRACE = timedelta(days=1)


def printed_letters(periods: DeploymentPeriods, now: datetime) -> Select[int]:
    """Letters printed longer ago than the period (waiting ones stay: not yet sent)."""
    return select(Letter.id).where(Letter.printed_at < days_before(now, periods.letter_days))


def print_runs(periods: DeploymentPeriods, now: datetime) -> Select[int]:
    """Runs posted or failed longer ago than the period, and runs nobody confirmed posted
    that were made longer ago (abandoned: their PDF still names every holder)."""
    cutoff = days_before(now, periods.print_run_days)
    return select(PrintRun.id).where(
        or_(
            and_(PrintRun.state == PrintRunState.POSTED, PrintRun.posted_at < cutoff),
            and_(PrintRun.state != PrintRunState.POSTED, PrintRun.created_at < cutoff),
        )
    )


def unconfirmed_imports(periods: DeploymentPeriods, now: datetime) -> Select[int]:
    """Files of old cards checked but never confirmed, as old as an unclaimed upload
    (a confirmed import drops its file itself when done or failed)."""
    cutoff = now - timedelta(hours=periods.unclaimed_upload_hours)
    return select(LegacyImport.id).where(
        LegacyImport.state == LegacyImportState.CHECKED, LegacyImport.created_at < cutoff
    )


def expired_exports(now: datetime) -> Select[int]:
    """Data exports past their ``expires_at`` (set from EXPORT_MAX_AGE_DAYS)."""
    return select(DataExport.id).where(DataExport.expires_at <= now)


def spent_email_changes(periods: DeploymentPeriods, now: datetime) -> Select[int]:
    """E-mail change links expired unused more than a day ago, and changes made longer
    ago than mails to the old address are kept (and a day more: a mail queued just
    before the change is sent, and its period starts, a little after it)."""
    cutoff = now - EMAIL_CHANGE_GRACE
    old_mails_gone = days_before(now, periods.sent_mail_days) - EMAIL_CHANGE_GRACE
    return select(EmailChange.id).where(
        or_(
            and_(EmailChange.used_at.is_(None), EmailChange.expires_at < cutoff),
            EmailChange.used_at < old_mails_gone,
        )
    )


def decided_name_changes(periods: DeploymentPeriods, now: datetime) -> Select[int]:
    """Name change requests decided longer ago than the period (pending ones go with
    their application)."""
    return select(NameChangeRequest.id).where(
        NameChangeRequest.state != NameChangeState.PENDING,
        NameChangeRequest.decided_at < days_before(now, periods.name_change_days),
    )


def expired_drafts(now: datetime) -> Select[int]:
    """Drafts of the application form past their ``expires_at`` (DRAFT_MAX_AGE_DAYS
    after the last save)."""
    return select(ApplicationDraft.id).where(ApplicationDraft.expires_at < now)
