"""The revocation list for offline verifiers: keyed hashes of revoked numbers."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from ehrenamt.core import audit
from ehrenamt.extensions import db
from ehrenamt.models import (
    AuditEntry,
    Card,
    CardState,
)

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
    is_revocation = (AuditEntry.subject_type == audit.Subject.CARD) & (
        AuditEntry.action == audit.AuditAction.REVOKE
    )
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
