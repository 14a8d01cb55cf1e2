"""What the benchmarks share: their database, the processes they start, CPU time, timing.

Each benchmark module keeps its own data and measurements; the machinery around them is
here, once:

- the database: the server of ``EHRENAMT_BENCH_DATABASE_URL``, a database dropped and
  created again at the start and dropped at the end (:func:`database_url`,
  :func:`fresh_database`), an app on it (:func:`bench_app`), the two offices, volunteers,
  clerks and approved applications, ``VACUUM (ANALYZE)``;
- processes: a free port, a private ``redis-server``, ``celery worker`` and gunicorn, and
  the ``EHRENAMT_*`` environment that configures them;
- CPU time of process trees and of the whole machine (:class:`CpuMeter`; Linux only);
- timing: repeated calls after warm-up, and percentiles.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from ehrenamt import ROOT, create_app
from ehrenamt.extensions import db
from ehrenamt.models import Application, CardType, Office, Programme, User, UserRole
from ehrenamt.offices.rules import rules_from_preset
from ehrenamt.workflow import ApplicationState

T = TypeVar("T")

# --- the database ----------------------------------------------------------------------------

DATABASE_URL_VARIABLE = "EHRENAMT_BENCH_DATABASE_URL"
#: The server (and database) when the variable is not set.
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
DEFAULT_DATABASE = "ehrenamt_bench"

#: The two offices: name, slug and the postcodes of their area.
OFFICES = (
    ("Stadt Dessau-Roßlau", "dessau-rosslau", ("06842", "06844", "06846", "06847", "06849")),
    ("Landkreis Wittenberg", "wittenberg", ("06886", "06888", "06889", "06895", "06901")),
)


def database_url(
    default_database: str = DEFAULT_DATABASE, database: str | None = None
) -> URL | None:
    """The benchmark's database: ``EHRENAMT_BENCH_DATABASE_URL`` (else ``default_database`` on
    the local server), with ``database`` instead of the URL's own if given.

    ``None``, after saying so on stderr, when that is not a PostgreSQL database.
    """
    url = make_url(os.environ.get(DATABASE_URL_VARIABLE, DEFAULT_SERVER + default_database))
    if database is not None:
        url = url.set(database=database)
    if url.get_backend_name() != "postgresql" or not url.database:
        what = "server" if database else "database"
        print(f"{DATABASE_URL_VARIABLE} must name a PostgreSQL {what}", file=sys.stderr)
        return None
    return url


def _admin_engine(url: URL) -> Engine:
    """An autocommit engine on the server's ``postgres`` database."""
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _quoted_name(engine: Engine, url: URL) -> str:
    """The benchmark database's name, quoted for DDL."""
    return engine.dialect.identifier_preparer.quote(url.database or "")


def drop_database(url: URL) -> None:
    """Drop the benchmark database if it exists, disconnecting any sessions."""
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quoted_name(engine, url)} WITH (FORCE)")
    engine.dispose()


def recreate_database(url: URL) -> None:
    """Drop the benchmark database if it exists and create it empty."""
    drop_database(url)
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {_quoted_name(engine, url)}")
    engine.dispose()


def dispose_engines() -> None:
    """Close the connection pools of every app this process made (all their binds)."""
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            engine.dispose()


@contextmanager
def fresh_database(url: URL, keep: bool) -> Iterator[URL]:
    """The database dropped and created empty; afterwards the apps' connections closed and,
    unless ``keep``, the database dropped."""
    recreate_database(url)
    try:
        yield url
    finally:
        dispose_engines()
        if not keep:
            drop_database(url)


def run_on_fresh_database(
    run: Callable[[URL], int | None],
    keep: bool,
    default_database: str = DEFAULT_DATABASE,
    database: str | None = None,
) -> int:
    """A benchmark's exit status: ``run`` on the :func:`fresh_database` of
    :func:`database_url`; 2 when that names no PostgreSQL database."""
    url = database_url(default_database, database)
    if url is None:
        return 2
    with fresh_database(url, keep):
        return run(url) or 0


def bench_app(url: URL) -> Flask:
    """The application on the benchmark database, in this process, mails to the console."""
    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "MAIL_BACKEND": "console",
        }
    )


def vacuum_analyze(*tables: str) -> None:
    """``VACUUM (ANALYZE)`` of the tables (of the whole database without any): statistics
    and visibility map as autovacuum would leave them after a while."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables or ("",):
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}".rstrip())


def create_offices() -> list[int]:
    """One programme with the two :data:`OFFICES`, each with the Dessau-Roßlau rules; their
    ids."""
    programme = Programme(name="Ehrenamtskarte Sachsen-Anhalt")
    offices = []
    for name, slug, postcodes in OFFICES:
        office = Office(
            programme=programme,
            name=name,
            slug=slug,
            contact_email=f"ehrenamt@{slug}.example.org",
            postcodes=" ".join(postcodes),
        )
        office.rules = rules_from_preset("dessau_rosslau")
        offices.append(office)
    db.session.add(programme)
    db.session.commit()
    return [office.id for office in offices]


def clerk(office_id: int) -> User:
    """A clerk of the office (not added to the session)."""
    return User(
        email=f"clerk{office_id}@example.org",
        role=UserRole.CLERK,
        office_id=office_id,
        display_name=f"Sachbearbeitung {office_id}",
    )


def volunteer(number: int, now: datetime, language: str = "de") -> User:
    """Volunteer number ``number``, e-mail address confirmed (not added to the session)."""
    return User(
        email=f"volunteer{number}@example.org",
        role=UserRole.VOLUNTEER,
        display_name="",
        email_confirmed_at=now,
        language=language,
    )


def approved_application(
    applicant_id: int,
    office_id: int,
    name: tuple[str, str],
    birth_date: date,
    card_type: CardType,
    now: datetime,
) -> Application:
    """An application approved ``now``, as the clerk leaves it (not added to the session)."""
    first_name, last_name = name
    return Application(
        public_id=secrets.token_hex(16),
        submission_key=secrets.token_hex(24),
        office_id=office_id,
        applicant_id=applicant_id,
        state=ApplicationState.APPROVED,
        card_type=card_type,
        first_name=first_name,
        last_name=last_name,
        search_name=f"{first_name} {last_name}".lower(),
        birth_date=birth_date,
        street="Hauptstraße 1",
        postcode="06844",
        town="Dessau-Roßlau",
        consent_version="2026-01",
        consent_at=now,
        submitted_at=now,
        state_changed_at=now,
        decided_at=now,
    )


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ehrenamt_environment(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings as the app reads them from the environment: ``EHRENAMT_<NAME>``, values as
    given if strings, else as JSON."""
    return {
        f"EHRENAMT_{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in settings.items()
    }


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


class CeleryWorker:
    """``celery worker`` of the project's app, configured only through its environment."""

    def __init__(
        self, settings: dict[str, object], folder: Path, name: str, pool: str, concurrency: int
    ) -> None:
        # Only the bench's settings: none of the caller's EHRENAMT_* variables, and an
        # instance folder of its own, so no instance/config.py is read either.
        env = {key: value for key, value in os.environ.items() if not key.startswith("EHRENAMT_")}
        env.update(ehrenamt_environment(settings))
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


def start_gunicorn(
    app: str, port: int, workers: int, threads: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """gunicorn serving ``app`` (``module:factory()``) with threaded workers (they keep
    connections alive, unlike sync ones), once it accepts connections."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        app,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited at start") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def load_average() -> str:
    """The machine's load averages (1, 5, 15 minutes)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- CPU time --------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: A group of processes whose CPU time is counted: (roots of process trees, single pids).
ProcessGroup = Callable[[], tuple[list[int], list[int]]]


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

    groups: dict[str, ProcessGroup]
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


def lone_process(pid: int) -> ProcessGroup:
    """The group of one process alone (not its children)."""
    return lambda: ([], [pid])


def database_backends(app: Flask, url: URL) -> ProcessGroup:
    """The server processes serving the benchmark database (if the server runs here)."""

    def pids() -> tuple[list[int], list[int]]:
        with app.app_context(), db.engine.connect() as conn:
            found = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            ).all()
        return [], [int(pid) for pid in found]

    return pids


# --- timing ----------------------------------------------------------------------------------

#: Untimed calls before the timed ones (connections, caches, plans).
WARMUP_RUNS = 3


def timed_calls(
    call: Callable[[], T], runs: int, after: Callable[[], object], warmup: int = WARMUP_RUNS
) -> tuple[list[float], T]:
    """``warmup`` calls, then ``runs`` timed ones, each followed by ``after`` (not timed);
    the timed calls' milliseconds and the last call's result."""
    for _ in range(warmup):
        call()
        after()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
        after()
    return samples, result


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value at ``share`` (0.5, 0.95, …) of sorted ``ordered``, the nearest rank below."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]
