"""Records of card checks, written in batches and deleted after their retention."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from ehrenamt.extensions import db, per_app
from ehrenamt.models import (
    Verification,
    utcnow,
)
from ehrenamt.partners import api_keys

log = logging.getLogger(__name__)


class RecordWriter:
    """Writes the records of checks to the database in batches, from a thread of its own.

    A till's answer does not depend on the record of its check, so the API does not wait
    for it: :meth:`add` queues the record, and the thread writes what has queued every
    ``VERIFICATION_RECORD_FLUSH_SECONDS``, in one transaction with one multi-row INSERT,
    together with the API keys' last use. Pages call :meth:`flush` at once.

    What can be lost, and when: a process that is killed loses the records of its last
    interval; one that stops normally writes them at exit. While the database cannot be
    reached the records wait for a later try, at most ``VERIFICATION_RECORD_MAX_PENDING``
    of them (beyond that the oldest are dropped, and the log says how many).
    """

    def __init__(self, app: Flask, interval: float, max_pending: int) -> None:
        self._app = app
        self._interval = interval
        self._max_pending = max_pending
        self._start_empty()
        _WRITERS.add(self)
        atexit.register(self.stop)

    def _start_empty(self) -> None:
        """Nothing queued, no thread yet; also in a forked child (a web server's worker),
        where the queue is the parent's to write and the thread and locks did not follow."""
        self._lock = threading.Lock()  # guards what is queued and the thread
        self._write_lock = threading.Lock()  # one batch at a time, in the order queued
        self._pending: list[dict[str, Any]] = []
        self._key_uses: dict[int, datetime] = {}
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def add(self, record: dict[str, Any]) -> None:
        """Queue one record (the columns of :class:`Verification`, ``at`` included)."""
        with self._lock:
            self._pending.append(record)
            self._trim()
            if record.get("api_key_id") is not None:
                self._note(record["api_key_id"], record["at"])
            self._start()

    def note_key_use(self, key_id: int) -> None:
        """Queue "the API key was used now" (for requests that record no check)."""
        with self._lock:
            self._note(key_id, utcnow())
            self._start()

    def pending(self) -> int:
        """How many records wait to be written."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write what has queued now; returns how many records were written.

        If the database fails, the records go back to the queue and the error is raised.
        """
        with self._write_lock:
            with self._lock:
                rows, self._pending = self._pending, []
                uses, self._key_uses = self._key_uses, {}
            if not rows and not uses:
                return 0
            try:
                self._write(rows, uses)
            except Exception:
                with self._lock:
                    self._pending[:0] = rows
                    self._trim()
                    for key_id, at in uses.items():
                        self._note(key_id, at)
                raise
            return len(rows)

    def stop(self) -> None:
        """Stop the thread and write what is left (at exit, and when tests end)."""
        self._stopped.set()
        try:
            self.flush()
        except Exception:
            log.exception("%d verification records could not be written at exit", self.pending())

    # -- inside ------------------------------------------------------------------------------

    def _note(self, key_id: int, at: datetime) -> None:
        if at > self._key_uses.get(key_id, at - timedelta(seconds=1)):
            self._key_uses[key_id] = at

    def _trim(self) -> None:
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            del self._pending[:excess]
            log.error("dropped the %d oldest unwritten verification records", excess)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="verification-records", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        stopped = self._stopped
        while not stopped.wait(self._interval):
            try:
                self.flush()
            except Exception:
                log.exception("verification records not written; trying again")

    def _write(self, rows: list[dict[str, Any]], uses: dict[int, datetime]) -> None:
        with self._app.app_context():
            try:
                defer_record_flush()
                if rows:
                    db.session.execute(insert(Verification), rows)
                api_keys.record_use(uses)
                db.session.commit()
            except IntegrityError:
                # A card, benefit, key or partner deleted since the check: write the
                # others, and of those rows what still refers to something.
                db.session.rollback()
                api_keys.record_use(uses)
                db.session.commit()
                for row in rows:
                    self._write_alone(row)
            finally:
                db.session.remove()

    @staticmethod
    def _write_alone(row: dict[str, Any]) -> None:
        for attempt in (row, {**row, "card_id": None, "benefit_id": None, "api_key_id": None}):
            try:
                db.session.execute(insert(Verification), [attempt])
                db.session.commit()
                return
            except IntegrityError:
                db.session.rollback()
        log.warning("verification record of a deleted partner dropped")


#: Every writer of this process, to be emptied in a forked child.
_WRITERS: weakref.WeakSet[RecordWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._start_empty()


os.register_at_fork(after_in_child=_after_fork_in_child)


def record_writer() -> RecordWriter:
    """The current app's writer of check records (one per app and process)."""
    return per_app(
        "ehrenamt.verification_records",
        lambda app: RecordWriter(
            app,
            float(app.config["VERIFICATION_RECORD_FLUSH_SECONDS"]),
            int(app.config["VERIFICATION_RECORD_MAX_PENDING"]),
        ),
    )


def defer_record_flush() -> None:
    """Let the current transaction's commit return before its records reach the disk.

    For the batches of check records on PostgreSQL: they are short-lived log entries that
    no answer depends on, so waiting for the WAL flush buys nothing. A server crash may
    lose the records of the last fraction of a second; it cannot corrupt data or lose other
    transactions (PostgreSQL's ``synchronous_commit = off``, for this transaction only).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
