"""Benchmark of the statistics page and the staff exports on PostgreSQL.

Fills a fresh database with N applications (the fill of :mod:`bench.queue`), M cards of
the first office's approved applications and checks by 30 of its partners, then times:

- the statistics' aggregates (:func:`ehrenamt.insight.statistics.compute`), cold;
- the statistics page through the app (signed-in admin): its first visit (computes and
  keeps the figures) and later visits (read the kept figures), median and p95;
- the CSV and XLSX exports of all the office's cards through the app, streamed to the
  end, with the process's peak RSS before and after.

Run it from the project root::

    python -m bench.insight                                         # small, seconds
    python -m bench.insight --applications 1000000 --cards 150000   # full size
"""

from __future__ import annotations

import argparse
import contextvars
import re
import resource
import secrets
import statistics as stats
import sys
import time
from collections.abc import Sequence
from typing import Any

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from bench import harness, queue
from ehrenamt.accounts import users
from ehrenamt.cards import validity
from ehrenamt.extensions import db
from ehrenamt.insight import statistics
from ehrenamt.models import Card, Category, Office, Partner, PartnerState, UserRole

PARTNERS = 30
#: Checks per card, spread over the last 90 days (records are kept that long).
CHECKS_PER_CARD = 0.5
#: The bench admin's password, in a database that lives for the run only.
PASSWORD = secrets.token_urlsafe(16)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: Paths of the app, asked over plain HTTP (the bench app drops the Secure cookie flag).
STATISTICS_PAGE = "/verwaltung/einstellungen/statistik"
CARDS_EXPORT = "/verwaltung/karten/export"
#: The programme administrator's read-only pages, across every office.
PROGRAMME_PAGES = ("/programm/uebersicht", "/programm/statistik", "/programm/protokoll")

_CARD_SQL = """
INSERT INTO card (public_id, number, application_id, office_id, holder_id, state, version,
                  card_type, holder_name, search_name, valid_from, valid_until, created_at,
                  issued_at, generation, rendered_generation)
SELECT md5('card-' || a.id), upper(substr(md5('number-' || a.id), 1, 12)), a.id, a.office_id,
       a.applicant_id,
       CASE WHEN a.valid_until IS NULL OR a.valid_until >= CURRENT_DATE THEN 'active'
            ELSE 'expired' END,
       1, a.card_type, a.first_name || ' ' || a.last_name, a.search_name,
       CAST(a.decided_at AS date), a.valid_until, a.decided_at, a.decided_at, 1, 1
FROM (
    SELECT id, office_id, applicant_id, card_type, first_name, last_name, search_name,
           decided_at,
           CASE WHEN card_type = 'long_service' THEN NULL
                ELSE CURRENT_DATE + (floor(random() * 830)::int - 100) END AS valid_until
    FROM application
    WHERE office_id = :office AND state = 'approved'
    ORDER BY id
    LIMIT :cards
) AS a
"""

_CHECK_SQL = """
INSERT INTO verification (at, partner_id, channel, result, card_id)
SELECT now() - random() * interval '90 days',
       (CAST(:partners AS int[]))[1 + floor(random() ^ 2 * :partner_count)::int],
       'page',
       CASE WHEN r < 0.9 THEN 'valid' WHEN r < 0.95 THEN 'expired' WHEN r < 0.97 THEN 'revoked'
            WHEN r < 0.99 THEN 'unknown' ELSE 'invalid' END,
       NULL
FROM (SELECT random() AS r FROM generate_series(1, :checks)) AS g
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=20_000, help="default 20,000")
    parser.add_argument("--cards", type=int, default=3_000, help="default 3,000")
    parser.add_argument("--runs", type=int, default=20, help="timed page visits (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def fill_cards_and_checks(office_id: int, cards: int) -> tuple[int, int]:
    """Cards of the office's approved applications, and checks by its partners."""
    category = Category(slug="bench", name="Bench", name_en="Bench", position=1)
    db.session.add(category)
    db.session.flush()
    partners = [
        Partner(
            public_id=f"bench-partner-{n}",
            office_id=office_id,
            state=PartnerState.APPROVED,
            name=f"Partner {n:02d}",
            category_id=category.id,
            street="Markt 1",
            postcode="06844",
            town="Dessau-Roßlau",
            email=f"partner{n}@example.org",
        )
        for n in range(PARTNERS)
    ]
    db.session.add_all(partners)
    db.session.flush()
    db.session.execute(text(_CARD_SQL), {"office": office_id, "cards": cards})
    made = db.session.scalar(select(func.count()).select_from(Card)) or 0
    checks = int(made * CHECKS_PER_CARD)
    db.session.execute(
        text(_CHECK_SQL),
        {"partners": [p.id for p in partners], "partner_count": PARTNERS, "checks": checks},
    )
    db.session.commit()
    return made, checks


def signed_in_admin(client: FlaskClient, office_id: int, role: UserRole = UserRole.ADMIN) -> None:
    """An admin of the office (or a programme admin working in it), signed in with
    password and TOTP like a browser."""
    secret = pyotp.random_base32()
    admin = users.create_user(
        f"{role.value}@example.org",
        role,
        password=PASSWORD,
        office=db.session.get(Office, office_id),
        display_name="Admin",
        totp_secret=secret,
        email_confirmed=True,
    )
    db.session.commit()
    for path, data in (
        ("/anmelden", {"email": admin.email, "password": PASSWORD}),
        ("/anmelden/zweiter-faktor", {"code": pyotp.TOTP(secret).now()}),
    ):
        match = CSRF.search(client.get(path).get_data(as_text=True))
        assert match, path
        response = client.post(path, data={"csrf_token": match.group(1), **data})
        assert response.status_code == 302, (path, response.get_data(as_text=True)[-3000:])


class IsolatedClient(FlaskClient):
    """Each request in an empty context, as in a real server (as tests/conftest.py does):
    the benchmark holds an application context, whose ``g`` and database session a
    request would otherwise share. ``isolate`` off: the caller gives the context (a
    streamed response must be read in the context that made it)."""

    isolate = True

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not self.isolate:
            return super().open(*args, **kwargs)
        return contextvars.Context().run(super().open, *args, **kwargs)


def peak_rss_mb() -> float:
    """This process's largest resident set so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_export(client: FlaskClient, kind: str) -> tuple[float, int, float, float]:
    """Seconds to stream the whole export, its bytes, peak RSS before and after (MB)."""

    def download() -> int:
        client.isolate = False  # type: ignore[attr-defined]
        response = client.get(f"{CARDS_EXPORT}.{kind}")
        client.isolate = True  # type: ignore[attr-defined]
        assert response.status_code == 200
        # Read chunk by chunk, as a server sends them, in the request's own context.
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        return size

    before = peak_rss_mb()
    started = time.perf_counter()
    size = contextvars.Context().run(download)
    seconds = time.perf_counter() - started
    return seconds, size, before, peak_rss_mb()


def run(url: URL, args: argparse.Namespace) -> None:
    """Fill, then time the statistics and the exports, inside the application context."""
    app = harness.bench_app(url)
    # The test client speaks plain HTTP, where a Secure session cookie is never sent back.
    app.config["SESSION_COOKIE_SECURE"] = False
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        office_ids = harness.create_offices()
        office_id = office_ids[0]
        started = time.perf_counter()
        schema = queue.drop_secondary_schema()
        queue.fill(args.applications, office_ids)
        queue.create_indexes(schema)
        cards, checks = fill_cards_and_checks(office_id, args.cards)
        harness.vacuum_analyze()
        print(f"== Database {url.database}: filled in {time.perf_counter() - started:.1f} s")
        for label, count in queue.counts(office_ids):
            print(f"{label + ':':<35}{count:>9}")
        print(f"{'cards (first office):':<35}{cards:>9}")
        print(f"{'checks (first office):':<35}{checks:>9}")

        samples = []
        for _ in range(3):
            started = time.perf_counter()
            figures = statistics.compute({office_id}, validity.today(), 30)
            samples.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        print("\n== statistics.compute (the aggregates, no snapshot), 3 runs")
        print(
            f"median {stats.median(samples):.0f} ms, runs " + ", ".join(f"{s:.0f}" for s in samples)
        )
        open_count = sum(figures.open_by_state.values())
        print(
            f"open {open_count}, decided {figures.decided}, median {figures.median_days} d, "
            f"p90 {figures.p90_days} d, active cards {sum(figures.active_cards.values())}"
        )

        client = app.test_client()
        signed_in_admin(client, office_id)
        db.session.execute(text("DELETE FROM statistics_snapshot"))
        db.session.commit()
        started = time.perf_counter()
        assert client.get(STATISTICS_PAGE).status_code == 200
        first = (time.perf_counter() - started) * 1000
        page_samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            assert client.get(STATISTICS_PAGE).status_code == 200
            page_samples.append((time.perf_counter() - started) * 1000)
        page_samples.sort()
        print(f"\n== statistics page (signed-in admin, {args.runs} visits after the first)")
        print(f"first visit (computes, keeps):  {first:8.0f} ms")
        print(
            f"later visits: median {stats.median(page_samples):.1f} ms, "
            f"p95 {harness.percentile(page_samples, 0.95):.1f} ms (target < 100 ms)"
        )

        time_programme_pages(app, office_id, args.runs)

        print(f"\n== exports of the first office's {cards} cards (streamed to the end)")
        for kind in ("csv", "xlsx"):
            seconds, size, before, after = timed_export(client, kind)
            print(
                f"{kind:>4}: {seconds:6.1f} s, {size / 1e6:6.1f} MB, {cards / seconds:8.0f} rows/s,"
                f" peak RSS {before:.0f} MB before, {after:.0f} MB after"
            )
        db.engine.dispose()


def time_programme_pages(app: Any, office_id: int, runs: int) -> None:
    """The programme administrator's pages over every office: the first visit and the
    later ones (the statistics across offices are kept like an office's)."""
    client = app.test_client()
    signed_in_admin(client, office_id, UserRole.PROGRAMME_ADMIN)
    print(f"\n== programme pages (every office; {runs} visits after the first)")
    for path in PROGRAMME_PAGES:
        started = time.perf_counter()
        assert client.get(path).status_code == 200, path
        first = (time.perf_counter() - started) * 1000
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            assert client.get(path).status_code == 200, path
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        print(
            f"{path:<22} first {first:8.0f} ms, later median {stats.median(samples):6.1f} ms, "
            f"p95 {harness.percentile(samples, 0.95):6.1f} ms"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.insight``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, "ehrenamt_bench_insight"
    )


if __name__ == "__main__":
    sys.exit(main())
