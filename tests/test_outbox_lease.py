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

import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

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
