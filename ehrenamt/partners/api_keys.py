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
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache
from sqlalchemy import or_, select, update

from ehrenamt.extensions import db, per_app
from ehrenamt.models import ApiKey, Partner, PartnerState, User, utcnow

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


@dataclass(frozen=True)
class KeyHolder:
    """Who presented a valid key: the key and its partner (an approved one)."""

    key_id: int
    partner_id: int


def _cache() -> tuple[TTLCache[str, KeyHolder], threading.Lock]:
    """The current app's keys already checked (whole-key hash → holder), with their lock."""
    return per_app(
        "ehrenamt.api_key_cache",
        lambda app: (
            TTLCache(maxsize=10_000, ttl=float(app.config["API_KEY_CACHE_SECONDS"])),
            threading.Lock(),
        ),
    )


def authenticate(bearer: str) -> KeyHolder | None:
    """Who presented ``bearer``, or None if the key is unknown, altered or revoked, or its
    partner is not (or no longer) approved.

    A till sends its key with every check, so a key found valid is kept in memory for
    ``API_KEY_CACHE_SECONDS``: revoking a key takes effect at once in the process that
    revoked it and within that time in every other one. Unknown keys are not kept (they
    are throttled per IP before they get here).
    """
    holder = known(bearer)
    if holder is not None:
        return holder
    if not bearer.startswith(KEY_MARKER) or len(bearer) > 200:
        return None
    prefix, _, secret = bearer[len(KEY_MARKER) :].partition("_")
    if not prefix or not secret:
        return None
    digest = _hash(bearer)
    row = db.session.execute(
        select(ApiKey.id, ApiKey.partner_id, ApiKey.key_hash, ApiKey.revoked_at, Partner.state)
        .join(Partner, Partner.id == ApiKey.partner_id)
        .where(ApiKey.prefix == prefix)
    ).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.revoked_at is not None or row.state != PartnerState.APPROVED:
        return None
    holder = KeyHolder(key_id=row.id, partner_id=row.partner_id)
    cache, lock = _cache()
    with lock:
        cache[digest] = holder
    return holder


def known(bearer: str) -> KeyHolder | None:
    """Who presented ``bearer`` if this process found that key valid within the last
    ``API_KEY_CACHE_SECONDS``; None otherwise (then :func:`authenticate` asks the database)."""
    if not bearer.startswith(KEY_MARKER) or len(bearer) > 200:
        return None
    cache, lock = _cache()
    digest = _hash(bearer)
    with lock:
        return cache.get(digest)


def forget(key: ApiKey) -> None:
    """Drop ``key`` from this process's memory of checked keys (after revoking it)."""
    cache, lock = _cache()
    with lock:
        cache.pop(key.key_hash, None)


def record_use(key_ids: dict[int, datetime]) -> None:
    """Write when keys were last used (``key id → time``), coarsely; the caller commits.

    One conditional UPDATE per key instead of the ORM: two tills using one key at the
    same moment must not make each other's transaction fail on a stale row, and a key
    used within the last ``LAST_USED_RESOLUTION`` is not written again.
    """
    for key_id, at in key_ids.items():
        db.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < at - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )


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
    forget(key)
    return key
