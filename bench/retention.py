"""The retention job on PostgreSQL: deletion throughput, the longest transaction, and the
clerk's queue while it runs (issue #11).

Builds the applications of :mod:`bench.queue` (its set-based fill), then makes 40 % of
them rejected or withdrawn more than six months ago (due) and moves every other decision
into the last month (not due). The job then runs, as beat would run it again and again,
until a run deletes nothing, in a process of its own (spawned, as a Celery worker runs
beside the web processes: no shared GIL, its own connections); meanwhile this process asks
for the first page of the queue.

    python -m bench.retention                          # 20,000 applications
    python -m bench.retention --applications 1000000   # full size
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import statistics
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import URL, make_url

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
    parser.add_argument(
        "--pause-share",
        type=float,
        default=None,
        help="RETENTION_PAUSE_SHARE (default: the app's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--explain-slow",
        type=float,
        metavar="MS",
        help="print the plans (auto_explain: ANALYZE, BUFFERS, I/O timing) of the queue's "
        "statements slower than MS while the job runs",
    )
    return parser.parse_args(argv)


class TransactionClock:
    """Durations of one engine's transactions, from BEGIN to COMMIT or ROLLBACK."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    def begin(self, connection: Any) -> None:
        connection.info["bench_began"] = time.perf_counter()

    def end(self, connection: Any) -> None:
        began = connection.info.pop("bench_began", None)
        if began is not None:
            self.durations.append((time.perf_counter() - began) * 1000)


def queued_ms(pid: int | str) -> float:
    """How long the process has waited, runnable, for a CPU (Linux schedstat, field 2):
    its growth over a slow call tells a machine short of cores from a slow query."""
    try:
        with open(f"/proc/{pid}/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


class StatementClock:
    """Each statement's duration during the current timed call: a slow call shows whether
    the database or this process (CPU, imports) took the time."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []
        self.collecting = 0.0
        #: The database server process of the timed connection (its run-queue wait); 0
        #: before the first statement (no such process: nothing is counted).
        self.backend = 0

    def before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self.backend = conn.connection.dbapi_connection.info.backend_pid
        conn.info["bench_statement"] = time.perf_counter()

    def after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        began = conn.info.pop("bench_statement", None)
        if began is not None:
            head = " ".join(statement.split())[:60]
            self.statements.append((head, (time.perf_counter() - began) * 1000))

    def take(self) -> list[tuple[str, float]]:
        taken, self.statements = self.statements, []
        return taken

    def collector(self, phase: str, info: dict[str, int]) -> None:
        """A :data:`gc.callbacks` entry: the garbage collector's pauses, as statements."""
        if phase == "start":
            self.collecting = time.perf_counter()
        else:
            ms = (time.perf_counter() - self.collecting) * 1000
            self.statements.append((f"gc generation {info['generation']}", ms))


class SlowPlans:
    """The plans PostgreSQL's auto_explain writes for slow statements of the timing
    connection, sent to this client as notices instead of the server's log."""

    def __init__(self, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        self.plans: list[str] = []

    def connect(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("LOAD 'auto_explain'")
        for setting, value in (
            ("auto_explain.log_min_duration", f"{self.threshold_ms:g}ms"),
            ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_buffers", "on"),
            ("track_io_timing", "on"),
            ("client_min_messages", "log"),
        ):
            cursor.execute(f"SET {setting} = '{value}'")
        cursor.close()
        dbapi_connection.commit()
        dbapi_connection.add_notice_handler(self.notice)

    def notice(self, diagnostic: Any) -> None:
        if "duration:" in (diagnostic.message_primary or ""):
            self.plans.append(diagnostic.message_primary)


def run_job(url: str, batch: int, pause_share: float | None, results: Connection) -> None:
    """The job's process: its own app and engine, the job run until a run deletes nothing;
    sends when it was ready (after imports and app), the rows per run and the durations of
    its transactions back through ``results``.

    A module-level function, so a spawned process can import it. ``time.perf_counter``
    is CLOCK_MONOTONIC on Linux, the same clock in both processes."""
    app = harness.bench_app(make_url(url))
    ready = time.perf_counter()
    app.config.update(RETENTION_BATCH_SIZE=batch, RETENTION_MAX_ROWS_PER_RUN=ROWS_PER_RUN)
    if pause_share is not None:
        app.config["RETENTION_PAUSE_SHARE"] = pause_share
    clock = TransactionClock()
    runs: list[int] = []
    with app.app_context():
        event.listen(db.engine, "begin", clock.begin)
        event.listen(db.engine, "commit", clock.end)
        event.listen(db.engine, "rollback", clock.end)
        while True:
            deleted = sum(apply_retention(utcnow()).values())
            runs.append(deleted)
            if not deleted:
                break
        db.session.remove()
        db.engine.dispose()
    results.send((ready, runs, clock.durations))
    results.close()


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
    """Build, then run the job in its own process while timing the queue here."""
    app = harness.bench_app(url)
    app.config.update(RETENTION_BATCH_SIZE=args.batch, RETENTION_MAX_ROWS_PER_RUN=ROWS_PER_RUN)
    slow_plans = SlowPlans(args.explain_slow) if args.explain_slow else None
    with app.app_context():
        office_ids = build(args.applications)
        if slow_plans is not None:
            db.engine.dispose()
            event.listen(db.engine, "connect", slow_plans.connect)
        before = db.session.scalar(select(func.count()).select_from(Application)) or 0
        engagements = db.session.scalar(select(func.count()).select_from(Engagement)) or 0
        db.session.remove()
        office = office_ids[0]

        def page() -> object:
            return list_queue(office, QueueFilter(), 1, queue_bench.PAGE_SIZE)

        # What a web process does once after start-up (ehrenamt/wsgi.py): the objects of
        # the imports, the app and here the build move out of the collector's reach, so
        # a full collection no longer walks them all during a request (it took 60-90 ms
        # here and was the queue page's maximum while the job ran, not the job).
        gc.collect()
        gc.freeze()
        idle, _ = harness.timed_calls(page, 30, db.session.remove)
        # Spawn, not fork: a forked child would inherit this process's engine and
        # connections; a spawned one starts clean, as a worker does.
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        job = context.Process(
            target=run_job,
            args=(url.render_as_string(hide_password=False), args.batch, args.pause_share, sender),
            name="retention-job",
        )
        statements = StatementClock()
        event.listen(db.engine, "before_cursor_execute", statements.before)
        event.listen(db.engine, "after_cursor_execute", statements.after)
        gc.callbacks.append(statements.collector)
        load_before = harness.load_average()
        started = time.perf_counter()
        job.start()
        sender.close()
        busy: list[float] = []
        calls: list[tuple[float, float, list[tuple[str, float]]]] = []
        while not receiver.poll(0.05):
            if not job.is_alive():
                raise SystemExit(f"the job's process ended with {job.exitcode}")
            backend = statements.backend
            waited = queued_ms("self"), queued_ms(backend)
            began, cpu = time.perf_counter(), time.process_time()
            statements.take()
            page()
            busy.append((time.perf_counter() - began) * 1000)
            parts = [
                *statements.take(),
                ("cpu", (time.process_time() - cpu) * 1000),
                ("waiting for a core", queued_ms("self") - waited[0]),
                # Only for the same server process (the pool may hand out another).
                (
                    "server waiting for a core",
                    queued_ms(backend) - waited[1] if backend == statements.backend else 0.0,
                ),
            ]
            calls.append((began - started, busy[-1], parts))
            db.session.remove()
        ready, runs, durations = receiver.recv()
        load_after = harness.load_average()
        seconds = time.perf_counter() - started
        job.join()
        after = db.session.scalar(select(func.count()).select_from(Application)) or 0
        engagements_after = db.session.scalar(select(func.count()).select_from(Engagement)) or 0
        db.session.remove()

    deleted = before - after
    longest = max(durations) if durations else 0.0
    share = deleted / max(before, 1)
    print(f"applications: {before} before, {after} after, {deleted} deleted ({share:.0%})")
    print(f"engagements deleted: {engagements - engagements_after}")
    print(
        f"job: {len(runs)} runs ({', '.join(map(str, runs))} rows), {seconds:.1f} s, "
        f"{deleted / seconds:,.0f} applications/s, batch {args.batch}, pause share "
        f"{app.config['RETENTION_PAUSE_SHARE'] if args.pause_share is None else args.pause_share}"
    )
    print(
        f"transactions of the job: {len(durations)}, longest {longest:.1f} ms, "
        f"median {statistics.median(durations):.1f} ms (target: longest < 1000 ms)"
    )
    for plan in (slow_plans.plans if slow_plans else [])[:5]:
        print(plan)
    print(f"load average (1, 5, 15 min): {load_before} before the job, {load_after} after")
    print(f"the job's process was ready (imports, app) after {ready - started:.1f} s")
    for offset, took, parts in sorted(calls, key=lambda call: -call[1])[:3]:
        sql = ", ".join(f"{head[:30]}: {ms:.1f} ms" for head, ms in parts)
        print(f"  slow queue call at {offset:.1f} s: {took:.1f} ms ({sql})")
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
