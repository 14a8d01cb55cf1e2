"""Benchmark of card issuing: the worker pipeline against a plain loop in one process.

Creates a fresh PostgreSQL database with 2 N approved applications whose cards wait in
state *issuing*, each with its ``ehrenamt.issue_card`` message in the outbox, as an
approval leaves them. Half of the cards are made by a plain loop calling
:func:`ehrenamt.cards.production.produce` in this process; the other half go the way
production takes: the outbox hands them to a private Redis, and Celery worker processes
sign, render, store and mail them. Prints cards per second of both, and the pipeline's
rate against the loop's times the number of worker processes. Run it from the project
root::

    python -m bench.issuing --cards 1000

The server comes from ``EHRENAMT_BENCH_DATABASE_URL`` (as for ``bench.queue``); the
database is ``ehrenamt_bench_issuing`` unless ``--database`` names another. It is dropped
and created again at the start, and dropped at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from bench import harness
from bench.harness import CeleryWorker, CpuMeter, RedisServer
from ehrenamt import create_app
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cards import lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.core import mail, outbox
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardState,
    CardType,
    Office,
    OutboxMessage,
    User,
    utcnow,
)
from ehrenamt.workflow import Actor

DEFAULT_DATABASE = "ehrenamt_bench_issuing"

#: The issue's targets: the pipeline reaches this share of the loop's rate times the
#: worker processes, and makes this many cards within the hour on this machine.
TARGET_RATIO = 0.8
TARGET_CARDS = 100_000
TARGET_SECONDS = 3600

#: Celery queues on the private Redis: the workers consume the first. The loop's mails
#: go to the second, which nobody consumes, so they cannot reach the pipeline's workers.
PIPELINE_QUEUE = "bench-issuing"
LOOP_QUEUE = "bench-issuing-loop"
BASE_URL = "https://ehrenamtskarte.example.org"
#: Applications, users and cards created per transaction in the setup.
SETUP_BATCH = 500
POLL_SECONDS = 0.1
#: The pipeline is given up when no card or mail got done for this long.
STALL_SECONDS = 120.0

#: Names as they come: long ones wrap on the card, others need glyphs beyond Latin-1.
NAMES = (
    ("Erika", "Mustermann"),
    ("Łukasz", "Śliwiński"),
    ("Zoë", "Ağaoğlu"),
    ("Maximiliane-Charlotte", "Müller-Lüdenscheid"),
    ("Søren", "Ørsted"),
    ("Nguyễn Thị Minh", "Khai"),
    ("Hans", "Meier"),
)
#: One card in this many is a long-service card (valid without end); one holder in
#: this many reads English.
LONG_SERVICE_EVERY = 5
ENGLISH_EVERY = 10

# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardSet:
    """Cards waiting to be made, and their ``issue_card`` outbox messages, in id order."""

    card_ids: list[int]
    message_ids: list[int]


def create_applications(count: int, office_ids: list[int], start: int) -> list[Application]:
    """``count`` approved applications of as many volunteers, added and flushed."""
    now = utcnow()
    users = [
        harness.volunteer(number, now, "en" if number % ENGLISH_EVERY == 0 else "de")
        for number in range(start, start + count)
    ]
    db.session.add_all(users)
    db.session.flush()
    applications = []
    for index, user in enumerate(users):
        number = start + index
        application = harness.approved_application(
            user.id,
            office_ids[number % len(office_ids)],
            NAMES[number % len(NAMES)],
            date(1960, 1, 1) + timedelta(days=number % 15000),
            CardType.LONG_SERVICE if number % LONG_SERVICE_EVERY == 0 else CardType.STANDARD,
            now,
        )
        applications.append(application)
    db.session.add_all(applications)
    db.session.flush()
    return applications


def create_cards(total: int, office_ids: list[int]) -> None:
    """Approved applications with their cards in state *issuing*, as approval leaves them.

    The cards come from :func:`lifecycle.create_for_approval`, so each has its audit row and
    its ``issue_card`` message in the outbox. The messages are committed without being
    dispatched: the phases hand them over themselves.
    """
    clerks = [harness.clerk(office_id) for office_id in office_ids]
    db.session.add_all(clerks)
    db.session.commit()
    clerk_ids = {clerk.office_id: clerk.id for clerk in clerks}
    for start in range(0, total, SETUP_BATCH):
        for application in create_applications(min(SETUP_BATCH, total - start), office_ids, start):
            clerk = db.session.get_one(User, clerk_ids[application.office_id])
            lifecycle.create_for_approval(application, Acting.user_as(clerk, Actor.CLERK))
        db.session.commit()
        # A new session forgets the outbox's list of messages to dispatch, too.
        db.session.remove()


def split_cards() -> tuple[CardSet, CardSet]:
    """The cards taken turn about into two sets of the same mix (names, types, offices)."""
    message_of = {
        int(message.payload["card_id"]): message.id
        for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == lifecycle.ISSUE_CARD_TASK)
        )
    }
    card_ids = sorted(message_of)
    sets = []
    for half in (card_ids[0::2], card_ids[1::2]):
        sets.append(CardSet(half, sorted(message_of[card_id] for card_id in half)))
    db.session.remove()
    return sets[0], sets[1]


def active_cards() -> int:
    """How many cards are active (cheap enough to ask ten times a second)."""
    count = db.session.scalar(
        select(func.count()).select_from(Card).where(Card.state == CardState.ACTIVE)
    )
    db.session.remove()
    return int(count or 0)


def last_message_id() -> int:
    """The newest outbox message's id (messages created later have larger ones)."""
    newest = db.session.scalar(select(func.max(OutboxMessage.id)))
    db.session.remove()
    return int(newest or 0)


def mail_messages(after_id: int) -> list[int]:
    """Ids of the mail messages created after ``after_id``."""
    query = select(OutboxMessage.id).where(
        OutboxMessage.id > after_id, OutboxMessage.task == mail.SEND_MAIL_TASK
    )
    ids = list(db.session.scalars(query.order_by(OutboxMessage.id)))
    db.session.remove()
    return ids


def not_handed_over(message_ids: list[int]) -> list[int]:
    """Those of the messages that the broker did not take."""
    query = select(OutboxMessage.id).where(
        OutboxMessage.id.in_(message_ids), OutboxMessage.dispatched_at.is_(None)
    )
    ids = list(db.session.scalars(query.order_by(OutboxMessage.id)))
    db.session.remove()
    return ids


def mails_done(after_id: int) -> int:
    """How many mail messages created after ``after_id`` were sent."""
    count = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.id > after_id,
            OutboxMessage.task == mail.SEND_MAIL_TASK,
            OutboxMessage.completed_at.is_not(None),
        )
    )
    db.session.remove()
    return int(count or 0)


# --- the two phases --------------------------------------------------------------------------


@dataclass
class Phase:
    """What one way of issuing took."""

    label: str
    cards: int
    #: Seconds until every card was active, and until every card's mail was written.
    cards_seconds: float
    mail_seconds: float
    #: First card's seconds (loop) or seconds to hand all messages over (pipeline).
    extra_seconds: float
    cpu: CpuMeter

    @property
    def card_rate(self) -> float:
        return self.cards / self.cards_seconds

    @property
    def mailed_rate(self) -> float:
        return self.cards / self.mail_seconds


@contextmanager
def profiled(enabled: bool, top: int = 35) -> Iterator[None]:
    """cProfile the block and print the functions that took longest, if ``enabled``."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        print("\n== cProfile of the loop, by own time")
        pstats.Stats(profile).sort_stats("tottime").print_stats(top)
        print("== cProfile of the loop, by cumulative time")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(top)


def run_loop(app: Flask, card_set: CardSet, meter: CpuMeter, profile: bool) -> Phase:
    """Make the cards one after another here, each in an app context as a task has it.

    Then deliver the mails they queued, the same way: the loop does the workers' whole
    job, only without Redis, Celery and the outbox message of the card itself.
    """
    with app.app_context():
        before = last_message_id()
    meter.start()
    started = time.perf_counter()
    first = 0.0
    with profiled(profile):
        for card_id in card_set.card_ids:
            with app.app_context():
                result = cards_production.produce(card_id)
            if result != cards_production.Produced.MADE:
                raise RuntimeError(f"card {card_id}: {result}")
            if not first:
                first = time.perf_counter() - started
        made = time.perf_counter() - started
        with app.app_context():
            mail_ids = mail_messages(before)
        for message_id in mail_ids:
            with app.app_context():
                mail.deliver(message_id)
    mailed = time.perf_counter() - started
    meter.stop()
    with app.app_context():
        if active_cards() != len(card_set.card_ids) or len(mail_ids) != len(card_set.card_ids):
            raise RuntimeError("the loop left cards or mails undone")
    return Phase("loop, 1 process", len(card_set.card_ids), made, mailed, first, meter)


def run_pipeline(
    app: Flask, card_set: CardSet, workers: list[CeleryWorker], meter: CpuMeter, processes: int
) -> Phase:
    """Hand the outbox messages to Redis and wait until the workers made every card and
    sent every mail; the clock runs from the first hand-over."""
    wanted = len(card_set.card_ids)
    with app.app_context():
        before = last_message_id()
        active_before = active_cards()
    meter.start()
    started = time.perf_counter()
    with app.app_context():
        sent = outbox.dispatch(card_set.message_ids)
        for _ in range(3):
            if sent == wanted:
                break
            # What the periodic dispatcher would do: hand over what the broker refused.
            sent += outbox.dispatch(not_handed_over(card_set.message_ids))
    dispatched = time.perf_counter() - started
    if sent != wanted:
        raise RuntimeError(f"only {sent} of {wanted} messages handed over, see outbox_message")
    cards_seconds = 0.0
    progress, progress_at = (-1, -1), time.perf_counter()
    while True:
        now = time.perf_counter()
        with app.app_context():
            active = active_cards() - active_before
            mailed = mails_done(before)
        if active == wanted and not cards_seconds:
            cards_seconds = now - started
        if mailed == wanted and active == wanted:
            break
        if (active, mailed) != progress:
            progress, progress_at = (active, mailed), now
        elif now - progress_at > STALL_SECONDS:
            logs = "\n".join(worker.log_text()[-3000:] for worker in workers)
            raise RuntimeError(f"pipeline stalled at {active} cards, {mailed} mails:\n{logs}")
        time.sleep(POLL_SECONDS)
    meter.stop()
    return Phase(
        f"pipeline, {processes} processes", wanted, cards_seconds, now - started, dispatched, meter
    )


# --- report ----------------------------------------------------------------------------------


def print_phase(phase: Phase, cores: int) -> None:
    """Times, rates and who used the CPU."""
    wall = phase.mail_seconds
    print(f"\n== {phase.label}: {phase.cards} cards")
    if phase.label.startswith("loop"):
        print(f"first card (cold)                {phase.extra_seconds * 1000:9.1f} ms")
    else:
        print(f"handing the messages over        {phase.extra_seconds:9.2f} s")
    print(
        f"all cards active                 {phase.cards_seconds:9.2f} s  "
        f"{phase.card_rate:7.2f} cards/s  {1000 / phase.card_rate:7.1f} ms/card"
    )
    print(
        f"all mails written                {phase.mail_seconds:9.2f} s  "
        f"{phase.mailed_rate:7.2f} cards/s  {1000 / phase.mailed_rate:7.1f} ms/card"
    )
    print(f"CPU until the last mail, ms per card (wall {wall:.1f} s, {cores} cores):")
    for name, seconds in phase.cpu.used.items():
        print(f"  {name:<30} {seconds * 1000 / phase.cards:9.1f}   ({seconds / wall:4.2f} cores)")
    own = sum(phase.cpu.used.values())
    others = max(0.0, phase.cpu.machine - own)
    print(f"  {'together':<30} {own * 1000 / phase.cards:9.1f}   ({own / wall:4.2f} cores)")
    print(
        f"  {'anything else on the machine':<30} {others * 1000 / phase.cards:9.1f}   "
        f"({others / wall:4.2f} cores: other users' work slows the figures down)"
    )
    print(
        f"{cores} cores doing nothing else would make at most "
        f"{cores * phase.cards / own:.1f} cards/s (with their mails) at this CPU cost"
    )


def print_summary(loop: Phase, pipeline: Phase, processes: int) -> None:
    """The table the issue asks for, and the verdict."""
    expected = loop.card_rate * processes
    ratio = pipeline.card_rate / expected
    mailed_ratio = pipeline.mailed_rate / (loop.mailed_rate * processes)
    hours = TARGET_CARDS / pipeline.card_rate / 3600
    mailed_hours = TARGET_CARDS / pipeline.mailed_rate / 3600
    print("\n== Summary")
    print(f"{'':<34}{'cards active':>14}{'and mailed':>14}")
    rows = [
        ("loop, cards/s", f"{loop.card_rate:.2f}", f"{loop.mailed_rate:.2f}"),
        (
            f"loop × {processes}, cards/s",
            f"{expected:.2f}",
            f"{loop.mailed_rate * processes:.2f}",
        ),
        ("pipeline, cards/s", f"{pipeline.card_rate:.2f}", f"{pipeline.mailed_rate:.2f}"),
        (f"pipeline / (loop × {processes})", f"{ratio:.3f}", f"{mailed_ratio:.3f}"),
        ("target ratio", f"{TARGET_RATIO:.3f}", ""),
        (f"{TARGET_CARDS:,} cards take, hours", f"{hours:.2f}", f"{mailed_hours:.2f}"),
        ("pipeline ms per card", f"{1000 / pipeline.card_rate:.1f}", ""),
    ]
    for label, active, mailed in rows:
        print(f"{label:<34}{active:>14}{mailed:>14}")
    verdict = "met" if ratio >= TARGET_RATIO and hours <= TARGET_SECONDS / 3600 else "NOT met"
    print(
        f"\ntarget (ratio ≥ {TARGET_RATIO} and {TARGET_CARDS:,} cards active within "
        f"{TARGET_SECONDS // 3600} h): {verdict}"
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.issuing",
        description="Card issuing: Celery workers against a plain loop in one process.",
    )
    parser.add_argument(
        "--cards", type=int, default=1000, help="cards per phase (default 1000; 2 N are created)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="celery worker commands to start (default 1)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="pool processes of each worker (default 2)"
    )
    parser.add_argument(
        "--pool",
        choices=("prefork", "solo"),
        default="prefork",
        help="Celery pool (default prefork; solo runs the tasks in the worker process itself)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        help="the workers' worker_prefetch_multiplier (default: the app's setting, 1)",
    )
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"database name (default {DEFAULT_DATABASE})"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the loop")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.cards < 1 or args.workers < 1 or args.concurrency < 1:
        parser.error("--cards, --workers and --concurrency must be at least 1")
    if args.pool == "solo":
        args.concurrency = 1
    if args.prefetch is not None and args.prefetch < 1:
        parser.error("--prefetch must be at least 1")
    return args


def run(url: URL, args: argparse.Namespace) -> None:
    """:func:`run_in` a temporary folder (signing keys, mails, the workers' logs)."""
    with tempfile.TemporaryDirectory(prefix="ehrenamt-bench-issuing-") as folder:
        run_in(url, args, Path(folder))


def run_in(url: URL, args: argparse.Namespace, folder: Path) -> None:
    """Set up, run the loop, then the pipeline, and print the figures."""
    processes = args.workers * args.concurrency
    keys = folder / "card-keys"
    cardformat_keys.generate_key(keys)
    redis = RedisServer()
    settings: dict[str, object] = {
        "SECRET_KEY": "bench",
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "BROKER_URL": redis.url,
        "CELERY_QUEUE": PIPELINE_QUEUE,
        "MAIL_BACKEND": "file",
        "MAIL_FOLDER": str(folder / "mail-pipeline"),
        "CARD_KEYS_FOLDER": str(keys),
        "BASE_URL": BASE_URL,
    }
    overrides = {"CARD_SIGNING_KEY": None, "CARD_SIGNING_KEY_ID": None}
    pipeline_app = create_app({**settings, **overrides})
    loop_app = create_app(
        {
            **settings,
            **overrides,
            "CELERY_QUEUE": LOOP_QUEUE,
            "MAIL_FOLDER": str(folder / "mail-loop"),
        }
    )
    worker_settings = dict(settings)
    if args.prefetch is not None:
        worker_settings["CELERY"] = {"worker_prefetch_multiplier": args.prefetch}
    workers: list[CeleryWorker] = []
    try:
        with pipeline_app.app_context():
            started = time.perf_counter()
            upgrade()
            office_ids = harness.create_offices()
            create_cards(2 * args.cards, office_ids)
            loop_set, pipeline_set = split_cards()
            # Statistics as autovacuum would leave them, so neither phase pays for them.
            harness.vacuum_analyze()
            offices = db.session.scalars(select(Office.name)).all()
            db.session.remove()
            print(f"== Database {url.database}: migrations, {2 * args.cards} approved")
            print(
                f"applications with cards in state issuing, in {time.perf_counter() - started:.1f}"
                f" s; offices: {', '.join(offices)}"
            )
            print(f"cores: {os.cpu_count()}, load average before: {harness.load_average()}")
            backends = harness.database_backends(pipeline_app, url)

        redis_server = harness.lone_process(redis.process.pid)
        loop_meter = CpuMeter({"database server": backends, "redis-server": redis_server})
        loop = run_loop(loop_app, loop_set, loop_meter, args.profile)
        with loop_app.app_context():
            db.engine.dispose()  # its connection would count as a backend of the pipeline
        print_phase(loop, os.cpu_count() or 1)

        for index in range(args.workers):
            workers.append(
                CeleryWorker(
                    worker_settings, folder, f"bench-worker-{index}", args.pool, args.concurrency
                )
            )
        for worker in workers:
            worker.wait_until_ready()
        print(f"\nload average before the pipeline: {harness.load_average()}")
        pipeline_meter = CpuMeter(
            {
                "workers": lambda: ([worker.process.pid for worker in workers], []),
                "database server": backends,
                "redis-server": redis_server,
            }
        )
        with pipeline_app.app_context():
            pipeline = run_pipeline(pipeline_app, pipeline_set, workers, pipeline_meter, processes)
        print_phase(pipeline, os.cpu_count() or 1)
        print(
            f"\nworkers: {args.workers} × `celery worker --pool={args.pool} -c {args.concurrency}`"
            f" ({processes} processes making cards), queue {PIPELINE_QUEUE}, prefetch"
            f" multiplier {args.prefetch or 'as configured'}"
        )
        print_summary(loop, pipeline, processes)
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        for app in (pipeline_app, loop_app):
            with app.app_context():
                db.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.issuing``."""
    args = parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, database=args.database
    )


if __name__ == "__main__":
    sys.exit(main())
