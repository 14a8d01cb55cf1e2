"""Issuing survives the failures of real processes: a killed worker, a stopped broker.

These tests run Celery worker processes on a Redis server of their own, so they can
kill the one and stop the other without disturbing the rest of the suite.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ehrenamt import create_app
from ehrenamt.applications import decisions
from ehrenamt.cards import lifecycle, register
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, Card, CardState, OutboxMessage, UserRole
from ehrenamt.workflow import Actor
from tests.factories import make_application, make_office, make_user
from tests.harness import wait_for_card, wait_until
from tests.mailbox import Mailbox
from tests.processes import RedisServer, WorkerProcess, settings_for

pytestmark = pytest.mark.worker

#: Redelivery of what a dead worker held, fast enough for a test: the message becomes
#: visible again after 2 s and a worker looks for such messages every second.
FAST_REDELIVERY = {
    "broker_transport_options": {
        "visibility_timeout": 2,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 1,
        "socket_timeout": 5,
    }
}


@contextmanager
def writes_blocked(app: Flask) -> Iterator[None]:
    """Hold a lock that makes storing a card's documents wait, as a slow disk would."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")  # other writers wait (busy_timeout)
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
    else:
        with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as conn:
            conn.execute("LOCK TABLE card_document IN SHARE ROW EXCLUSIVE MODE")
            yield
            conn.rollback()


def issue_audit(card_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "card", AuditEntry.subject_id == card_id)
            .order_by(AuditEntry.id)
        )
    )


#: A short claim lease and a dispatcher running every second: recovery takes seconds
#: here; with the defaults (60 s lease, 30 s interval) it takes at most ~90 s.
LEASE = {"OUTBOX_CLAIM_LEASE_SECONDS": 3.0}
DISPATCH_SECONDS = 1.0
RECOVERY_BOUND = 3.0 + DISPATCH_SECONDS + 5.0  # plus starting the second worker


def claimed(job_id: int) -> bool:
    """Whether a worker has claimed the outbox message."""
    db.session.rollback()
    job = db.session.get(OutboxMessage, job_id, populate_existing=True)
    return job is not None and job.locked_until is not None


@pytest.mark.parametrize(
    "redelivery",
    [
        pytest.param(FAST_REDELIVERY, id="broker-redelivers-too"),
        pytest.param({}, id="broker-waits-15-minutes"),
    ],
)
def test_worker_killed_mid_task_the_card_is_issued_once_within_the_lease(
    app: Flask,
    redis_server: RedisServer,
    tmp_path: Path,
    mailbox: Mailbox,
    redelivery: dict[str, object],
) -> None:
    """SIGKILL the worker while it stores the card: its claim runs out, the dispatcher
    hands the job to another worker, which issues the card exactly once. Whether or not
    the broker redelivers its copy meanwhile (which finds the lease and leaves it)."""
    queue = f"kill-test-{time.monotonic_ns()}"
    web = create_app(settings_for(app, BROKER_URL=redis_server.url, CELERY_QUEUE=queue))
    sqlite = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite"
    first: WorkerProcess | None = None
    second: WorkerProcess | None = None

    def start_first() -> WorkerProcess:
        # Two processes: the approval's mail to the applicant is in the queue too.
        return WorkerProcess(
            app, redis_server.url, tmp_path, queue=queue, pool="prefork", CELERY=redelivery, **LEASE
        )

    try:
        with web.app_context():
            office = make_office()
            application = make_application(office)
            clerk = make_user(UserRole.CLERK, office)
            holder_email = application.applicant.email
            decisions.approve(application, Acting.user_as(clerk, Actor.CLERK), application.version)
            card = register.card_for_application(application.id)
            assert card is not None
            card_id = card.id
            job_id = db.session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.task == lifecycle.ISSUE_CARD_TASK)
            ).one()
            db.session.rollback()
            if sqlite:
                # SQLite locks the whole file, the claim too: block once the job is claimed
                # (signing and rendering take longer than this poll).
                first = start_first()
                wait_until(lambda: claimed(job_id), timeout=30, interval=0.005)
            with writes_blocked(app):
                # This worker takes the job from Redis and gets stuck storing the card.
                first = first or start_first()
                first.wait_for_log("Task ehrenamt.issue_card[")
                time.sleep(1.5)  # signed and rendered; now waiting to store
                assert claimed(job_id)
                first.kill()
                killed_at = time.monotonic()
            db.session.rollback()
            card = db.session.get(Card, card_id, populate_existing=True)
            assert card is not None and card.state == CardState.ISSUING
            assert not card.documents, "the killed worker must not have stored anything"
            db.session.rollback()

            second = WorkerProcess(
                app,
                redis_server.url,
                tmp_path,
                queue=queue,
                pool="prefork",
                concurrency=1,
                beat=True,
                OUTBOX_DISPATCH_INTERVAL_SECONDS=DISPATCH_SECONDS,
                CELERY=redelivery,
                **LEASE,
            )
            card = wait_for_card(card_id, timeout=60)
            recovery = time.monotonic() - killed_at
            print(f"\ncard issued {recovery:.1f} s after its worker was killed")
            assert recovery < RECOVERY_BOUND
            assert issue_audit(card_id) == ["create", "issue"]
            assert len(card.documents) == 2
            mailbox.wait_for(to=holder_email, subject="Ehrenamtskarte ist da")
            time.sleep(3)  # a second issuing, if there were one, would mail again
            ready = mailbox.matching(
                lambda m: holder_email in str(m["To"]) and "ist da" in str(m["Subject"])
            )
            assert [str(m["Subject"]) for m in ready] == ["Ihre Ehrenamtskarte ist da"]
            db.session.remove()
    finally:
        for worker in (first, second):
            if worker is not None:
                print(worker.log_text()[-3000:])
                worker.stop()


def test_card_is_issued_after_redis_was_down_during_the_approval(
    app: Flask, redis_server: RedisServer, tmp_path: Path, mailbox: Mailbox
) -> None:
    """Broker stopped, clerk approves, broker back: beat hands the card job over."""
    worker = WorkerProcess(
        app, redis_server.url, tmp_path, beat=True, OUTBOX_DISPATCH_INTERVAL_SECONDS=1.0
    )
    web = create_app(settings_for(app, BROKER_URL=redis_server.url, CELERY_QUEUE=worker.queue))
    try:
        with web.app_context():
            office = make_office()
            application = make_application(office)
            clerk = make_user(UserRole.CLERK, office)
            holder_email = application.applicant.email

            redis_server.stop()
            decisions.approve(application, Acting.user_as(clerk, Actor.CLERK), application.version)
            card = register.card_for_application(application.id)
            assert card is not None and card.state == CardState.ISSUING
            card_id = card.id
            [job] = db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.task == lifecycle.ISSUE_CARD_TASK)
            ).all()
            assert job.dispatched_at is None and job.last_error
            db.session.rollback()

            redis_server.start()
            card = wait_for_card(card_id, timeout=60)
            assert issue_audit(card_id) == ["create", "issue"]
            mailbox.wait_for(to=holder_email, subject="Ehrenamtskarte ist da", timeout=30)
            db.session.remove()
    finally:
        print(worker.log_text()[-3000:])
        worker.stop()
