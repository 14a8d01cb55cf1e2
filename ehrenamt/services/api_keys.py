"""API keys of till systems: created and revoked by the partner, stored only as a hash.

A key reads ``ek_<prefix>_<secret>``. The prefix (random hex) is stored in the clear to
find the key in one indexed lookup and to show it in the list; the whole key is stored as
its SHA-256 (the key is long and random, so a slow password hash would only cost time on
every till request). The plain key is returned once, at creation, and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ehrenamt.extensions import db
from ehrenamt.models import ApiKey, Partner, User, utcnow

#: Every key starts with this, so a leaked key is recognisable (e.g. by secret scanners).
KEY_MARKER = "ek_"
#: ``last_used_at`` is written at most this often per key: a till checking cards every
#: second would otherwise turn every check into an extra row update.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(partner: Partner, name: str, created_by: User | None) -> tuple[ApiKey, str]:
    """A new key for ``partner``; returns the row and the plain key (shown once). Commits."""
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_MARKER}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        partner_id=partner.id,
        prefix=prefix,
        key_hash=_hash(plaintext),
        name=name.strip(),
        created_by_id=created_by.id if created_by else None,
    )
    db.session.add(key)
    db.session.commit()
    return key, plaintext


def authenticate(bearer: str) -> ApiKey | None:
    """The key a till presented, or None if it is unknown, altered or revoked.

    Records when the key was last used (coarsely); the caller's transaction commits it.
    """
    if not bearer.startswith(KEY_MARKER) or len(bearer) > 200:
        return None
    prefix, _, secret = bearer[len(KEY_MARKER) :].partition("_")
    if not prefix or not secret:
        return None
    # The partner comes in the same query: every API request needs it.
    key = db.session.scalar(
        select(ApiKey).options(joinedload(ApiKey.partner)).where(ApiKey.prefix == prefix)
    )
    if key is None or not hmac.compare_digest(key.key_hash, _hash(bearer)):
        return None
    if key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        # A conditional UPDATE instead of the ORM: two tills using one key at the same
        # moment must not make each other's transaction fail on a stale row.
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return key


def keys_of(partner_id: int) -> list[ApiKey]:
    """The partner's keys, newest first, revoked ones included (for the record)."""
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.partner_id == partner_id).order_by(ApiKey.id.desc())
        )
    )


def revoke_key(partner: Partner, key_id: int) -> ApiKey | None:
    """Revoke one of the partner's own keys; None if it has no such key. Commits.

    Revoking twice keeps the first time.
    """
    key = db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.partner_id == partner.id)
    )
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    db.session.commit()
    return key
