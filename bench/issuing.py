"""Benchmark of card issuing: the worker pipeline against a plain loop in one process.

Creates a fresh PostgreSQL database with 2 N approved applications whose cards wait in
state *issuing*, each with its ``ehrenamt.issue_card`` message in the outbox, as an
approval leaves them. Half of the cards are made by a plain loop calling
:func:`ehrenamt.services.cards.produce` in this process; the other half go the way
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
import json
import os
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, make_url

from bench.queue import create_offices, drop_database, recreate_database
from ehrenamt import ROOT, create_app
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
    UserRole,
    utcnow,
)
from ehrenamt.workflow import Actor, ApplicationState

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ehrenamt_bench"
URL_VARIABLE = "EHRENAMT_BENCH_DATABASE_URL"
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

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes and CPU time ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server without persistence, so no other user's queues mix in."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        program = shutil.which("redis-server")
        if program is None:
            raise RuntimeError("redis-server is not installed")
        # No persistence: the queue is thrown away with the server.
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(  # noqa: S603 (the bench's own arguments)
            [program, "--port", str(self.port), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server; its data goes with it."""
        self.process.terminate()
        self.process.wait(10)


class Worker:
    """``celery worker`` of the project's app, configured only through its environment."""

    def __init__(
        self, settings: dict[str, object], folder: Path, name: str, pool: str, concurrency: int
    ) -> None:
        # Only the bench's settings: none of the caller's EHRENAMT_* variables, and an
        # instance folder of its own, so no instance/config.py is read either.
        env = {key: value for key, value in os.environ.items() if not key.startswith("EHRENAMT_")}
        for key, value in settings.items():
            env[f"EHRENAMT_{key}"] = value if isinstance(value, str) else json.dumps(value)
        env["EHRENAMT_INSTANCE_PATH"] = str(folder / name)
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 (the bench's own arguments)
                [
                    sys.executable, "-m", "celery", "-A", "workers.app:celery_app", "worker",
                    f"--pool={pool}", "-c", str(concurrency), "-Q", str(settings["CELERY_QUEUE"]),
                    "--without-mingle", "--without-gossip", "--loglevel=INFO", "-n", f"{name}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Wait for the worker's "ready." line (its pool processes are forked then)."""
        deadline = time.monotonic() + timeout
        while "ready." not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def log_text(self) -> str:
        """What the worker logged so far."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Warm shutdown of the whole process group; killed if it does not end."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _process_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds used so far) of every process of this machine."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # The command name in parentheses may hold spaces; the fields follow the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def tree_cpu_seconds(roots: Sequence[int], pids: Sequence[int] = ()) -> dict[int, float]:
    """CPU seconds of ``roots`` and all their descendants, and of ``pids`` alone."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    result: dict[int, float] = {}
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in table and pid not in result:
            result[pid] = table[pid][1]
            todo += children.get(pid, [])
    for pid in pids:
        if pid in table:
            result[pid] = table[pid][1]
    return result


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent not idle since boot."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuMeter:
    """CPU seconds used between :meth:`start` and :meth:`stop`, by who used them.

    ``groups`` name process trees (workers) or single processes (database backends,
    Redis); ``this process`` is the benchmark itself. Processes that appear meanwhile
    count from zero; ones that end meanwhile are lost (none should).
    """

    groups: dict[str, Callable[[], tuple[list[int], list[int]]]]
    used: dict[str, float] = field(default_factory=dict)
    machine: float = 0.0
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _machine_before: float = 0.0
    _self_before: float = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: tree_cpu_seconds(*pids()) for name, pids in self.groups.items()}

    def start(self) -> None:
        """Remember where the counters stand."""
        self._before = self._sample()
        self._self_before = time.process_time()
        self._machine_before = machine_busy_seconds()

    def stop(self) -> None:
        """Compute what each group used since :meth:`start`."""
        self.machine = machine_busy_seconds() - self._machine_before
        self.used = {"this process": time.process_time() - self._self_before}
        for name, now in self._sample().items():
            before = self._before.get(name, {})
            self.used[name] = sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


def database_backends(app: Flask, url: URL) -> Callable[[], tuple[list[int], list[int]]]:
    """The server processes serving the benchmark database (if the server runs here)."""

    def pids() -> tuple[list[int], list[int]]:
        with app.app_context(), db.engine.connect() as conn:
            found = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            ).all()
        return [], [int(pid) for pid in found]

    return pids


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
        User(
            email=f"volunteer{start + index}@example.org",
            role=UserRole.VOLUNTEER,
            display_name="",
            email_confirmed_at=now,
            language="en" if (start + index) % ENGLISH_EVERY == 0 else "de",
        )
        for index in range(count)
    ]
    db.session.add_all(users)
    db.session.flush()
    applications = []
    for index, user in enumerate(users):
        number = start + index
        first_name, last_name = NAMES[number % len(NAMES)]
        application = Application(
            public_id=secrets.token_hex(16),
            submission_key=secrets.token_hex(24),
            office_id=office_ids[number % len(office_ids)],
            applicant_id=user.id,
            state=ApplicationState.APPROVED,
            card_type=CardType.LONG_SERVICE
            if number % LONG_SERVICE_EVERY == 0
            else CardType.STANDARD,
            first_name=first_name,
            last_name=last_name,
            search_name=f"{first_name} {last_name}".lower(),
            birth_date=date(1960, 1, 1) + timedelta(days=number % 15000),
            street="Hauptstraße 1",
            postcode="06844",
            town="Dessau-Roßlau",
            consent_version="2026-01",
            consent_at=now,
            submitted_at=now,
            state_changed_at=now,
            decided_at=now,
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
    clerks = [
        User(
            email=f"clerk{office_id}@example.org",
            role=UserRole.CLERK,
            office_id=office_id,
            display_name=f"Sachbearbeitung {office_id}",
        )
        for office_id in office_ids
    ]
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


def vacuum_analyze() -> None:
    """Statistics as autovacuum would leave them, so neither phase pays for them."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")


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
    app: Flask, card_set: CardSet, workers: list[Worker], meter: CpuMeter, processes: int
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


def run(url: URL, args: argparse.Namespace, folder: Path) -> None:
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
    workers: list[Worker] = []
    try:
        with pipeline_app.app_context():
            started = time.perf_counter()
            upgrade()
            office_ids = create_offices()
            create_cards(2 * args.cards, office_ids)
            loop_set, pipeline_set = split_cards()
            vacuum_analyze()
            offices = db.session.scalars(select(Office.name)).all()
            db.session.remove()
            print(f"== Database {url.database}: migrations, {2 * args.cards} approved")
            print(
                f"applications with cards in state issuing, in {time.perf_counter() - started:.1f}"
                f" s; offices: {', '.join(offices)}"
            )
            print(f"cores: {os.cpu_count()}, load average before: {_load()}")
            backends = database_backends(pipeline_app, url)

        loop_meter = CpuMeter({"database server": backends, "redis-server": _single(redis)})
        loop = run_loop(loop_app, loop_set, loop_meter, args.profile)
        with loop_app.app_context():
            db.engine.dispose()  # its connection would count as a backend of the pipeline
        print_phase(loop, os.cpu_count() or 1)

        for index in range(args.workers):
            workers.append(
                Worker(
                    worker_settings, folder, f"bench-worker-{index}", args.pool, args.concurrency
                )
            )
        for worker in workers:
            worker.wait_until_ready()
        print(f"\nload average before the pipeline: {_load()}")
        pipeline_meter = CpuMeter(
            {
                "workers": lambda: ([worker.process.pid for worker in workers], []),
                "database server": backends,
                "redis-server": _single(redis),
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


def _single(redis: RedisServer) -> Callable[[], tuple[list[int], list[int]]]:
    return lambda: ([], [redis.process.pid])


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.issuing``."""
    args = parse_args(argv)
    url = make_url(os.environ.get(URL_VARIABLE, DEFAULT_URL)).set(database=args.database)
    if url.get_backend_name() != "postgresql":
        print(f"{URL_VARIABLE} must name a PostgreSQL server", file=sys.stderr)
        return 2
    recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="ehrenamt-bench-issuing-") as folder:
            run(url, args, Path(folder))
    finally:
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
