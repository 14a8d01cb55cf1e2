"""The revocation list for offline verifiers: keyed hashes of revoked numbers."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from ehrenamt.cards.index import card_index
from ehrenamt.core import audit
from ehrenamt.extensions import db, per_app
from ehrenamt.models import (
    AuditEntry,
    Card,
    CardState,
    RetainedRevocation,
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
    # Deleted cards' numbers stay on the list (retained revocations) until their end.
    if full:
        query = select(Card.number).where(Card.state == CardState.REVOKED)
        retained = select(RetainedRevocation.number)
    else:
        query = (
            select(Card.number)
            .join(AuditEntry, AuditEntry.subject_id == Card.id)
            .where(is_revocation, AuditEntry.id > since, AuditEntry.id <= version)
            .distinct()
        )
        retained = select(RetainedRevocation.number).where(
            RetainedRevocation.revocation_version > since,
            RetainedRevocation.revocation_version <= version,
        )
    salt = revocation_list_salt()
    numbers = set(db.session.scalars(query)) | set(db.session.scalars(retained))
    hashes = sorted(revocation_hash(salt, number) for number in numbers)
    return RevocationList(version=version, full=full, salt=salt, hashes=hashes)


@dataclass(frozen=True)
class PublishedList:
    """The whole list as anyone may fetch it: the salt and the hashes, sorted."""

    salt: str
    hashes: tuple[str, ...]


class _PublishedListCache:
    """The published list of one app, hashed again only when the revoked numbers change.

    The public card page fetches the list on every check, so it is built from the
    process's card index (read again at most every ``CARD_REVOCATIONS_REFRESH_SECONDS``)
    instead of the database, and its hashes are kept until that set changes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers: frozenset[str] | None = None
        self._published = PublishedList(salt="", hashes=())

    def get(self, salt: str, numbers: frozenset[str]) -> PublishedList:
        with self._lock:
            if numbers != self._numbers or salt != self._published.salt:
                hashes = tuple(sorted(revocation_hash(salt, number) for number in numbers))
                self._published = PublishedList(salt=salt, hashes=hashes)
                self._numbers = numbers
            return self._published


def published_revocation_list() -> PublishedList:
    """Every revoked card as a keyed hash, for anyone (the public card page, apps).

    Revocation is final, so the list only grows; it is as fresh as the process's card
    index. docs/card-format.md (section 11) says why it may be public.
    """
    cache = per_app("ehrenamt.published_revocations", lambda app: _PublishedListCache())
    return cache.get(revocation_list_salt(), card_index().revoked_numbers())
