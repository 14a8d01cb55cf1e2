"""The retention job on PostgreSQL: deletion throughput, the longest transaction, and the
clerk's queue while it runs (issue #11).

Builds the applications of :mod:`bench.queue` (its set-based fill), then makes 40 % of
them rejected or withdrawn more than six months ago (due) and moves every other decision
into the last month (not due). The job then runs, as beat would run it again and again,
until a run deletes nothing; meanwhile this thread asks for the first page of the queue.

    python -m bench.retention                          # 20,000 applications
    python -m bench.retention --applications 1000000   # full size
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import URL

from bench import harness
from bench import queue as queue_bench
from ehrenamt.applications.queries import QueueFilter, list_queue
from ehrenamt.extensions import db
from ehrenamt.models import Application, Engagement, utcnow
from ehrenamt.privacy.retention import apply_retention

#: Share of the applications past their period.
DUE_SHARE_PER_FIVE = 2  # of every five: 40 %
#: Rows per run, so the job runs several times, as beat would.
ROWS_PER_RUN = 100_000

_MAKE_DUE = """
UPDATE application
SET state = CASE WHEN id % 2 = 0 THEN 'rejected' ELSE 'withdrawn' END,
    state_changed_at = now() - interval '7 months' - (id % 700) * interval '1 day',
    decided_at = now() - interval '7 months' - (id % 700) * interval '1 day'
WHERE id % 5 < :due
"""
_MAKE_RECENT = """
UPDATE application
SET state_changed_at = now() - (id % 28) * interval '1 day',
    decided_at = now() - (id % 28) * interval '1 day'
WHERE id % 5 >= :due AND state IN ('approved', 'rejected', 'withdrawn')
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.retention", description=__doc__)
    parser.add_argument("--applications", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="RETENTION_BATCH_SIZE")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


class TransactionClock:
    """Durations of the transactions of one thread, from BEGIN to COMMIT or ROLLBACK."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.durations: list[float] = []

    def begin(self, connection: Any) -> None:
        if threading.get_ident() == self.thread:
            connection.info["bench_began"] = time.perf_counter()

    def end(self, connection: Any) -> None:
        began = connection.info.pop("bench_began", None)
        if began is not None:
            self.durations.append((time.perf_counter() - began) * 1000)


def build(rows: int) -> list[int]:
    """The queue benchmark's data, 40 % of it due."""
    db.create_all()
    office_ids = harness.create_offices()
    started = time.perf_counter()
    schema = queue_bench.drop_secondary_schema()
    queue_bench.fill(rows, office_ids)
    db.session.execute(text(_MAKE_DUE), {"due": DUE_SHARE_PER_FIVE})
    db.session.execute(text(_MAKE_RECENT), {"due": DUE_SHARE_PER_FIVE})
    db.session.commit()
    queue_bench.create_indexes(schema)
    harness.vacuum_analyze(*queue_bench.FILLED_TABLES)
    print(f"build: {time.perf_counter() - started:.1f} s")
    return office_ids


def run(url: URL, args: argparse.Namespace) -> None:
    """Build, then run the job in a thread while timing the queue here."""
    app = harness.bench_app(url)
    app.config.update(RETENTION_BATCH_SIZE=args.batch, RETENTION_MAX_ROWS_PER_RUN=ROWS_PER_RUN)
    with app.app_context():
        office_ids = build(args.applications)
        before = db.session.scalar(select(func.count()).select_from(Application)) or 0
        engagements = db.session.scalar(select(func.count()).select_from(Engagement)) or 0
        db.session.remove()
        office = office_ids[0]

        def page() -> object:
            return list_queue(office, QueueFilter(), 1, queue_bench.PAGE_SIZE)

        idle, _ = harness.timed_calls(page, 30, db.session.remove)
        clock = TransactionClock()
        event.listen(db.engine, "begin", clock.begin)
        event.listen(db.engine, "commit", clock.end)
        event.listen(db.engine, "rollback", clock.end)
        runs: list[int] = []

        def job() -> None:
            clock.thread = threading.get_ident()
            with app.app_context():
                while True:
                    deleted = sum(apply_retention(utcnow()).values())
                    runs.append(deleted)
                    if not deleted:
                        return

        worker = threading.Thread(target=job)
        started = time.perf_counter()
        worker.start()
        busy: list[float] = []
        while worker.is_alive():
            began = time.perf_counter()
            page()
            busy.append((time.perf_counter() - began) * 1000)
            db.session.remove()
            time.sleep(0.05)
        worker.join()
        seconds = time.perf_counter() - started
        after = db.session.scalar(select(func.count()).select_from(Application)) or 0
        engagements_after = db.session.scalar(select(func.count()).select_from(Engagement)) or 0
        db.session.remove()

    deleted = before - after
    longest = max(clock.durations) if clock.durations else 0.0
    share = deleted / max(before, 1)
    print(f"applications: {before} before, {after} after, {deleted} deleted ({share:.0%})")
    print(f"engagements deleted: {engagements - engagements_after}")
    print(
        f"job: {len(runs)} runs ({', '.join(map(str, runs))} rows), {seconds:.1f} s, "
        f"{deleted / seconds:,.0f} applications/s, batch {args.batch}"
    )
    print(
        f"transactions of the job: {len(clock.durations)}, longest {longest:.1f} ms, "
        f"median {statistics.median(clock.durations):.1f} ms (target: longest < 1000 ms)"
    )
    for label, samples in (("idle", idle), ("while the job runs", busy)):
        ordered = sorted(samples)
        p95 = harness.percentile(ordered, 0.95)
        print(
            f"queue page {label}: {len(ordered)} requests, median "
            f"{statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ordered[-1]:.1f} ms (target: < 50 ms)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.retention``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, default_database="ehrenamt_bench_retention"
    )


if __name__ == "__main__":
    sys.exit(main())
