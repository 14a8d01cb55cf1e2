"""Real services for the tests that need them: the database (SQLite or PostgreSQL), Redis
as Celery's broker with an in-thread worker of the project's own Celery app, and an SMTP
server.

A test gets only what it asks for. Tests of plain functions (card numbers, signing,
rendering, the workflow table) use none of these fixtures and run without a database
or Redis. A test that uses the application (``app``, or ``ctx``/``client``/
``make_client``, which use it) starts with no mail and fresh rate limits, and its
tables are emptied afterwards. Celery tasks are run by the worker only for tests marked
``@pytest.mark.worker`` (mails that must arrive, cards that must be issued); for the
others, tasks are handed to Redis on a queue no worker reads, and dropped afterwards.

Choose the database with ``EHRENAMT_TEST_DATABASE=sqlite|postgresql`` (the README's test
command runs the suite on both). PostgreSQL and Redis URLs can be changed with
``EHRENAMT_TEST_POSTGRES_URL`` and ``EHRENAMT_TEST_REDIS_URL``.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from ehrenamt import create_app
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.core import rate_counters
from ehrenamt.extensions import db, limiter
from ehrenamt.models import Base, OutboxMessage
from tests.mailbox import Mailbox

DATABASE = os.environ.get("EHRENAMT_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "EHRENAMT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("EHRENAMT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# The fuzz tests (tests/test_fuzz.py): a few dozen examples per form in the normal suite,
# many more with `-m fuzz --hypothesis-profile=long`. No example database: runs are
# reproducible from the printed example, and nothing is written into the worktree.
settings.register_profile(
    "suite",
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile("long", parent=settings.get_profile("suite"), max_examples=1000)
settings.load_profile("suite")

#: Fixtures shared beyond this file (the private ``redis_server``).
pytest_plugins = ["tests.harness"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The screenshot tour runs only when asked for (``-m screenshots``, ``make screenshots``):
    it checks nothing a test does not, and takes a minute."""
    # The several-hosts test runs last: it builds an app of its own for a private
    # deployment, and whatever of it a later test might still meet is then behind us.
    items.sort(key=lambda item: item.get_closest_marker("hosts") is not None)
    if "screenshots" in (config.option.markexpr or ""):
        return
    tour = [item for item in items if item.get_closest_marker("screenshots")]
    if tour:
        config.hook.pytest_deselected(items=tour)
        items[:] = [item for item in items if not item.get_closest_marker("screenshots")]


def pytest_report_header() -> str:
    return f"ehrenamt: database={DATABASE} redis={REDIS_URL}"


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues() -> None:
    """Compile the translation catalogues, as `make` does, so no test sees a stale .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from ehrenamt import ROOT

    for po in (ROOT / "ehrenamt" / "translations").glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free port; mails the app sends arrive here."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this test session."""
    if DATABASE == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        return
    if DATABASE != "postgresql":
        raise pytest.UsageError(
            f"EHRENAMT_TEST_DATABASE must be sqlite or postgresql, not {DATABASE!r}"
        )
    name = f"ehrenamt_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_settings(
    database_url: str, mailbox: Mailbox, instance: Path, queue: str
) -> dict[str, object]:
    """Settings of the test app; also used for worker processes started by tests."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "BROKER_URL": REDIS_URL,
        "CELERY_QUEUE": queue,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mailbox.port,
        "MAIL_TIMEOUT": 5,
        "UPLOAD_FOLDER": str(instance / "uploads"),
        "CARD_KEYS_FOLDER": str(instance / "card-keys"),
        "BASE_URL": "http://testserver.local",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Nothing listens there: tests never reach a real tile server, and the directory
        # must work without tiles (the list is its content, the map an enhancement).
        "MAP_TILE_URL": "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
        # Batches of check records are written when a test flushes them (and by a test of
        # the writer's own thread), never halfway through another test's assertions.
        "VERIFICATION_RECORD_FLUSH_SECONDS": 3600.0,
        # The smallest argon2id cost: thousands of accounts are made and signed in, and at
        # the production cost (~60 ms a hash) that alone took minutes per database.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in an empty context, as in a real server.

    Flask reuses an application context that is already active, so without this a
    request made while a test holds one (to call services) would share ``g`` and the
    database session with the test, which never happens in production.
    """

    def open(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def,override]
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def session_app(
    database_url: str, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The application, its schema made by the migrations (as in production); tests use
    it through ``app``, which cleans up after each of them."""
    instance = tmp_path_factory.mktemp("instance")
    os.environ["EHRENAMT_INSTANCE_PATH"] = str(instance)
    queue = f"ehrenamt-test-{uuid.uuid4().hex[:8]}"
    settings = app_settings(database_url, mailbox, instance, queue)
    # The key that signs this session's cards, as `flask ehrenamt keys generate` makes it.
    cardformat_keys.generate_key(Path(str(settings["CARD_KEYS_FOLDER"])))
    application = create_app(settings)
    application.config["TEST_QUEUE"] = queue
    application.config["TEST_UNREAD_QUEUE"] = f"{queue}-unread"
    application.test_client_class = IsolatedClient
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    # Close every pool, also those of the extra apps some tests build with create_app:
    # a connection left to the garbage collector at exit is an error under -W error.
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def celery_worker(session_app: Flask) -> Iterator[object]:
    """A real Celery worker (threads) consuming this session's queue on real Redis;
    started by the first test marked ``worker``."""
    from celery.contrib.testing.worker import start_worker

    import workers.tasks  # noqa: F401  (registers the tasks)

    celery_app = session_app.extensions["celery"]
    _purge_queues(session_app)
    with start_worker(
        # No ping check: it needs a result backend, which the service does not use.
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10.0,
        # Only this queue: tasks of the tests without the marker wait on the other one.
        queues=[session_app.config["TEST_QUEUE"]],
    ) as worker:
        yield worker


@pytest.fixture
def app(
    session_app: Flask,
    mailbox: Mailbox,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    """The application, for one test: no mail and fresh rate-limit counters before it,
    empty tables after it. Its Celery tasks are run by the worker if the test is marked
    ``worker``; otherwise they go to a queue nobody reads, so a test that waits for a mail
    or a card without the marker fails every time, not only after a marked one."""
    celery_app = session_app.extensions["celery"]
    with_worker = request.node.get_closest_marker("worker") is not None
    if with_worker:
        request.getfixturevalue("celery_worker")
        celery_app.conf.task_default_queue = session_app.config["TEST_QUEUE"]
    else:
        celery_app.conf.task_default_queue = session_app.config["TEST_UNREAD_QUEUE"]
    mailbox.clear()
    with session_app.app_context():
        limiter.reset()
    # One counting window for the whole test, wherever in the minute it starts.
    started = time.time()
    monkeypatch.setattr(rate_counters, "_clock", lambda: started)
    yield session_app
    with session_app.app_context():
        if with_worker:
            _wait_for_outbox(session_app)
        _purge_queues(session_app)
        db.session.remove()
        # The till API's check records are written in batches: those of this test go
        # to the database now, not into the next test's tables.
        if (records := session_app.extensions.get("ehrenamt.verification_records")) is not None:
            records.flush()
        _empty_tables()
        _empty_file_stores(session_app)
    mailbox.clear()
    # Extra apps a test built (create_app) are freed later by the cyclic garbage
    # collector; close their connections now, while they are still reachable.
    for other, engines in list(db._app_engines.items()):
        if other is not session_app:
            for engine in engines.values():
                engine.dispose()


def _purge_queues(app: Flask) -> None:
    """Drop the tasks waiting on this session's queues (the worker's and the unread one)."""
    celery_app = app.extensions["celery"]
    with celery_app.connection_for_write() as connection:
        for queue in (app.config["TEST_QUEUE"], app.config["TEST_UNREAD_QUEUE"]):
            connection.default_channel.queue_purge(queue)


#: Tasks whose work a test may have started: they finish before the tables are emptied,
#: so no card or mail of one test turns up in the next.
_AWAITED_TASKS = ("ehrenamt.send_mail", "ehrenamt.issue_card", "ehrenamt.make_print_run")


def _wait_for_outbox(app: Flask, timeout: float = 10.0) -> None:
    """Let mails and cards already handed to the worker finish, so none leaks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = db.session.scalar(
            db.select(db.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.completed_at.is_(None),
                OutboxMessage.dispatched_at.is_not(None),
                OutboxMessage.task.in_(_AWAITED_TASKS),
            )
        )
        db.session.rollback()
        if not pending:
            return
        time.sleep(0.05)


def _empty_file_stores(app: Flask) -> None:
    """The files of the rows just deleted: left behind, they would be orphans to a later
    test's retention run (it deletes files no row names)."""
    from ehrenamt.core.uploads import upload_folder
    from ehrenamt.privacy.export import export_folder

    for folder in (upload_folder(), export_folder()):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file():
                    path.unlink(missing_ok=True)


def _empty_tables(attempts: int = 5) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(1, attempts + 1):
        try:
            if db.engine.dialect.name == "postgresql":
                # A transaction a test left open (a streamed download never read to its
                # end keeps its cursor) would make TRUNCATE wait for ever: fail instead.
                db.session.execute(text("SET LOCAL lock_timeout = '60s'"))
                db.session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
            else:
                for table in tables:
                    db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our tables
            db.session.commit()
            return
        except OperationalError as error:
            # TRUNCATE locks table after table; a worker's task still running from the
            # test (a retry, a slow card under load) may hold one of them and want
            # another. PostgreSQL then aborts one side as a deadlock: if it is us, the
            # worker has gone on meanwhile, and a second try succeeds.
            db.session.rollback()
            if attempt == attempts or "deadlock" not in str(error).lower():
                raise
            time.sleep(0.2 * attempt)


@pytest.fixture(scope="session")
def live_server(session_app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port, for the browser tests; mails and QR codes
    link to it (127.0.0.1 is a secure context, as the camera needs)."""
    server = make_server("127.0.0.1", 0, session_app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    previous = session_app.config["BASE_URL"]
    session_app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    session_app.config["BASE_URL"] = previous


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client with its own cookies."""
    return app.test_client()


@pytest.fixture
def make_client(app: Flask):  # type: ignore[no-untyped-def]
    """More clients, for tests with several people at once."""
    return app.test_client


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for calling services and factories directly."""
    with app.app_context():
        yield
        db.session.remove()
