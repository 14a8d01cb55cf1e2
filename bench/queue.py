"""Benchmark of the clerk's queue, :func:`ehrenamt.applications.queries.list_queue`.

Creates a fresh PostgreSQL database, fills it with N applications by set-based SQL, times
four typical queue requests through the real service function and prints medians, p95s
and the query plans. Run it from the project root::

    python -m bench.queue --rows 20000

The database URL comes from ``EHRENAMT_BENCH_DATABASE_URL`` (default: a database
``ehrenamt_bench`` on the local server). The database is dropped and created again at the
start, and dropped at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKeyConstraint, UniqueConstraint, event, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.schema import (
    AddConstraint,
    CreateIndex,
    DropConstraint,
    DropIndex,
    ExecutableDDLElement,
)

from bench import harness
from bench.harness import OFFICES, WARMUP_RUNS
from ehrenamt.applications.queries import QueueFilter, list_queue
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    CardType,
    Engagement,
    Qualification,
    RejectionReason,
    User,
)
from ehrenamt.workflow import OPEN_STATES, ApplicationState

PAGE_SIZE = 25
#: Share of all applications that are open; they are spread over the open states below.
OPEN_SHARE = 0.15
#: Applications per volunteer, on average.
APPLICATIONS_PER_USER = 5
ORGANISATION_COUNT = 2000
#: Makes the random() calls of the fill repeat from run to run.
SEED = 0.42
FILLED_TABLES = ("user_account", "application", "engagement")

#: What the timed requests look for: part of common last names (Schmidt, Schmitt, Schmitz,
#: Schmid) and the beginning of an organisation name.
NAME_SEARCH = "schmi"
ORGANISATION_PREFIX = "sportverein roß"

FIRST_NAMES = (
    "Anna", "Lena", "Marie", "Sophie", "Laura", "Julia", "Katharina", "Sarah", "Lisa", "Hannah",
    "Sabine", "Petra", "Monika", "Claudia", "Andrea", "Birgit", "Ute", "Heike", "Karin", "Ingrid",
    "Lukas", "Leon", "Paul", "Jonas", "Felix", "Maximilian", "Tim", "Jan", "Niklas", "Tobias",
    "Thomas", "Michael", "Andreas", "Stefan", "Frank", "Uwe", "Jürgen", "Klaus", "Peter", "Horst",
)  # fmt: skip
#: Roughly in order of frequency; the fill draws early entries more often.
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke",
    "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin",
    "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel",
    "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn",
    "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold",
    "Wolff", "Pfeiffer",
)  # fmt: skip
STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Kirchstraße",
    "Lindenstraße", "Friedensstraße", "Askanische Straße", "Kavalierstraße", "Elbstraße",
)  # fmt: skip
ACTIVITIES = (
    "Übungsleitung", "Vorstandsarbeit", "Einsatzdienst", "Ausgabe von Lebensmitteln",
    "Besuchsdienst", "Hausaufgabenhilfe", "Chorleitung", "Jugendarbeit", "Kassenführung",
    "Tierpflege",
)  # fmt: skip
#: Twenty kinds times twenty-five places times four numbered variants: 2,000 names.
ORGANISATION_KINDS = (
    "Sportverein", "Freiwillige Feuerwehr", "Tafel", "Evangelische Kirchengemeinde",
    "Katholische Kirchengemeinde", "Förderverein Grundschule", "Heimatverein",
    "DRK Ortsverein", "Tierschutzverein", "Musikverein", "Jugendclub", "Seniorentreff",
    "Kleingartenverein", "Schützenverein", "Gemischter Chor", "Bürgerverein", "Angelverein",
    "Hospizverein", "Elternverein Kita", "Theaterverein",
)  # fmt: skip
PLACES = (
    "Roßlau", "Mildensee", "Ziebigk", "Waldersee", "Kochstedt", "Alten", "Törten", "Mosigkau",
    "Kühnau", "Großkühnau", "Rodleben", "Meinsdorf", "Brambach", "Mühlstedt", "Sollnitz",
    "Kleutsch", "Haideburg", "Zoberberg", "Coswig", "Zahna", "Kemberg", "Gräfenhainichen",
    "Oranienbaum", "Jessen", "Pratau",
)  # fmt: skip
#: The towns of the offices' postcodes.
TOWNS = {
    "06842": "Dessau-Roßlau", "06844": "Dessau-Roßlau", "06846": "Dessau-Roßlau",
    "06847": "Dessau-Roßlau", "06849": "Dessau-Roßlau", "06886": "Lutherstadt Wittenberg",
    "06888": "Lutherstadt Wittenberg", "06889": "Lutherstadt Wittenberg", "06895": "Zahna-Elster",
    "06901": "Kemberg",
}  # fmt: skip

_PERSON_SQL = """
CREATE TEMP TABLE bench_person ON COMMIT DROP AS
SELECT p.idx,
       (CAST(:first AS text[]))[p.fi] AS first_name,
       (CAST(:last AS text[]))[p.li] AS last_name,
       (CAST(:first_lower AS text[]))[p.fi] || ' ' || (CAST(:last_lower AS text[]))[p.li]
           AS search_name,
       DATE '1950-01-01' + floor(p.r_birth * 365 * 58)::int AS birth_date,
       (CAST(:streets AS text[]))[1 + floor(p.r_street * :street_count)::int]
           || ' ' || (1 + floor(p.r_house * 120)::int) AS street,
       (CAST(:postcodes AS text[]))[p.pi] AS postcode,
       (CAST(:towns AS text[]))[p.pi] AS town,
       CASE WHEN p.r_phone < 0.5 THEN '0340 ' || (100000 + floor(p.r_phone * 1799998)::int) END
           AS phone,
       now() - interval '3 years 3 months' + p.r_created * interval '1 month' AS created_at
FROM (
    SELECT g AS idx,
           1 + floor(random() * :first_count)::int AS fi,
           -- Squaring skews towards the first, most common, last names.
           1 + floor(random() ^ 2 * :last_count)::int AS li,
           1 + floor(random() * :postcode_count)::int AS pi,
           random() AS r_birth, random() AS r_street, random() AS r_house,
           random() AS r_phone, random() AS r_created
    FROM generate_series(1, :users) AS g
) AS p
"""

_ORGANISATION_SQL = """
CREATE TEMP TABLE bench_organisation ON COMMIT DROP AS
SELECT o.idx, o.name, o.key,
       CASE WHEN o.idx % 3 > 0
            THEN (CAST(:postcodes AS text[]))[1 + o.idx % cardinality(CAST(:postcodes AS text[]))]
       END AS postcode,
       'Vorstand ' || (CAST(:last AS text[]))[1 + o.idx % cardinality(CAST(:last AS text[]))]
           AS contact_name,
       'vorstand@verein-' || o.idx || '.example.org' AS contact_email
FROM unnest(CAST(:names AS text[]), CAST(:keys AS text[])) WITH ORDINALITY AS o(name, key, idx)
"""

_USER_SQL = """
INSERT INTO user_account (id, email, password_hash, role, office_id, display_name,
                          totp_secret, totp_last_step, email_confirmed_at, session_version,
                          active, language, created_at)
SELECT idx, 'volunteer' || idx || '@example.org', NULL, 'volunteer', NULL,
       first_name || ' ' || last_name, NULL, NULL, created_at + interval '1 hour', 1,
       true, 'de', created_at
FROM bench_person
"""

# Application g belongs to volunteer (g - 1) % users + 1 in "round" (g - 1) / users. Only
# rounds 0 and 1 may be open, and they go to different offices (office = (volunteer +
# round) % 2), so nobody has two open applications at one office:
# uq_application_one_open_per_applicant holds.
_APPLICATION_SQL = """
INSERT INTO application (id, public_id, submission_key, office_id, applicant_id, state, version,
                         card_type, first_name, last_name, search_name, birth_date, street,
                         postcode, town, phone, qualification, honour, consent_version,
                         consent_at, submitted_at, state_changed_at, decided_at,
                         rejection_reason, rejection_text, information_request,
                         information_answer)
SELECT s.id,
       md5('application-' || s.id),
       encode(sha256(convert_to('submission-' || s.id, 'UTF8')), 'hex'),
       CASE WHEN (s.user_idx + s.round) % 2 = 0 THEN :office_a ELSE :office_b END,
       s.user_idx + 1,
       s.state, 1,
       CASE WHEN s.r_card < 0.08 THEN :long_service ELSE :standard END,
       p.first_name, p.last_name, p.search_name, p.birth_date, p.street, p.postcode, p.town,
       p.phone,
       CASE WHEN s.r_card BETWEEN 0.08 AND 0.13
            THEN (CAST(:qualifications AS text[]))[1 + floor(s.r_extra * :qualification_count)::int]
       END,
       CASE WHEN s.r_card < 0.02 THEN 'Ehrennadel des Landes Sachsen-Anhalt' END,
       '2026-01', s.submitted_at, s.submitted_at, s.state_changed_at,
       CASE WHEN s.state IN ('approved', 'rejected', 'withdrawn') THEN s.state_changed_at END,
       CASE WHEN s.state = 'rejected'
            THEN (CAST(:reasons AS text[]))[1 + floor(s.r_extra * :reason_count)::int]
       END,
       CASE WHEN s.state = 'rejected' THEN 'Die Voraussetzungen sind nicht erfüllt.' END,
       CASE WHEN s.state = 'needs_information' OR (s.state = 'in_review' AND s.r_extra < 0.2)
            THEN 'Bitte reichen Sie einen Nachweis über die Stunden nach.'
       END,
       CASE WHEN s.state = 'in_review' AND s.r_extra < 0.2
            THEN 'Der Nachweis liegt jetzt bei.'
       END
FROM (
    SELECT r.id, r.user_idx, r.round, r.state, r.r_card, r.r_extra, r.state_changed_at,
           r.state_changed_at - r.r_wait * interval '60 days' AS submitted_at
    FROM (
        SELECT q.*,
               CASE
                   WHEN q.is_open AND q.r_kind < 0.15 THEN 'submitted'
                   WHEN q.is_open AND q.r_kind < 0.50 THEN 'awaiting_confirmation'
                   WHEN q.is_open AND q.r_kind < 0.85 THEN 'in_review'
                   WHEN q.is_open THEN 'needs_information'
                   WHEN q.r_kind < 0.75 THEN 'approved'
                   WHEN q.r_kind < 0.93 THEN 'rejected'
                   ELSE 'withdrawn'
               END AS state,
               -- Open applications waited up to half a year; decided ones spread over
               -- three years.
               now() - q.r_time * CASE WHEN q.is_open THEN interval '180 days'
                                       ELSE interval '3 years' END AS state_changed_at
        FROM (
            SELECT g AS id, (g - 1) % :users AS user_idx, (g - 1) / :users AS round,
                   (g - 1) / :users < 2 AND random() < :open_chance AS is_open,
                   random() AS r_kind, random() AS r_time, random() AS r_wait,
                   random() AS r_card, random() AS r_extra
            FROM generate_series(1, :rows) AS g
        ) AS q
    ) AS r
) AS s
JOIN bench_person AS p ON p.idx = s.user_idx + 1
"""

_ENGAGEMENT_SQL = """
INSERT INTO engagement (application_id, organisation_name, organisation_key,
                        organisation_postcode, contact_name, contact_email, activity,
                        hours_per_week, hours_per_year, engaged_since, allowance_euros_per_year,
                        confirmation_state, token_hash, token_expires_at, request_sent_at,
                        reminder_count, confirmed_hours_per_week, confirmed_hours_per_year,
                        answer_comment, answered_at)
SELECT e.application_id, o.name, o.key, o.postcode, o.contact_name, o.contact_email,
       (CAST(:activities AS text[]))[1 + floor(e.r_activity * :activity_count)::int],
       e.hours_per_week, e.hours_per_year,
       e.submitted_at::date - (365 + floor(e.r_since * 365 * 15)::int),
       CASE WHEN e.r_allowance < 0.8 THEN 0 ELSE floor(e.r_allowance * 1500)::int END,
       e.confirmation_state,
       CASE WHEN e.confirmation_state = 'pending'
            THEN encode(sha256(convert_to('token-' || e.application_id || '-' || e.n, 'UTF8')),
                        'hex')
       END,
       CASE WHEN e.confirmation_state = 'pending'
            THEN e.submitted_at + interval '1 hour 30 days'
       END,
       CASE WHEN e.confirmation_state <> 'not_sent' THEN e.submitted_at + interval '1 hour' END,
       CASE WHEN e.confirmation_state = 'pending' THEN floor(e.r_since * 3)::int ELSE 0 END,
       CASE WHEN e.answered THEN e.hours_per_week END,
       CASE WHEN e.answered THEN e.hours_per_year END,
       CASE WHEN e.confirmation_state = 'overridden' THEN 'Telefonisch bestätigt.' END,
       CASE WHEN e.answered THEN e.state_changed_at END
FROM (
    SELECT c.*,
           c.confirmation_state IN ('confirmed', 'declined', 'overridden') AS answered
    FROM (
        SELECT b.*,
               CASE
                   WHEN b.state = 'submitted' THEN 'not_sent'
                   WHEN b.state IN ('awaiting_confirmation', 'withdrawn') AND b.r_answer < 0.6
                       THEN 'pending'
                   WHEN b.state = 'rejected' AND b.r_answer < 0.3 THEN 'declined'
                   WHEN b.r_answer > 0.9 THEN 'overridden'
                   ELSE 'confirmed'
               END AS confirmation_state,
               CASE WHEN b.r_hours < 0.6 THEN round((2 + b.r_hours * 15)::numeric, 1) END
                   AS hours_per_week,
               CASE WHEN b.r_hours >= 0.6 THEN 50 + floor((b.r_hours - 0.6) * 1000)::int END
                   AS hours_per_year
        FROM (
            SELECT a.id AS application_id, a.state, a.submitted_at, a.state_changed_at, n.n,
                   -- Squaring makes some organisations much busier than others.
                   1 + floor(random() ^ 2 * :organisation_count)::int AS organisation_idx,
                   random() AS r_activity, random() AS r_since, random() AS r_allowance,
                   random() AS r_answer, random() AS r_hours
            FROM application AS a
            -- Two engagements for two applications in five, one for the others.
            CROSS JOIN LATERAL generate_series(1, 1 + (a.id % 5 < 2)::int) AS n(n)
        ) AS b
    ) AS c
) AS e
JOIN bench_organisation AS o ON o.idx = e.organisation_idx
"""


@dataclass(frozen=True)
class Scenario:
    """One timed request of the clerk's queue."""

    label: str
    filters: QueueFilter
    page: int


@dataclass(frozen=True)
class Timing:
    """How one scenario performed."""

    scenario: Scenario
    rows: int
    median_ms: float
    p95_ms: float


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.queue", description="Time the clerk's queue on a filled database."
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="applications to create (default 1000000)"
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query (default 20)")
    parser.add_argument(
        "--deep-page", type=int, default=200, help="page number of the deep-page query"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.rows < APPLICATIONS_PER_USER or args.runs < 1 or args.deep_page < 1:
        parser.error(f"--rows must be at least {APPLICATIONS_PER_USER}; --runs, --deep-page >= 1")
    return args


def _organisation_names() -> list[str]:
    """The 2,000 organisation names, in the order the fill numbers them."""
    names = []
    for idx in range(ORGANISATION_COUNT):
        kind = ORGANISATION_KINDS[idx % len(ORGANISATION_KINDS)]
        place = PLACES[idx // len(ORGANISATION_KINDS) % len(PLACES)]
        variant = idx // (len(ORGANISATION_KINDS) * len(PLACES))
        names.append(f"{kind} {place}" + (f" {variant + 1}" if variant else "") + " e.V.")
    return names


def fill(rows: int, office_ids: list[int]) -> None:
    """Insert volunteers, applications and engagements, set-based, and commit.

    Lower-case names are computed here with :meth:`str.lower`, as the service does, and
    handed to the database as arrays, so the database's locale cannot make them differ.
    """
    users = rows // APPLICATIONS_PER_USER
    postcodes = [code for _, _, codes in OFFICES for code in codes]
    organisations = _organisation_names()
    execute = db.session.execute
    # Room for the sorts of the joins with the temporary tables.
    execute(text("SET LOCAL work_mem = '256MB'"))
    execute(text("SELECT setseed(:seed)"), {"seed": SEED})
    execute(
        text(_PERSON_SQL),
        {
            "first": list(FIRST_NAMES),
            "first_lower": [name.lower() for name in FIRST_NAMES],
            "first_count": len(FIRST_NAMES),
            "last": list(LAST_NAMES),
            "last_lower": [name.lower() for name in LAST_NAMES],
            "last_count": len(LAST_NAMES),
            "streets": list(STREETS),
            "street_count": len(STREETS),
            "postcodes": postcodes,
            "towns": [TOWNS[code] for code in postcodes],
            "postcode_count": len(postcodes),
            "users": users,
        },
    )
    execute(
        text(_ORGANISATION_SQL),
        {
            "names": organisations,
            "keys": [name.strip().lower() for name in organisations],
            "postcodes": postcodes,
            "last": list(LAST_NAMES),
        },
    )
    execute(text(_USER_SQL))
    reasons = [reason.value for reason in RejectionReason]
    qualifications = [qualification.value for qualification in Qualification]
    execute(
        text(_APPLICATION_SQL),
        {
            "rows": rows,
            "users": users,
            # Rounds 0 and 1 hold 2 * users of the rows; open ones come only from them.
            "open_chance": min(1.0, OPEN_SHARE * rows / (2 * users)),
            "office_a": office_ids[0],
            "office_b": office_ids[1],
            "standard": CardType.STANDARD.value,
            "long_service": CardType.LONG_SERVICE.value,
            "qualifications": qualifications,
            "qualification_count": len(qualifications),
            "reasons": reasons,
            "reason_count": len(reasons),
        },
    )
    execute(
        text(_ENGAGEMENT_SQL),
        {
            "activities": list(ACTIVITIES),
            "activity_count": len(ACTIVITIES),
            "organisation_count": ORGANISATION_COUNT,
        },
    )
    # Ids were given explicitly; later inserts by the application must not collide.
    for table in ("user_account", "application"):
        execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
    db.session.commit()


def drop_secondary_schema(
    table_names: Sequence[str] = FILLED_TABLES,
) -> list[ExecutableDDLElement]:
    """Drop the filled tables' indexes, unique and foreign keys; return the DDL to re-add them.

    Building an index once over the filled table is much faster than maintaining it row
    by row, and checking a foreign key once is faster than a trigger per row. The DDL
    comes from the models' metadata, so afterwards the schema is what
    ``db.create_all()`` made, and re-adding the constraints checks the generated data
    (among others ``uq_application_one_open_per_applicant``). Primary keys stay.
    """
    tables = [db.metadata.tables[name] for name in table_names]
    foreign_keys: list[ForeignKeyConstraint] = []
    uniques: list[UniqueConstraint] = []
    for table in tables:
        for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
            if isinstance(constraint, ForeignKeyConstraint):
                foreign_keys.append(constraint)
            elif isinstance(constraint, UniqueConstraint):
                uniques.append(constraint)
    indexes = [index for table in tables for index in table.indexes]
    connection = db.session.connection()
    for constraint in [*foreign_keys, *uniques]:
        connection.execute(DropConstraint(constraint))
    for index in indexes:
        connection.execute(DropIndex(index))
    return [
        *map(AddConstraint, uniques),
        *map(CreateIndex, indexes),
        *map(AddConstraint, foreign_keys),
    ]


def create_indexes(model_schema: list[ExecutableDDLElement]) -> None:
    """Re-add the models' indexes and constraints, and add the trigram index.

    The trigram index serves the clerk's name search. The migration creates the same;
    ``db.create_all()`` does not, the models do not declare it.
    """
    connection = db.session.connection()
    connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for element in model_schema:
        connection.execute(element)
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    connection.execute(
        text(
            "CREATE INDEX ix_application_search_name_trgm ON application "
            "USING gin (search_name gin_trgm_ops)"
        )
    )
    db.session.commit()


def counts(office_ids: list[int]) -> list[tuple[str, int]]:
    """Row counts worth printing: totals and per office."""
    scalar = db.session.scalar
    result = [
        ("volunteers", scalar(select(func.count()).select_from(User)) or 0),
        ("applications", scalar(select(func.count()).select_from(Application)) or 0),
        ("engagements", scalar(select(func.count()).select_from(Engagement)) or 0),
        (
            "distinct organisations",
            scalar(select(func.count(func.distinct(Engagement.organisation_key)))) or 0,
        ),
    ]
    for office_id in office_ids:
        of_office = select(func.count()).where(Application.office_id == office_id)
        result += [
            (f"office {office_id}: applications", scalar(of_office) or 0),
            (
                f"office {office_id}: open",
                scalar(of_office.where(Application.state.in_(OPEN_STATES))) or 0,
            ),
            (
                f"office {office_id}: in_review",
                scalar(of_office.where(Application.state == ApplicationState.IN_REVIEW)) or 0,
            ),
        ]
    db.session.remove()
    return result


def time_scenario(office_id: int, scenario: Scenario, runs: int) -> Timing:
    """Call the service like a request would (a fresh session each time) and time it."""
    samples, page = harness.timed_calls(
        lambda: list_queue(office_id, scenario.filters, scenario.page, PAGE_SIZE),
        runs,
        db.session.remove,
    )
    rows = len(page.items)
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1] if runs > 1 else samples[0]
    return Timing(scenario, rows, statistics.median(samples), p95)


def explain(office_id: int, scenario: Scenario) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL the service sends for the page itself.

    The statement and its parameters are captured as they go to the driver, so the plan
    is of exactly that query (the engagements' selectin load follows and is not shown).
    """
    captured: list[tuple[str, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        list_queue(office_id, scenario.filters, scenario.page, PAGE_SIZE)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        db.session.remove()
    statement, parameters = next(
        (sql, params) for sql, params in captured if re.search(r"\bFROM application\b", sql)
    )
    plan = db.session.connection().exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
    )
    lines = [str(line) for line in plan.scalars()]
    db.session.remove()
    return lines


def indexes_used(plan: list[str]) -> list[str]:
    """Index names (and sequentially scanned tables) that a plan mentions."""
    found = []
    for line in plan:
        found += re.findall(r"Index(?: Only)? Scan(?: Backward)? (?:using|on) (\w+)", line)
        found += [f"seq scan {table}" for table in re.findall(r"Seq Scan on (\w+)", line)]
    return list(dict.fromkeys(found))


def print_table(timings: list[Timing]) -> None:
    """The summary: rows, median, p95 and the median relative to the first page."""
    base = timings[0].median_ms
    width = max(len(timing.scenario.label) for timing in timings)
    print(f"{'query':<{width}}  {'rows':>4}  {'median ms':>9}  {'p95 ms':>8}  {'× first page':>12}")
    for timing in timings:
        print(
            f"{timing.scenario.label:<{width}}  {timing.rows:>4}  {timing.median_ms:>9.2f}"
            f"  {timing.p95_ms:>8.2f}  {timing.median_ms / base:>12.3f}"
        )


def run(url: URL, args: argparse.Namespace) -> None:
    """Build, fill, time and explain, inside the application context."""
    with harness.bench_app(url).app_context():
        db.create_all()
        office_ids = harness.create_offices()

        started = time.perf_counter()
        model_schema = drop_secondary_schema()
        fill(args.rows, office_ids)
        fill_seconds = time.perf_counter() - started
        started = time.perf_counter()
        create_indexes(model_schema)
        index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        harness.vacuum_analyze(*FILLED_TABLES)
        vacuum_seconds = time.perf_counter() - started

        print(f"== Database {url.database}, {args.rows} applications requested")
        print(f"fill (set-based INSERT … SELECT):  {fill_seconds:8.1f} s")
        print(f"indexes, constraints, trigram:     {index_seconds:8.1f} s")
        print(f"VACUUM ANALYZE:                    {vacuum_seconds:8.1f} s")
        for label, count in counts(office_ids):
            print(f"{label + ':':<35}{count:>9}")

        office_id = office_ids[0]
        scenarios = [
            Scenario("a) first page, all open", QueueFilter(), 1),
            Scenario(
                f"b) in_review + name '{NAME_SEARCH}'",
                QueueFilter(state=ApplicationState.IN_REVIEW, name=NAME_SEARCH),
                1,
            ),
            Scenario(
                f"c) organisation '{ORGANISATION_PREFIX}…'",
                QueueFilter(organisation=ORGANISATION_PREFIX),
                1,
            ),
            Scenario(f"d) page {args.deep_page}, all open", QueueFilter(), args.deep_page),
        ]
        print(
            f"\n== list_queue(office {office_id}, …, page_size={PAGE_SIZE}): "
            f"{WARMUP_RUNS} warm-up + {args.runs} timed runs each"
        )
        timings = []
        for scenario in scenarios:
            timing = time_scenario(office_id, scenario, args.runs)
            timings.append(timing)
            print(
                f"{scenario.label}: {timing.rows} rows, median {timing.median_ms:.2f} ms, "
                f"p95 {timing.p95_ms:.2f} ms"
            )

        for scenario in scenarios:
            plan = explain(office_id, scenario)
            print(f"\n== EXPLAIN (ANALYZE, BUFFERS) {scenario.label}")
            print("indexes: " + (", ".join(indexes_used(plan)) or "none"))
            print("\n".join(plan))

        print("\n== Summary")
        print_table(timings)
        db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.queue``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(lambda url: run(url, args), args.keep)


if __name__ == "__main__":
    sys.exit(main())
