"""Checking a card online, for partners, till systems and the public, and recording it.

:func:`ehrenamt.services.cards.check` decides (signature, validity, revocation); this
module adds who asked and keeps a record of each check for a short period
(``VERIFICATION_RETENTION_DAYS``), deleted by a periodic job. A verifier learns only what
the card itself shows.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ehrenamt.extensions import db, per_app
from ehrenamt.models import (
    AuditEntry,
    Benefit,
    Card,
    CardState,
    Partner,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.services import api_keys, cards
from ehrenamt.services.cards import CardCheck

log = logging.getLogger(__name__)


def verify(
    code: str,
    *,
    channel: VerificationChannel,
    partner_id: int | None = None,
    api_key_id: int | None = None,
    benefit: Benefit | None = None,
    wait_for_record: bool = True,
) -> CardCheck:
    """Check ``code`` (QR content or typed card number) and record the check.

    With ``wait_for_record`` the record is in the database when this returns (pages show
    it in the history at once); without, it is written with the next batch (the till
    API, whose answer does not depend on it).
    """
    result = cards.check(code)
    if benefit is not None and benefit.partner_id != partner_id:
        benefit = None  # a partner records only its own benefits
    writer = record_writer()
    writer.add(
        {
            "at": utcnow(),
            "partner_id": partner_id,
            "api_key_id": api_key_id,
            "channel": channel,
            "result": result.status.value,
            "card_id": result.card_id,
            "benefit_id": benefit.id if benefit else None,
        }
    )
    if wait_for_record:
        writer.flush()
    return result


# --- writing the records in batches ----------------------------------------------------------


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


def delete_expired_records() -> int:
    """Periodic: delete checks older than the retention period; log the count only."""
    retention = timedelta(days=int(current_app.config["VERIFICATION_RETENTION_DAYS"]))
    result = db.session.execute(delete(Verification).where(Verification.at < utcnow() - retention))
    db.session.commit()
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.info("deleted %d verification records past their retention period", count)
    return count


def benefit_of_partner(partner_id: int, public_id: str) -> Benefit | None:
    """One of the partner's own benefits by its public id, or None."""
    return db.session.scalar(
        select(Benefit).where(Benefit.partner_id == partner_id, Benefit.public_id == public_id)
    )


# --- the revocation list for offline verifiers -------------------------------------------------

#: How an entry of the revocation list is computed (docs/card-format.md explains it).
REVOCATION_HASH_ALGORITHM = "HMAC-SHA256/64"
#: Bytes of the HMAC kept: 8 bytes make a chance match of an unrevoked card with one of
#: n revoked cards about n / 2**64, while the list stays short.
REVOCATION_HASH_BYTES = 8


def revocation_list_salt() -> str:
    """The published key of the list's hashes (hex), fixed per deployment."""
    configured = current_app.config.get("REVOCATION_LIST_SALT")
    if configured:
        return str(configured)
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"ehrenamt revocation list salt", hashlib.sha256).hexdigest()[:32]


def revocation_hash(salt: str, card_number: str) -> str:
    """HMAC-SHA256 of the canonical card number under the salt (as text), first 8 bytes."""
    digest = hmac.new(salt.encode(), card_number.encode(), hashlib.sha256).digest()
    return digest[:REVOCATION_HASH_BYTES].hex()


@dataclass(frozen=True)
class RevocationList:
    """Revoked cards as hashes; ``full`` unless only the changes after ``since`` are given."""

    version: int
    full: bool
    salt: str
    hashes: list[str]


def revocation_list(since: int | None = None) -> RevocationList:
    """All revoked cards, or those revoked after version ``since`` (an earlier answer's).

    The version is the id of the newest card revocation in the audit log: it only grows,
    and a card once revoked stays revoked, so "revoked after version v" is exactly the
    cards whose revocation entry has a larger id. A ``since`` from the future (another
    deployment, a reset database) gets the full list.
    """
    is_revocation = (AuditEntry.subject_type == "card") & (AuditEntry.action == "revoke")
    version = db.session.scalar(select(func.max(AuditEntry.id)).where(is_revocation)) or 0
    full = since is None or since > version
    if full:
        query = select(Card.number).where(Card.state == CardState.REVOKED)
    else:
        query = (
            select(Card.number)
            .join(AuditEntry, AuditEntry.subject_id == Card.id)
            .where(is_revocation, AuditEntry.id > since, AuditEntry.id <= version)
            .distinct()
        )
    salt = revocation_list_salt()
    hashes = sorted(revocation_hash(salt, number) for number in db.session.scalars(query))
    return RevocationList(version=version, full=full, salt=salt, hashes=hashes)


# --- a partner's history and counts -----------------------------------------------------------


@dataclass(frozen=True)
class HistoryPage:
    """One page of a partner's checks, newest first."""

    items: list[Verification]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def verification_history(partner_id: int, page: int, page_size: int) -> HistoryPage:
    """The partner's own checks, newest first, paged in the database (pages from 1)."""
    page = max(1, page)
    page_size = max(1, min(page_size, 500))
    mine = Verification.partner_id == partner_id
    total = db.session.scalar(select(func.count()).select_from(Verification).where(mine)) or 0
    items = db.session.scalars(
        select(Verification)
        .where(mine)
        .options(selectinload(Verification.card), selectinload(Verification.benefit))
        .order_by(Verification.at.desc(), Verification.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return HistoryPage(items=list(items), page=page, page_size=page_size, total=total)


def counts_by_result(partner_id: int, since: datetime | None = None) -> dict[str, int]:
    """How many checks the partner made per result (every result present, zero if none)."""
    query = (
        select(Verification.result, func.count())
        .where(Verification.partner_id == partner_id)
        .group_by(Verification.result)
    )
    if since is not None:
        query = query.where(Verification.at >= since)
    counts = {status.value: 0 for status in cards.CheckStatus}
    for result, count in db.session.execute(query):
        counts[result] = int(count)
    return counts


def counts_per_partner(office_id: int, since: datetime | None = None) -> dict[int, dict[str, int]]:
    """For staff: checks per partner of the office and per result, ``{partner_id: counts}``."""
    query = (
        select(Verification.partner_id, Verification.result, func.count())
        .join(Partner, Partner.id == Verification.partner_id)
        .where(Partner.office_id == office_id)
        .group_by(Verification.partner_id, Verification.result)
    )
    if since is not None:
        query = query.where(Verification.at >= since)
    counts: dict[int, dict[str, int]] = {}
    for partner_id, result, count in db.session.execute(query):
        assert partner_id is not None  # joined to a partner
        row = counts.setdefault(partner_id, {s.value: 0 for s in cards.CheckStatus})
        row[result] = int(count)
    return counts


def defer_record_flush() -> None:
    """Let the current transaction's commit return before its records reach the disk.

    For the batches of check records on PostgreSQL: they are short-lived log entries that
    no answer depends on, so waiting for the WAL flush buys nothing. A server crash may
    lose the records of the last fraction of a second; it cannot corrupt data or lose other
    transactions (PostgreSQL's ``synchronous_commit = off``, for this transaction only).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
