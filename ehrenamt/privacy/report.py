"""The deletion report for the office admin: counts per kind and month, the job's last
and next run. Counts only; the tables hold no personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ehrenamt.extensions import db
from ehrenamt.models import DeletionCount, RetentionRun
from ehrenamt.privacy.periods import days_before, months_before

#: Months a month's counts are kept (DeletionCount rows), and days a run's row is kept.
REPORT_KEPT_MONTHS = 36
RUNS_KEPT_DAYS = 90
#: Months the report page shows.
REPORT_MONTHS_SHOWN = 12


def _month(moment: datetime) -> date:
    return moment.date().replace(day=1)


def add_count(office_id: int | None, kind: str, count: int, now: datetime) -> None:
    """Add ``count`` to the month's count of the kind, in the caller's transaction (the
    batch that deleted the rows: so the count and the deletion commit together)."""
    if not count:
        return
    month = _month(now)
    office = (
        DeletionCount.office_id.is_(None)
        if office_id is None
        else DeletionCount.office_id == office_id
    )
    result = db.session.execute(
        update(DeletionCount)
        .where(office, DeletionCount.kind == kind, DeletionCount.month == month)
        .values(count=DeletionCount.count + count)
    )
    if not getattr(result, "rowcount", 0):
        db.session.add(DeletionCount(office_id=office_id, kind=kind, month=month, count=count))
        db.session.flush()


def start_run(now: datetime) -> int:
    """Note that a run started (committed at once, so the report sees it)."""
    run = RetentionRun(started_at=now, deleted=0)
    db.session.add(run)
    db.session.commit()
    return run.id


def finish_run(run_id: int, deleted: int, now: datetime) -> None:
    """Note the run's end and total; drop report rows past their own period."""
    db.session.execute(
        update(RetentionRun)
        .where(RetentionRun.id == run_id)
        .values(finished_at=now, deleted=deleted)
    )
    oldest_month = _month(months_before(now, REPORT_KEPT_MONTHS))
    db.session.execute(delete(DeletionCount).where(DeletionCount.month < oldest_month))
    db.session.execute(
        delete(RetentionRun).where(RetentionRun.started_at < days_before(now, RUNS_KEPT_DAYS))
    )
    db.session.commit()


@dataclass(frozen=True)
class MonthCounts:
    """One month of the report: count per kind (the office's and the deployment's)."""

    month: date
    counts: dict[str, int]


@dataclass(frozen=True)
class DeletionReport:
    """What the admin's report page shows."""

    months: list[MonthCounts]
    kinds: list[str]
    last_run: RetentionRun | None
    next_run: datetime | None


def deletion_report(office_id: int, now: datetime) -> DeletionReport:
    """The office's counts (with those of no office) of the last months, and the runs."""
    since = _month(months_before(now, REPORT_MONTHS_SHOWN - 1))
    rows = db.session.scalars(
        select(DeletionCount)
        .where(
            or_(DeletionCount.office_id == office_id, DeletionCount.office_id.is_(None)),
            DeletionCount.month >= since,
        )
        .order_by(DeletionCount.month.desc())
    ).all()
    months: dict[date, dict[str, int]] = {}
    for row in rows:
        counts = months.setdefault(row.month, {})
        counts[row.kind] = counts.get(row.kind, 0) + row.count
    last = db.session.scalar(select(RetentionRun).order_by(RetentionRun.started_at.desc()).limit(1))
    interval = timedelta(seconds=float(current_app.config["RETENTION_INTERVAL_SECONDS"]))
    return DeletionReport(
        months=[MonthCounts(month, counts) for month, counts in months.items()],
        kinds=sorted({row.kind for row in rows}),
        last_run=last,
        next_run=last.started_at + interval if last is not None else None,
    )
