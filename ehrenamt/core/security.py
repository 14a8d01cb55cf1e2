"""Passwords, secret tokens and second factors."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@functools.cache
def _hasher_with(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """argon2id with the cost of the settings (PASSWORD_HASH_*)."""
    config = current_app.config
    return _hasher_with(
        int(config["PASSWORD_HASH_TIME_COST"]),
        int(config["PASSWORD_HASH_MEMORY_COST"]),
        int(config["PASSWORD_HASH_PARALLELISM"]),
    )


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the account does not exist, so timing does not tell; made
    with the same cost as real hashes, or it would take a different time."""
    return hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; takes the same time when there is no hash.

    A hash carries its own cost, so hashes made before a change of the settings still
    verify.
    """
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A URL-safe secret with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def local_path(target: str) -> str | None:
    r"""``target`` if it is a path on this site, else None: redirects never leave the site.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/\t/evil.example`` and ``/\evil.example`` would lead to another host.
    """
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    return target


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def verify_totp(secret: str, code: str, last_step: int | None) -> int | None:
    """The accepted time step if ``code`` is valid and not used before, else None.

    Accepts the previous and next 30-second step too, for clocks that drift.
    """
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
