"""Benchmark of the audit log pages and their CSV export on PostgreSQL.

Fills a fresh database with several offices, their staff, N/20 applications (the fill
of :mod:`bench.queue`) and N audit rows over three years, then times through the app:

- the office admin's audit page (``/verwaltung/einstellungen/protokoll``): the first
  page, a deep page, each filter, a date range and a combined filter;
- the programme administrator's audit page over every office (``/programm/protokoll``):
  the first page, a deep page, one office, a rare action, a date range;
- the CSV export of about M rows (a date range chosen to hold them), streamed to the end,
  with the process's peak RSS before and after.

It prints median and p95 of each page against the target (200 ms), the export's time
against its target (100,000 rows in 10 s), and ``EXPLAIN (ANALYZE, BUFFERS)`` of the
pages slower than ``--explain-over`` ms. Run it from the project root::

    python -m bench.audit                                  # 50,000 rows, seconds
    python -m bench.audit --rows 2000000 --export 100000   # full size, minutes
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import re
import statistics as stats
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import URL

from bench import harness, queue
from bench.insight import IsolatedClient, peak_rss_mb, signed_in_admin
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, Office, User, UserRole

OFFICE_PAGE = "/verwaltung/einstellungen/protokoll"
PROGRAMME_PAGE = "/programm/protokoll"
#: Offices beyond the harness's two (a district has several towns).
MORE_OFFICES = ("Stadt Wittenberg", "Stadt Zerbst", "Stadt Coswig")
STAFF_PER_OFFICE = 8
#: The share of the rows up to each office (the first, a city, is the busiest).
OFFICE_SHARES = (0.35, 0.55, 0.72, 0.87)
#: The targets: a page, and an export of EXPORT_TARGET_ROWS rows.
PAGE_TARGET_MS = 200.0
EXPORT_TARGET_ROWS, EXPORT_TARGET_S = 100_000, 10.0
DAYS = 3 * 365
#: The extended statistics of migration 0019.
AUDIT_STATISTICS = (
    "CREATE STATISTICS st_audit_entry_office_actor (dependencies) "
    "ON office_id, actor_id FROM audit_entry"
)

_AUDIT_SQL = """
INSERT INTO audit_entry (at, actor_id, actor_role, actor_label, office_id, subject_type,
                         subject_id, action, from_state, to_state, reason)
SELECT at,
       CASE WHEN w < 0.55 THEN staff END,
       CASE WHEN w < 0.55 THEN CASE WHEN staff_idx = 0 THEN 'admin' ELSE 'clerk' END
            WHEN w < 0.85 THEN 'system' WHEN w < 0.95 THEN 'applicant' ELSE 'organisation' END,
       CASE WHEN w < 0.55 THEN 'staff' || staff || '@example.org'
            WHEN w < 0.85 THEN 'system' WHEN w < 0.95 THEN 'volunteer@example.org'
            ELSE 'Sportverein Roßlau' END,
       office,
       kind,
       CASE kind WHEN 'application' THEN 1 + floor(random() * :applications)::int
                 WHEN 'user' THEN staff WHEN 'office' THEN office
                 ELSE 1 + floor(random() * 1000)::int END,
       CASE kind
            WHEN 'application' THEN (ARRAY['submit', 'request_confirmations',
                 'organisation_confirmed', 'start_review', 'approve', 'reject'])
                 [1 + floor(s * 6)::int]
            WHEN 'card' THEN (ARRAY['create', 'issue', 'render', 'post', 'expire', 'revoke'])
                 [1 + floor(s * 6)::int]
            WHEN 'office' THEN 'export' WHEN 'partner' THEN 'approve'
            WHEN 'programme_rules' THEN 'update_rules'
            ELSE CASE WHEN s < 0.01 THEN 'erase_person' ELSE 'invite_staff' END END,
       CASE WHEN kind = 'application' THEN 'in_review' END,
       CASE WHEN kind = 'application' THEN 'approved' END,
       CASE WHEN random() < 0.2 THEN 'Begründung ' || n END
FROM (
    SELECT n, w, s, office, staff_idx,
           (CAST(:staff AS int[]))[office_idx * :per_office + staff_idx + 1] AS staff,
           -- Oldest first: the ids follow the time, as the app writes them.
           now() - (:rows - n) * (interval '1 day' * :days / :rows) AS at,
           CASE WHEN k < 0.02 THEN 'office' WHEN k < 0.03 THEN 'user'
                WHEN k < 0.035 THEN 'partner' WHEN k < 0.036 THEN 'programme_rules'
                WHEN k < 0.33 THEN 'card' ELSE 'application' END AS kind
    FROM (
        SELECT n, w, s, k, office_idx, (CAST(:offices AS int[]))[office_idx + 1] AS office,
               floor(random() * :per_office)::int AS staff_idx
        FROM (
            SELECT n, random() AS w, random() AS s, random() AS k,
                   (o > :share1)::int + (o > :share2)::int + (o > :share3)::int
                   + (o > :share4)::int AS office_idx
            FROM (SELECT n, random() AS o FROM generate_series(1, :rows) AS n) AS g
        ) AS a
    ) AS b
) AS c
"""


@dataclass(frozen=True)
class Scenario:
    """One timed page: who asks, and the query string."""

    label: str
    programme: bool
    args: dict[str, Any]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="audit rows (default 50,000)")
    parser.add_argument("--export", type=int, default=10_000, help="rows exported (10,000)")
    parser.add_argument("--runs", type=int, default=10, help="timed visits per page (10)")
    parser.add_argument("--deep-page", type=int, default=1000, help="deep page number (1000)")
    parser.add_argument("--explain-over", type=float, default=50.0, help="EXPLAIN above (ms)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def create_staff(office_ids: list[int]) -> list[int]:
    """:data:`STAFF_PER_OFFICE` staff of each office (the first an admin); their ids in
    office order."""
    staff = [
        User(
            email=f"staff{office_id}-{n}@example.org",
            role=UserRole.ADMIN if n == 0 else UserRole.CLERK,
            office_id=office_id,
            display_name=f"Staff {office_id}-{n}",
        )
        for office_id in office_ids
        for n in range(STAFF_PER_OFFICE)
    ]
    db.session.add_all(staff)
    db.session.commit()
    return [user.id for user in staff]


def fill(rows: int, office_ids: list[int]) -> None:
    """Offices, staff, applications and the audit rows, set-based; indexes built after."""
    programme_id = db.session.get(Office, office_ids[0]).programme_id  # type: ignore[union-attr]
    for name in MORE_OFFICES:
        slug = name.lower().replace(" ", "-")
        office = Office(
            programme_id=programme_id,
            name=name,
            slug=slug,
            contact_email=f"ehrenamt@{slug}.example.org",
            postcodes="06000",
        )
        db.session.add(office)
        db.session.flush()
        office_ids.append(office.id)
    schema = queue.drop_secondary_schema((*queue.FILLED_TABLES, "audit_entry"))
    applications = max(rows // 20, 100)
    # The volunteers take explicit ids; the staff come after them.
    queue.fill(applications, office_ids)
    staff = create_staff(office_ids)
    db.session.execute(text("SELECT setseed(:seed)"), {"seed": queue.SEED})
    shares = {f"share{n + 1}": share for n, share in enumerate(OFFICE_SHARES)}
    db.session.execute(
        text(_AUDIT_SQL),
        {
            "rows": rows,
            "days": DAYS,
            "offices": office_ids,
            "staff": staff,
            "per_office": STAFF_PER_OFFICE,
            "applications": applications,
            **shares,
        },
    )
    db.session.commit()
    queue.create_indexes(schema)
    # As migration 0019 does; db.create_all() cannot (the models do not declare it).
    db.session.execute(text(AUDIT_STATISTICS))
    db.session.commit()


def export_since(office_id: int, rows: int) -> date:
    """The first day of a date range ending today that holds about ``rows`` of the office's
    audit rows (the export's filter)."""
    newest = (
        select(AuditEntry.at)
        .where(AuditEntry.office_id == office_id)
        .order_by(AuditEntry.id.desc())
        .offset(rows)
        .limit(1)
    )
    at = db.session.scalar(newest)
    db.session.remove()
    return (at.date() + timedelta(days=1)) if at else date(2000, 1, 1)


def scenarios(office_id: int, staff_id: int, deep: int) -> list[Scenario]:
    """The pages timed: the office admin's, then the programme administrator's."""
    today = date.today()
    year_ago = today - timedelta(days=365)
    month = {"since": year_ago.isoformat(), "until": (year_ago + timedelta(days=30)).isoformat()}
    long_ago = today - timedelta(days=DAYS - 60)
    old = {"since": long_ago.isoformat(), "until": (long_ago + timedelta(days=30)).isoformat()}
    return [
        Scenario("office: first page", False, {}),
        Scenario(f"office: page {deep}", False, {"page": deep}),
        Scenario("office: actor (a clerk)", False, {"actor": staff_id}),
        Scenario("office: actor system", False, {"actor": "system"}),
        Scenario("office: action approve", False, {"action": "approve"}),
        Scenario("office: action erase_person", False, {"action": "erase_person"}),
        Scenario("office: kind partner", False, {"subject_type": "partner"}),
        Scenario("office: a month a year ago", False, month),
        Scenario("office: a month 2.8 years ago", False, old),
        Scenario(
            "office: clerk+approve+month",
            False,
            {"actor": staff_id, "action": "approve", "subject_type": "application", **month},
        ),
        Scenario("programme: first page", True, {}),
        Scenario(f"programme: page {deep}", True, {"page": deep}),
        Scenario("programme: one office", True, {"office": office_id}),
        Scenario("programme: action erase_person", True, {"action": "erase_person"}),
        Scenario("programme: a month a year ago", True, month),
        Scenario("programme: a month 2.8 years ago", True, old),
    ]


def page_url(scenario: Scenario) -> str:
    """The page's path with its query string."""
    path = PROGRAMME_PAGE if scenario.programme else OFFICE_PAGE
    return f"{path}?{urlencode(scenario.args)}" if scenario.args else path


def time_page(client: FlaskClient, url: str, runs: int) -> list[float]:
    """Milliseconds of ``runs`` requests after the warm-up, sorted."""
    samples, _ = harness.timed_calls(
        lambda: _get_ok(client, url), runs, lambda: None, warmup=min(harness.WARMUP_RUNS, runs)
    )
    return sorted(samples)


def _get_ok(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def explain(app: Flask, client: FlaskClient, url: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page's audit query, exactly as the app sends it."""
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        _get_ok(client, url)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    statement, params = next(
        (sql, params) for sql, params in captured if re.search(r"\bFROM audit_entry\b", sql)
    )
    plan = db.session.connection().exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
    )
    lines = [str(line) for line in plan.scalars()]
    db.session.remove()
    return lines


def timed_export(client: FlaskClient, query: dict[str, Any]) -> tuple[float, int, int, float]:
    """Seconds to stream the CSV to the end, its bytes and lines, the peak RSS after (MB)."""

    def download() -> tuple[int, int]:
        client.isolate = False  # type: ignore[attr-defined]
        response = client.get(f"{OFFICE_PAGE}.csv?{urlencode(query)}")
        client.isolate = True  # type: ignore[attr-defined]
        assert response.status_code == 200
        size = lines = 0
        for chunk in response.response:
            data = chunk if isinstance(chunk, bytes) else chunk.encode()
            size += len(data)
            lines += data.count(b"\n")
        response.close()
        return size, lines

    started = time.perf_counter()
    size, lines = contextvars.Context().run(download)
    return time.perf_counter() - started, size, lines - 1, peak_rss_mb()


def run(url: URL, args: argparse.Namespace) -> None:
    """Fill, then time the pages and the export, inside the application context."""
    app = harness.bench_app(url)
    app.config["SESSION_COOKIE_SECURE"] = False
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        office_ids = harness.create_offices()
        started = time.perf_counter()
        fill(args.rows, office_ids)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        harness.vacuum_analyze()
        print(f"== Database {url.database}: filled in {filled:.1f} s, "
              f"VACUUM ANALYZE {time.perf_counter() - started:.1f} s")  # fmt: skip
        office_id = office_ids[0]
        per_office = db.session.execute(
            select(AuditEntry.office_id, func.count()).group_by(AuditEntry.office_id)
        ).all()
        for office, count in sorted(per_office):
            print(f"audit rows of office {office}: {count:>9}")
        staff_id = db.session.scalar(
            select(User.id).where(User.office_id == office_id, User.role == UserRole.CLERK)
        )
        db.session.remove()

        # As the web processes do after start-up (ehrenamt/wsgi.py): the collector then
        # leaves the app's own objects alone while a long export makes many.
        gc.collect()
        gc.freeze()
        office_client = app.test_client()
        signed_in_admin(office_client, office_id)
        programme_client = app.test_client()
        signed_in_admin(programme_client, office_id, UserRole.PROGRAMME_ADMIN)
        print(f"\n== pages (target {PAGE_TARGET_MS:.0f} ms; {args.runs} timed visits each)")
        print(f"{'page':<34}{'median ms':>10}{'p95 ms':>9}{'× target':>10}")
        slow = []
        for scenario in scenarios(office_id, int(staff_id or 0), args.deep_page):
            client = programme_client if scenario.programme else office_client
            samples = time_page(client, page_url(scenario), args.runs)
            median = stats.median(samples)
            p95 = harness.percentile(samples, 0.95)
            print(f"{scenario.label:<34}{median:>10.1f}{p95:>9.1f}{median / PAGE_TARGET_MS:>10.2f}")
            if median > args.explain_over:
                slow.append(scenario)

        since = export_since(office_id, args.export)
        before = peak_rss_mb()
        seconds, size, lines, rss = timed_export(office_client, {"since": since.isoformat()})
        target = EXPORT_TARGET_S * lines / EXPORT_TARGET_ROWS
        print(
            f"\n== CSV export of office {office_id} since {since}: {lines} rows, "
            f"{size / 1e6:.1f} MB in {seconds:.1f} s ({lines / seconds:.0f} rows/s, "
            f"× target {seconds / target:.2f}); peak RSS {before:.0f} MB after the pages, "
            f"{rss:.0f} MB after the export"
        )
        for scenario in slow:
            client = programme_client if scenario.programme else office_client
            print(f"\n== EXPLAIN (ANALYZE, BUFFERS) {scenario.label}")
            print("\n".join(explain(app, client, page_url(scenario))))
        db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.audit``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, "ehrenamt_bench_audit"
    )


if __name__ == "__main__":
    sys.exit(main())
