"""This deployment's card keys: the signing key ring and the published keys, per app."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app

from ehrenamt.cardformat.keys import KeyRing, PublishedKeys, SodiumVerifier, Verifier, read_key_ring
from ehrenamt.cardformat.token import UnknownKey, VerifiedCard, verify_token
from ehrenamt.extensions import per_app


def keys_folder() -> Path:
    """The configured key folder; ``instance/card-keys`` unless set."""
    configured = current_app.config.get("CARD_KEYS_FOLDER")
    return Path(configured or Path(current_app.instance_path) / "card-keys")


def load_key_ring() -> KeyRing:
    """The key ring of the current app: the key folder plus the environment's key."""
    config = current_app.config
    return read_key_ring(
        keys_folder(), config.get("CARD_SIGNING_KEY"), config.get("CARD_SIGNING_KEY_ID")
    )


def published_keys() -> PublishedKeys:
    """The current app's in-memory copy of the public keys (one per app and process)."""

    def make(app: Any) -> PublishedKeys:
        def load() -> dict[str, Verifier]:
            with app.app_context():
                keys = load_key_ring().public_keys()
            return {kid: SodiumVerifier(key) for kid, key in keys.items()}

        return PublishedKeys(keys_folder(), load, float(app.config["CARD_KEYS_CACHE_SECONDS"]))

    return per_app("ehrenamt.published_keys", make)


def verify_with_published_keys(token: bytes, now: datetime | None = None) -> VerifiedCard:
    """:func:`verify_token` against this service's published keys (kept in memory)."""
    cache = published_keys()
    try:
        return verify_token(token, cache.keys(), now)
    except UnknownKey as unknown:
        if cache.key(unknown.kid) is None:
            raise
        return verify_token(token, cache.keys(), now)
