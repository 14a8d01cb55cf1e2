"""Checking a card online, for partners, till systems and the public, and recording it.

:func:`ehrenamt.services.cards.check` decides (signature, validity, revocation); this
module adds who asked and keeps a record of each check for a short period
(``VERIFICATION_RETENTION_DAYS``), deleted by a periodic job. A verifier learns only what
the card itself shows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import selectinload

from ehrenamt.extensions import db
from ehrenamt.models import (
    ApiKey,
    AuditEntry,
    Benefit,
    Card,
    CardState,
    Partner,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.services import cards
from ehrenamt.services.cards import CardCheck

log = logging.getLogger(__name__)


def verify(
    code: str,
    *,
    channel: VerificationChannel,
    partner: Partner | None = None,
    api_key: ApiKey | None = None,
    benefit: Benefit | None = None,
) -> CardCheck:
    """Check ``code`` (QR content or typed card number), record the check, commit."""
    result = cards.check(code)
    if benefit is not None and (partner is None or benefit.partner_id != partner.id):
        benefit = None  # a partner records only its own benefits
    db.session.add(
        Verification(
            partner_id=partner.id if partner else None,
            api_key_id=api_key.id if api_key else None,
            channel=channel,
            result=result.status.value,
            card_id=result.card_id,
            benefit_id=benefit.id if benefit else None,
        )
    )
    db.session.commit()
    return result


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
    """Let the current transaction's commit return before its record reaches the disk.

    For the till API on PostgreSQL: a check's record is a short-lived log entry, and the
    till's answer does not depend on it, so waiting for the WAL flush (milliseconds, the
    largest part of a check) buys nothing a till would notice. A server crash may lose the
    records of the last fraction of a second; it cannot corrupt data or lose other
    transactions (PostgreSQL's ``synchronous_commit = off``, for this transaction only).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
