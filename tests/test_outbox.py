"""Commit, then enqueue: the outbox survives a broker outage and never sends twice.

These tests use a Redis server and a Celery worker process of their own (not the shared
ones), so they can stop the broker without disturbing anything else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from ehrenamt import create_app
from ehrenamt.applications import decisions
from ehrenamt.cards import lifecycle
from ehrenamt.core import mail, outbox
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Application, OutboxMessage, User, UserRole, utcnow
from ehrenamt.workflow import Actor, ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.harness import Meet, at_once, wait_until
from tests.mailbox import Mailbox
from tests.processes import RedisServer, WorkerProcess, settings_for

pytestmark = pytest.mark.worker


@pytest.fixture
def worker_process(
    app: Flask, redis_server: RedisServer, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real worker process with beat, on the private Redis, dispatching every second."""
    worker = WorkerProcess(
        app, redis_server.url, tmp_path, beat=True, OUTBOX_DISPATCH_INTERVAL_SECONDS=1.0
    )
    yield worker
    print(worker.log_text()[:5000])  # shown when the test failed
    worker.stop()


def test_mail_survives_redis_being_down_during_approval(
    app: Flask, redis_server: RedisServer, worker_process: WorkerProcess, mailbox: Mailbox
) -> None:
    """Broker stopped, clerk approves, broker back: the approval mail arrives."""
    web = create_app(
        settings_for(app, BROKER_URL=redis_server.url, CELERY_QUEUE=worker_process.queue)
    )  # type: ignore[attr-defined]
    with web.app_context():
        office = make_office()
        clerk = make_user(UserRole.CLERK, office)
        application = make_application(office)
        applicant_email, application_id = application.applicant.email, application.id

        redis_server.stop()
        decisions.approve(application, Acting.user_as(clerk, Actor.CLERK), application.version)
        db.session.remove()

        approved = db.session.get(Application, application_id)
        assert approved is not None and approved.state == ApplicationState.APPROVED
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {m.task for m in messages} == {mail.SEND_MAIL_TASK, lifecycle.ISSUE_CARD_TASK}
        assert all(m.dispatched_at is None and m.last_error for m in messages), (
            "nothing can have left"
        )
        db.session.remove()

    # Nobody calls the dispatcher here: the worker's beat does, once Redis is back.
    redis_server.start()
    [arrived] = mailbox.wait_for(to=applicant_email, subject="bewilligt", timeout=45)
    assert "Karte wird jetzt erstellt" in arrived.get_body(preferencelist=("plain",)).get_content()
    with web.app_context():
        # The worker commits "completed" just after the SMTP server accepted the mail.
        def sent() -> OutboxMessage | None:
            message = db.session.scalar(
                select(OutboxMessage).where(OutboxMessage.task == mail.SEND_MAIL_TASK)
            )
            db.session.rollback()
            return message if message is not None and message.completed_at is not None else None

        wait_until(sent, timeout=10, interval=0.1, message="the mail was never completed")


def test_approval_does_not_hang_when_the_broker_hangs(app: Flask) -> None:
    """A broker that accepts no connection delays the request by seconds, not forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted: connections hang
    try:
        port = listener.getsockname()[1]
        web = create_app(settings_for(app, BROKER_URL=f"redis://127.0.0.1:{port}/0"))
        outcome: dict[str, object] = {}

        def approve() -> None:
            with web.app_context():
                office = make_office()
                clerk = make_user(UserRole.CLERK, office)
                application = make_application(office)
                decisions.approve(
                    application, Acting.user_as(clerk, Actor.CLERK), application.version
                )
                outcome["pending"] = outbox.pending_count()
                db.session.remove()

        thread = threading.Thread(target=approve, daemon=True)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "approval hung on an unresponsive broker"
        assert outcome["pending"] == 2  # the mail and the card job wait in the outbox
    finally:
        listener.close()


def queued_mail(volunteer: User, subject: str, link: str = "http://x/y") -> OutboxMessage:
    """A sign-in mail committed to the outbox but not handed to the broker yet."""
    message = mail.queue_mail(volunteer.email, subject, "sign_in_link", link=link, user=volunteer)
    db.session.commit()
    return message


def test_a_mail_handed_over_twice_is_sent_once(app: Flask, ctx: None, mailbox: Mailbox) -> None:
    """The dispatcher handing a message over twice (redelivery) sends one mail."""
    volunteer = make_user(UserRole.VOLUNTEER)
    message = queued_mail(volunteer, "Doppelt?")
    assert outbox.dispatch([message.id]) == 1
    outbox.dispatch([message.id])  # again, while the worker may be sending it
    mailbox.wait_for(to=volunteer.email, subject="Doppelt?")
    _wait_until_completed(message.id)
    assert outbox.dispatch([message.id]) == 0  # completed messages are not handed over
    assert mail.deliver(message.id) is False
    time.sleep(0.5)
    assert len(mailbox.matching(lambda m: "Doppelt?" in str(m["Subject"]))) == 1


def test_two_simultaneous_deliveries_send_one_mail(app: Flask, ctx: None, mailbox: Mailbox) -> None:
    """Two workers running the same message at the same moment: one sends, one skips."""
    volunteer = make_user(UserRole.VOLUNTEER)
    message = queued_mail(volunteer, "Gleichzeitig")
    message_id = message.id

    def deliver(meet: Meet) -> bool:
        meet()
        return mail.deliver(message_id)

    results = at_once(deliver, deliver, app=app)
    assert sorted(results) == [False, True]
    mailbox.wait_for(to=volunteer.email, subject="Gleichzeitig")
    time.sleep(0.5)
    assert len(mailbox.matching(lambda m: "Gleichzeitig" in str(m["Subject"]))) == 1


def test_a_sent_mail_keeps_no_body(app: Flask, ctx: None, mailbox: Mailbox) -> None:
    """Once sent, the outbox keeps who got what, not the body with its secret link."""
    volunteer = make_user(UserRole.VOLUNTEER)
    message = queued_mail(volunteer, "Geheim", link="http://x/secret-token")
    assert mail.deliver(message.id) is True
    db.session.rollback()
    stored = db.session.get(OutboxMessage, message.id, populate_existing=True)
    assert stored is not None and stored.completed_at is not None
    assert stored.payload == {"to": volunteer.email, "subject": "Geheim"}
    mailbox.wait_for(to=volunteer.email, subject="Geheim")


def _wait_until_completed(message_id: int, timeout: float = 10.0) -> None:
    def completed() -> bool:
        db.session.rollback()
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        return message is not None and message.completed_at is not None

    wait_until(completed, timeout=timeout, message=f"outbox message {message_id} not completed")


def test_dispatch_pending_resends_stale_unfinished_messages(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    """A message the broker lost (dispatched long ago, never completed) is sent again."""
    volunteer = make_user(UserRole.VOLUNTEER)
    message = queued_mail(volunteer, "Verloren")
    message.dispatched_at = utcnow() - app.config["OUTBOX_REDISPATCH_AFTER"] * 2
    message.dispatch_attempts = 1
    db.session.commit()
    assert outbox.dispatch_pending() == 1
    mailbox.wait_for(to=volunteer.email, subject="Verloren")


#: A short claim lease and a dispatcher running every second, so recovery takes seconds
#: here; the same mechanism with the defaults (60 s lease, 30 s interval) takes ~90 s.
LEASE_SECONDS = 3.0
DISPATCH_SECONDS = 1.0
#: A worker that died while the server held its mail may have delivered it: another
#: sends it only after this wait (the default is 300 s).
IN_DOUBT_SECONDS = 6.0
RECOVERY_BOUND = IN_DOUBT_SECONDS + LEASE_SECONDS + DISPATCH_SECONDS + 5.0  # plus pick-up


def test_a_mail_whose_worker_was_killed_arrives_from_another_worker_after_the_doubt(
    app: Flask, redis_server: RedisServer, tmp_path: Path, mailbox: Mailbox
) -> None:
    """SIGKILL the worker while the SMTP server holds its mail: once the lease and the
    doubt have run out the dispatcher hands the message over again, not after the
    broker's 15 minutes; the mail arrives once (this server drops what it held)."""
    queue = f"mail-kill-{time.monotonic_ns()}"
    web = create_app(settings_for(app, BROKER_URL=redis_server.url, CELERY_QUEUE=queue))
    leased = {
        "OUTBOX_CLAIM_LEASE_SECONDS": LEASE_SECONDS,
        "OUTBOX_IN_DOUBT_SECONDS": IN_DOUBT_SECONDS,
    }
    first = WorkerProcess(app, redis_server.url, tmp_path, queue=queue, pool="prefork", **leased)
    second: WorkerProcess | None = None
    try:
        with web.app_context(), mailbox.stalling() as held:
            volunteer = make_user(UserRole.VOLUNTEER)
            message = mail.queue_mail(volunteer.email, "Abgestürzt", "sign_in_link", link="x")
            outbox.commit()
            assert held.wait(30), first.log_text()
            # The other worker already runs, with beat, as in production.
            second = WorkerProcess(
                app,
                redis_server.url,
                tmp_path,
                queue=queue,
                beat=True,
                OUTBOX_DISPATCH_INTERVAL_SECONDS=DISPATCH_SECONDS,
                **leased,
            )
            first.kill()
            killed_at = time.monotonic()
            mailbox.wait_for(to=volunteer.email, subject="Abgestürzt", timeout=60)
            recovery = time.monotonic() - killed_at
            print(f"\nmail recovered {recovery:.1f} s after its worker was killed")
            assert recovery < RECOVERY_BOUND
            _wait_until_completed(message.id)
            time.sleep(LEASE_SECONDS + 2 * DISPATCH_SECONDS)  # time for a second copy
            assert len(mailbox.matching(lambda m: "Abgestürzt" in str(m["Subject"]))) == 1
            db.session.remove()
    finally:
        for worker in (first, second):
            if worker is not None:
                print(worker.log_text()[-3000:])
                worker.stop()


def test_a_slow_mail_server_does_not_make_the_mail_go_twice(
    app: Flask, redis_server: RedisServer, tmp_path: Path, mailbox: Mailbox
) -> None:
    """The SMTP server takes three leases to answer: the live worker keeps renewing its
    claim, so the dispatcher running every second does not hand the mail to another."""
    worker = WorkerProcess(
        app,
        redis_server.url,
        tmp_path,
        beat=True,
        concurrency=2,  # an idle thread that would take a second copy
        OUTBOX_DISPATCH_INTERVAL_SECONDS=DISPATCH_SECONDS,
        OUTBOX_CLAIM_LEASE_SECONDS=LEASE_SECONDS,
        MAIL_TIMEOUT=60,
    )
    web = create_app(settings_for(app, BROKER_URL=redis_server.url, CELERY_QUEUE=worker.queue))
    try:
        with web.app_context():
            volunteer = make_user(UserRole.VOLUNTEER)
            with mailbox.stalling(accept=True) as held:
                message = mail.queue_mail(volunteer.email, "Langsam", "sign_in_link", link="x")
                outbox.commit()
                assert held.wait(30), worker.log_text()
                time.sleep(3 * LEASE_SECONDS)
            mailbox.wait_for(to=volunteer.email, subject="Langsam")
            _wait_until_completed(message.id)
            time.sleep(2 * DISPATCH_SECONDS)
            assert len(mailbox.matching(lambda m: "Langsam" in str(m["Subject"]))) == 1
            db.session.rollback()
            stored = db.session.get(OutboxMessage, message.id)
            assert stored is not None and stored.dispatch_attempts == 1
            db.session.remove()
    finally:
        print(worker.log_text()[-3000:])
        worker.stop()
