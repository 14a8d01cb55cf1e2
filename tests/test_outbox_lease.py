"""A claim's lease is its owner's token (issue #10, found by tests/test_hosts.py).

A worker host cut off from the network for longer than the lease stalls between its
claim and its mail; meanwhile the lease runs out and another worker takes the message
and sends it. Once the first host is back it must neither renew that other claim nor
send the mail a second time: before sending, a worker checks that the lease still has
the value it wrote itself.

The stall is made by running the other worker's claim inside ``build_message`` (the
step before sending); database and SMTP server are the real ones.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from ehrenamt.core import mail, outbox
from ehrenamt.extensions import db
from ehrenamt.models import OutboxMessage, UserRole, utcnow
from tests.factories import make_user
from tests.mailbox import Mailbox


def _queued(subject: str) -> int:
    volunteer = make_user(UserRole.VOLUNTEER)
    message = mail.queue_mail(
        volunteer.email, subject, "sign_in_link", link="http://x/y", user=volunteer
    )
    db.session.commit()
    return message.id


def _claimed_by_another_worker(message_id: int) -> datetime:
    """What another worker's claim writes, from a connection of its own."""
    others = (utcnow() + timedelta(minutes=1)).replace(microsecond=123456)
    with db.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(locked_until=others)
        )
    return others


def _row(message_id: int) -> OutboxMessage:
    db.session.rollback()
    row = db.session.get(OutboxMessage, message_id, populate_existing=True)
    assert row is not None
    return row


def test_a_worker_whose_claim_was_taken_over_does_not_send_the_mail(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = _queued("Übernommen")
    build = mail.build_message
    taken: list[datetime] = []

    def stalled(payload: dict[str, Any], built_id: int) -> EmailMessage:
        built = build(payload, built_id)
        taken.append(_claimed_by_another_worker(built_id))
        return built

    monkeypatch.setattr(mail, "build_message", stalled)

    assert mail.deliver(message_id) is False

    time.sleep(0.3)
    assert mailbox.matching(lambda m: "Übernommen" in str(m["Subject"])) == []
    row = _row(message_id)
    assert row.completed_at is None
    assert row.locked_until == taken[0]  # the other worker's claim, left alone


def test_the_keeper_does_not_renew_a_claim_another_worker_took(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "OUTBOX_CLAIM_LEASE_SECONDS", 0.3)
    message_id = _queued("Erneuert?")
    mine = outbox.claim(message_id)
    assert mine is not None

    with outbox.lease_kept(mine) as lease:
        others = _claimed_by_another_worker(message_id)
        time.sleep(0.5)  # renewals are due every 0.1 s
        assert not lease.held()

    assert _row(message_id).locked_until == others


def test_a_live_worker_keeps_its_claim_past_the_lease(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "OUTBOX_CLAIM_LEASE_SECONDS", 0.3)
    message_id = _queued("Gehalten")
    mine = outbox.claim(message_id)
    assert mine is not None

    with outbox.lease_kept(mine) as lease:
        time.sleep(1.0)  # three leases
        assert lease.held()
        assert outbox.claim(message_id) is None  # a second delivery finds it taken

    row = _row(message_id)
    assert row.locked_until is not None and row.locked_until > utcnow()


def test_a_lease_that_ran_out_is_not_held_even_if_nobody_took_it(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that stalled past its lease does not send: from then on the dispatcher
    may hand the message to another at any moment."""
    monkeypatch.setitem(app.config, "OUTBOX_CLAIM_LEASE_SECONDS", 0.3)
    message_id = _queued("Abgelaufen")
    mine = outbox.claim(message_id)
    assert mine is not None
    time.sleep(0.5)  # stalled, nothing renewed

    with outbox.lease_kept(mine) as lease:
        assert not lease.held()


# A mail in doubt: the server may have it, the worker did not record it (issue #10, found
# by tests/test_hosts.py: a worker host cut off between the two sent its mail twice).


def _lease_ran_out(message_id: int) -> None:
    """What a worker cut off from the database leaves: a lease it could not renew."""
    with db.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )


def test_a_worker_cut_off_after_the_server_took_the_mail_records_it_and_nobody_sends_it_again(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = _queued("Abgeschnitten")
    send = mail._send
    meanwhile: list[object] = []

    def cut_off_after_sending(mime: EmailMessage, sent_id: int, accepted: Any) -> None:
        def cut_off_then_back() -> None:
            _lease_ran_out(sent_id)
            # Another worker, and the dispatcher, while this one cannot reach the database.
            meanwhile.append(outbox.dispatch_pending())
            meanwhile.append(mail.deliver(sent_id))
            accepted()

        send(mime, sent_id, cut_off_then_back)

    monkeypatch.setattr(mail, "_send", cut_off_after_sending)

    assert mail.deliver(message_id) is True  # back on the network: recorded
    assert meanwhile == [0, False]
    time.sleep(0.3)
    assert len(mailbox.matching(lambda m: "Abgeschnitten" in str(m["Subject"]))) == 1
    assert _row(message_id).completed_at is not None


def test_a_message_in_doubt_goes_out_again_once_the_wait_is_over(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its worker died after it began to send: after OUTBOX_IN_DOUBT_SECONDS the
    dispatcher hands it over again and it is sent (once more, if the server had it)."""
    monkeypatch.setitem(app.config, "OUTBOX_IN_DOUBT_SECONDS", 60)
    message_id = _queued("Zweifel")

    def fell_silent(seconds_ago: float) -> None:
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    dispatched_at=now - timedelta(seconds=seconds_ago + 1),
                    dispatch_attempts=1,
                    sending_started_at=now - timedelta(seconds=seconds_ago),
                    locked_until=now - timedelta(seconds=seconds_ago - 4),
                )
            )

    fell_silent(30)
    assert outbox.dispatch_pending() == 0
    assert mail.deliver(message_id) is False
    assert mailbox.matching(lambda m: "Zweifel" in str(m["Subject"])) == []

    fell_silent(61)
    assert outbox.dispatch_pending() == 1
    assert mail.deliver(message_id) is True  # as the worker that gets the hand-over
    mailbox.wait_for(subject="Zweifel")


def test_a_mail_server_slow_to_say_goodbye_gets_the_mail_once(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server took the mail and then did not answer QUIT in time: that is sent, not
    a failure for the task to retry (it did, and the mail went twice)."""
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)
    mailbox.quit_delay = 2.0
    message_id = _queued("Tschüss")

    assert mail.deliver(message_id) is True

    assert len(mailbox.matching(lambda m: "Tschüss" in str(m["Subject"]))) == 1
    assert _row(message_id).completed_at is not None


def test_a_mail_the_server_may_have_is_not_sent_again_at_once(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection timed out after the mail went to the server, before its answer:
    the task does not fail (its retry would send at once); the message is in doubt."""
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)
    monkeypatch.setitem(app.config, "OUTBOX_CLAIM_LEASE_SECONDS", 0.3)
    message_id = _queued("Vielleicht")

    with mailbox.stalling(accept=True) as held:
        assert mail.deliver(message_id) is False
        assert held.is_set()

    time.sleep(0.5)  # the lease ran out
    assert outbox.dispatch_pending() == 0
    assert mail.deliver(message_id) is False
    row = _row(message_id)
    assert row.completed_at is None and row.sending_started_at is not None
    # (This server drops a mail whose sender left; another may deliver it: hence the wait.)
    assert mailbox.matching(lambda m: "Vielleicht" in str(m["Subject"])) == []


def test_a_mail_that_surely_failed_may_be_sent_again_at_once(
    app: Flask, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody listened: nothing went out, so the task's retry need not wait."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setitem(app.config, "MAIL_PORT", closed.getsockname()[1])
        message_id = _queued("Erneut")
        with pytest.raises(OSError) as refused:
            mail.deliver(message_id)
    outbox.record_failure(message_id, refused.value)  # as the task does
    assert _row(message_id).sending_started_at is None

    monkeypatch.setitem(app.config, "MAIL_PORT", mailbox.port)
    assert mail.deliver(message_id) is True
    mailbox.wait_for(subject="Erneut")


def test_a_mail_is_recorded_as_sent_before_the_goodbye(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    """A worker that dies after the server took the mail and before recording it leaves
    it to be sent twice (tests/test_hosts.py met one): that gap ends when the server has
    the mail, not after the QUIT that follows."""
    mailbox.quit_delay = 1.0
    message_id = _queued("Vor dem Abschied")
    engine = db.engine
    during_quit: list[object] = []

    def look() -> None:
        time.sleep(0.5)  # the mail is at the server; the worker waits for QUIT's answer
        with engine.connect() as connection:
            during_quit.append(
                connection.scalar(
                    select(OutboxMessage.completed_at).where(OutboxMessage.id == message_id)
                )
            )

    looking = threading.Thread(target=look)
    looking.start()
    assert mail.deliver(message_id) is True
    looking.join()
    assert mailbox.matching(lambda m: "Vor dem Abschied" in str(m["Subject"]))
    assert during_quit[0] is not None
