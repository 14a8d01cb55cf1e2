"""Benchmark of the public directory, :func:`ehrenamt.partners.directory.search_directory`.

Creates a fresh PostgreSQL database with the migrations (so the trigram index of 0004 is
there), fills it with N approved partners with about two benefits each by set-based SQL,
times typical searches (text, category, place, distance, a deep page) through the real
service function and prints medians. Run it from the project root::

    python -m bench.directory --partners 10000

The database URL comes from ``EHRENAMT_BENCH_DATABASE_URL`` (default: a database
``ehrenamt_bench_directory`` on the local server). The database is dropped and created
again at the start, and dropped at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from bench import harness
from ehrenamt.extensions import db
from ehrenamt.models import Benefit, Category, Partner
from ehrenamt.partners import categories
from ehrenamt.partners.directory import (
    DirectoryQuery,
    place_centre,
    postcode_centre,
    search_directory,
)
from ehrenamt.partners.towns import find_town, town_index

DEFAULT_DATABASE = "ehrenamt_bench_directory"
PAGE_SIZE = 25

#: Words the generated benefit titles are made of; the text search looks for one of them.
WORDS = (
    "Eintritt",
    "Rabatt",
    "Kaffee",
    "Museum",
    "Schwimmbad",
    "Fahrrad",
    "Kino",
    "Theater",
    "Buch",
    "Friseur",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.directory", description="Time directory searches."
    )
    parser.add_argument("--partners", type=int, default=10_000, help="partners (default 10000)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per search (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.partners < 1 or args.runs < 1:
        parser.error("--partners and --runs must be at least 1")
    return args


def fill(count: int, office_id: int) -> None:
    """Approved partners spread over Saxony-Anhalt, two or three benefits each."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    db.session.execute(text("SELECT setseed(0.42)"))
    db.session.execute(
        text(
            f"""
            INSERT INTO partner (public_id, office_id, state, name, category_id, street,
                postcode, town, latitude, longitude, email, email_confirmed_at, created_at)
            SELECT 'p' || n, :office, 'approved',
                   ({words})[1 + n % 10] || ' Laden ' || n,
                   (SELECT id FROM category ORDER BY position OFFSET n % 10 LIMIT 1),
                   'Straße ' || n,
                   lpad((6000 + n % 900)::text, 5, '0'),
                   -- Letters, not digits, as in real town names: digits in the place
                   -- field are a postcode ("ort 17" would be "ort" in postcodes 17…).
                   'Ort ' || translate((n % 300)::text, '0123456789', 'abcdefghij'),
                   51.0 + random() * 2.0, 11.0 + random() * 2.0,
                   'p' || n || '@example.org', now(), now()
            FROM generate_series(1, :count) AS n
            """
        ),
        {"office": office_id, "count": count},
    )
    db.session.execute(
        text(
            f"""
            INSERT INTO benefit (public_id, partner_id, title, description, published,
                unpublished_by_staff, category_id, postcode, search_text, place_text,
                created_at, updated_at)
            SELECT 'b' || p.id || '-' || k, p.id,
                   ({words})[1 + (p.id + k) % 10] || ' ' || (5 + k * 5) || ' % günstiger',
                   'für Inhaber der Ehrenamtskarte', true, false, p.category_id,
                   p.postcode,
                   -- Folded as core.text.searchable_text folds it (umlauts spelt out; the
                   -- undotted copy it adds is left out: no search here looks for it).
                   lower(({words})[1 + (p.id + k) % 10] || ' ' || (5 + k * 5)
                         || ' guenstiger fuer inhaber der ehrenamtskarte '
                         || p.name || ' ' || p.town),
                   ' ' || lower(p.town),
                   now(), now()
            FROM partner p
            CROSS JOIN generate_series(1, 3) AS k
            WHERE k <= 2 OR p.id % 3 = 0
            """
        )
    )
    db.session.commit()
    harness.vacuum_analyze("partner", "benefit")


def time_search(criteria: DirectoryQuery, page: int, runs: int) -> tuple[float, float, int]:
    """Median and p95 in ms of ``runs`` searches, and the rows of the last."""
    samples, result = harness.timed_calls(
        lambda: search_directory(criteria, page, PAGE_SIZE), runs, db.session.rollback
    )
    samples.sort()
    return statistics.median(samples), harness.percentile(samples, 0.95), len(result.items)


#: Town names as visitors type them: found, found by a later word, found by a word's
#: start, ambiguous, unknown, and one letter (the widest prefix scan).
TOWN_NAMES = ("Dessau-Roßlau", "Rosslau", "Köth", "Neustadt", "Atlantis", "b")


def time_town_lookups(runs: int) -> None:
    """The town index's build (once per process) and lookups by name, in microseconds."""
    town_index.cache_clear()
    started = time.perf_counter()
    index = town_index()
    built = (time.perf_counter() - started) * 1000
    print(f"\n== town index: {len(index.towns)} towns, {len(index.keys)} keys, built in")
    print(f"   {built:.1f} ms (after the postcode table is loaded)")
    print(f"{'town lookup':<36}{'found':>6}{'median µs':>12}{'p95 µs':>10}")
    for name in TOWN_NAMES:
        samples, found = harness.timed_calls(
            functools.partial(find_town, name), runs * 10, lambda: None
        )
        samples.sort()
        median, p95 = statistics.median(samples) * 1000, harness.percentile(samples, 0.95) * 1000
        count = 1 if found.town else len(found.candidates)
        print(f"{name!r:<36}{count:>6}{median:>12.1f}{p95:>10.1f}")


def run(url: URL, args: argparse.Namespace) -> None:
    """Migrate, fill, time."""
    with harness.bench_app(url).app_context():
        from flask_migrate import upgrade

        from ehrenamt.offices.setup import create_office

        upgrade()
        categories.ensure_categories()
        office = create_office("Bench", "bench", "bench@example.org", "dessau_rosslau")
        db.session.commit()
        office_id: int = office.id
        started = time.perf_counter()
        fill(args.partners, office_id)
        print(f"== Database {url.database}: fill {time.perf_counter() - started:.1f} s")
        print(f"partners: {db.session.scalar(select(func.count()).select_from(Partner))}")
        print(f"benefits: {db.session.scalar(select(func.count()).select_from(Benefit))}")
        category_id = db.session.scalar(
            select(Category.id).where(Category.slug == "bildung-kultur-unterhaltung")
        )
        # What the view asks for the place "06844" with a radius of 10 km.
        centre = postcode_centre("06844")
        town = place_centre("Rosslau")
        assert centre is not None and town is not None
        scenarios = [
            ("first page, no filter", DirectoryQuery(), 1),
            ("text 'schwimm'", DirectoryQuery(text="schwimm"), 1),
            ("text 'laden 4711' (rare)", DirectoryQuery(text="laden 4711"), 1),
            ("category", DirectoryQuery(category_id=category_id), 1),
            ("place: postcode prefix '064'", DirectoryQuery(place="064"), 1),
            ("place: town 'ort bh'", DirectoryQuery(place="ort bh"), 1),
            ("place: postcode + town '064 ort bh'", DirectoryQuery(place="064 ort bh"), 1),
            (
                "distance from Dessau, 50 km",
                DirectoryQuery(latitude=51.83, longitude=12.24, radius_km=50),
                1,
            ),
            (
                "text + category + distance",
                DirectoryQuery(
                    text="kino",
                    category_id=category_id,
                    latitude=51.83,
                    longitude=12.24,
                    radius_km=50,
                ),
                1,
            ),
            (
                "around postcode 06844, 10 km",
                DirectoryQuery(latitude=centre.latitude, longitude=centre.longitude, radius_km=10),
                1,
            ),
            (
                "around town 'Rosslau', 10 km",
                DirectoryQuery(latitude=town.latitude, longitude=town.longitude, radius_km=10),
                1,
            ),
            ("page 100, no filter", DirectoryQuery(), 100),
        ]
        print(f"\n== search_directory(page_size={PAGE_SIZE}), {args.runs} timed runs each")
        print(f"{'search':<36}{'rows':>6}{'median ms':>12}{'p95 ms':>10}")
        for label, criteria, page in scenarios:
            median, p95, rows = time_search(criteria, page, args.runs)
            print(f"{label:<36}{rows:>6}{median:>12.2f}{p95:>10.2f}")
        time_town_lookups(args.runs)
        db.session.remove()
        db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.directory``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(lambda url: run(url, args), args.keep, DEFAULT_DATABASE)


if __name__ == "__main__":
    sys.exit(main())
