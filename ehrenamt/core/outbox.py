"""Commit, then enqueue.

A service adds an :class:`OutboxMessage` in the same transaction as the change it
belongs to (:func:`enqueue`), then calls :func:`commit`, which commits and only then
hands the new messages to Celery. If the broker is down, or the process dies between the
commit and the hand-over, the message stays in the table and the periodic
:func:`dispatch_pending` sends it later. Tasks receive the message id and mark it
completed (:func:`claim` / :func:`complete`), so a message delivered twice does its work
once.

A claim is a short lease (``OUTBOX_CLAIM_LEASE_SECONDS``) that the working task renews
from a thread of its own (:func:`lease_kept`). A live lease therefore means a live
worker: a second delivery leaves the message alone, however long the work takes. A
lease that ran out unfinished means the worker died; the periodic dispatcher hands
such a message over again on its next run, instead of waiting for the broker's
visibility timeout. A worker that was only cut off (its host lost the network for longer
than the lease) may come back while another holds the message: the lease's end is its
owner's token, so it neither renews the other's claim nor sends the mail a second time
(:meth:`Lease.held`, asked right before sending).

Between the mail server taking a mail and the worker recording it as sent lies a gap no
lease can close: a worker cut off in that gap comes back and records the mail, but by
then another worker would have sent it too. So a worker marks the message before it
starts sending (:meth:`Lease.begin_sending`, in the same statement that checks its
lease); a marked message whose worker fell silent is *in doubt*, and nobody sends it
again for ``OUTBOX_IN_DOUBT_SECONDS``. A worker that was only cut off records the mail
within that time; one that died costs its mail that delay (and, had the server taken
the mail, a second copy with the same Message-ID). A send that surely failed (the
server refused, or was never reached) clears the mark (:func:`sending_failed`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import Engine, and_, or_, select, update

from ehrenamt.extensions import db
from ehrenamt.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

_PENDING_KEY = "ehrenamt.outbox.new"


def enqueue(task: str, **payload: Any) -> OutboxMessage:
    """Add a message for ``task`` to the current transaction."""
    message = OutboxMessage(task=task, payload=payload)
    db.session.add(message)
    db.session.info.setdefault(_PENDING_KEY, []).append(message)
    return message


def commit() -> None:
    """Commit the session, then hand the messages it created to the broker."""
    created: list[OutboxMessage] = db.session.info.pop(_PENDING_KEY, [])
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if created:
        dispatch([message.id for message in created])


def rollback() -> None:
    """Roll back, forgetting the messages the transaction had created."""
    db.session.info.pop(_PENDING_KEY, None)
    db.session.rollback()


def dispatch(message_ids: Iterable[int]) -> int:
    """Hand these messages to Celery; return how many went out.

    A failure is logged and recorded on the message, never raised: the change the
    message belongs to is committed already, and the periodic dispatcher tries again.
    """
    celery = current_app.extensions["celery"]
    sent = 0
    for message_id in message_ids:
        # Read the row as it is now: a worker may have completed it in the meantime.
        message = unfinished(message_id)
        if message is None:
            continue
        attempt = message.dispatch_attempts + 1
        try:
            celery.send_task(
                message.task,
                kwargs={"message_id": message.id},
                task_id=f"outbox-{message.id}-{attempt}",
            )
        except Exception as error:  # the broker's errors vary by transport
            log.warning("outbox message %s not handed over: %s", message.id, error)
            message.dispatch_attempts = attempt
            message.last_error = f"dispatch: {error}"[:2000]
        else:
            message.dispatched_at = utcnow()
            message.dispatch_attempts = attempt
            message.last_error = None
            sent += 1
        db.session.commit()
    return sent


def dispatch_pending(limit: int = 500) -> int:
    """Send what was never handed over, what was handed over but never finished, and
    what a worker claimed and then dropped (its lease ran out: the worker died)."""
    config = current_app.config
    now = utcnow()
    stale_before = now - config["OUTBOX_REDISPATCH_AFTER"]
    not_held = or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)
    # Claimed after its last hand-over and not renewed since: its worker is gone. Once
    # handed over again, the hand-over is newer than the lease, so the next run does not
    # send it a third time unless a worker claims it and dies again.
    abandoned = and_(
        OutboxMessage.locked_until < now,
        OutboxMessage.locked_until > OutboxMessage.dispatched_at,
    )
    # A message in doubt goes out again only once its wait is over, by either path;
    # handing it over sooner would only push its next hand-over back.
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.completed_at.is_(None),
            OutboxMessage.dispatch_attempts < config["OUTBOX_MAX_ATTEMPTS"],
            not_in_doubt(now),
            or_(
                OutboxMessage.dispatched_at.is_(None),
                and_(OutboxMessage.dispatched_at < stale_before, not_held),
                abandoned,
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    ids = list(db.session.scalars(query))
    db.session.commit()
    return dispatch(ids) if ids else 0


def not_in_doubt(now: datetime) -> Any:
    """SQL: no worker began to send the message, or it began so long ago that its
    worker, had it been merely cut off, would have recorded the mail as sent by now."""
    waited = timedelta(seconds=float(current_app.config["OUTBOX_IN_DOUBT_SECONDS"]))
    return or_(
        OutboxMessage.sending_started_at.is_(None),
        OutboxMessage.sending_started_at < now - waited,
    )


def unfinished(message_id: int) -> OutboxMessage | None:
    """The message as it is now in the database, or None once it is done (or gone).

    A message is done when :func:`complete` has marked it, and only then: every task and
    the dispatcher ask here (or :func:`claim`), none looks at the row itself.
    """
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.completed_at is not None:
        return None
    return message


def claim(message_id: int) -> OutboxMessage | None:
    """Take the message for this task; None if it is done, gone, or another task has it.

    One conditional UPDATE decides, so of two deliveries running at once only one
    works. The lease is short and expires, so a worker that died does not block the
    message for long; a task that works longer keeps it with :func:`lease_kept`.
    """
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.completed_at.is_(None),
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            not_in_doubt(now),
        )
        .values(locked_until=now + claim_lease())
    )
    db.session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def claim_lease() -> timedelta:
    """How long a claim lasts unless renewed (``OUTBOX_CLAIM_LEASE_SECONDS``)."""
    return timedelta(seconds=float(current_app.config["OUTBOX_CLAIM_LEASE_SECONDS"]))


@contextmanager
def lease_kept(message: OutboxMessage) -> Iterator[Lease]:
    """Renew the claim on the message every third of the lease while the block runs.

    The renewing thread lives in the worker process, so it stops when the worker dies
    (SIGKILL, out of memory, machine gone) and only then does the lease run out. The
    yielded :class:`Lease` says whether the claim is still this worker's: ask it right
    before an effect that must not happen twice (sending a mail).
    """
    assert message.locked_until is not None, "claim the message first"
    keeper = _LeaseKeeper(db.engine, message.id, message.locked_until, claim_lease())
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.stop()


class Lease(Protocol):
    """A claim held by this worker (see :func:`lease_kept`)."""

    def held(self) -> bool:
        """Extend the claim now, if it is still this worker's; False if it ran out and
        another worker may have taken the message (or it was completed or released)."""
        ...

    def begin_sending(self) -> bool:
        """:meth:`held`, and in the same statement mark the message as being sent (see
        the module's docstring); False: do not send."""
        ...


class _LeaseKeeper(threading.Thread):
    """Extends ``locked_until`` of one claimed message until stopped.

    The lease's current end is its owner's token: every renewal changes it only where it
    still has the value this worker wrote. A worker cut off for longer than the lease
    therefore cannot extend (or act on) a claim another worker has taken meanwhile.
    """

    def __init__(self, engine: Engine, message_id: int, until: datetime, lease: timedelta) -> None:
        super().__init__(name=f"outbox-lease-{message_id}", daemon=True)
        self._engine, self._message_id, self._lease = engine, message_id, lease
        self._until: datetime | None = until
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self._lease.total_seconds() / 3):
            try:
                if not self.held():
                    return  # lost: nothing left to renew
            except Exception as error:  # the next beat tries again; the task goes on
                log.warning("lease of outbox message %s not renewed: %s", self._message_id, error)

    def held(self) -> bool:
        """See :meth:`Lease.held`."""
        return self._renew()

    def begin_sending(self) -> bool:
        """See :meth:`Lease.begin_sending`."""
        return self._renew(sending_started_at=utcnow())

    def _renew(self, **also: datetime) -> bool:
        with self._lock:
            if self._until is None:
                return False
            until = utcnow() + self._lease
            # Its own connection: the task's session is busy in the task's thread.
            with self._engine.begin() as connection:
                result = connection.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == self._message_id,
                        OutboxMessage.completed_at.is_(None),
                        # Still the value this worker wrote: nobody took or released it.
                        OutboxMessage.locked_until == self._until,
                        # Not run out: another worker may take it from then on.
                        OutboxMessage.locked_until > utcnow(),
                    )
                    .values(locked_until=until, **also)
                )
            self._until = until if result.rowcount else None
            return self._until is not None

    def stop(self) -> None:
        """End the renewals and wait for one in flight, so none lands after a release."""
        self._stopped.set()
        self.join()


def complete(message_id: int, keep: dict[str, Any] | None = None) -> bool:
    """Mark the message done; False if another delivery of it finished first.

    ``keep`` replaces the payload: what a finished message needs no longer (a mail's
    body with its secret links) should not stay in the database and its backups.
    """
    values: dict[str, Any] = {"completed_at": utcnow(), "last_error": None, "locked_until": None}
    if keep is not None:
        values["payload"] = keep
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.completed_at.is_(None))
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def sending_failed(message_id: int) -> None:
    """The mail surely did not go out (refused, or the server never reached): clear the
    mark :meth:`Lease.begin_sending` set, so a retry need not wait."""
    db.session.rollback()
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(sending_started_at=None)
    )
    db.session.commit()


def record_failure(message_id: int, error: BaseException) -> None:
    """Note why a task failed, for staff looking at stuck messages."""
    db.session.rollback()
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        # Free the message at once, so the task's retry can take it again.
        .values(last_error=f"task: {error}"[:2000], locked_until=None)
    )
    db.session.commit()


def pending_count() -> int:
    """Messages not yet completed."""
    query = (
        select(db.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.completed_at.is_(None))
    )
    return int(db.session.scalar(query) or 0)
