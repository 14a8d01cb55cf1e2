"""Recovery codes: ten single-use codes that stand in for a lost authenticator.

They are shown once, when made, and only their SHA-256 is stored: each carries 80
random bits, so, like the one-time links' tokens, a slow hash would add nothing. Using
one counts towards the per-account lock of the second factor like a TOTP code does
(:mod:`ehrenamt.accounts.second_factor`).
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update

from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import RecoveryCode, User, utcnow

#: How many codes a set has.
CODES_PER_SET = 10
#: 32 letters and digits without the look-alikes 0/O and 1/I: 5 bits a character.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: 16 characters: 80 random bits.
CODE_LENGTH = 16


def normalise_code(code: str) -> str:
    """A code as typed (any case, spaces or dashes) in the form it was hashed in."""
    return "".join(c for c in code.upper() if c not in " -\t")


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def replace_codes(user: User) -> list[str]:
    """A new set of codes for ``user`` instead of any old one (the caller commits).

    Returns the codes in clear, to be shown once; they cannot be read again.
    """
    delete_codes(user)
    codes = [_new_code() for _ in range(CODES_PER_SET)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=security.hash_token(normalise_code(code)))
        for code in codes
    )
    return codes


def delete_codes(user: User) -> None:
    """Remove every code of ``user`` (the caller commits)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def use_code(user: User, code: str) -> bool:
    """Mark ``code`` used if it is one of ``user``'s unused codes (the caller commits).

    One conditional UPDATE, so two requests with the same code cannot both succeed.
    """
    normalised = normalise_code(code)
    if len(normalised) != CODE_LENGTH:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == security.hash_token(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def unused_count(user: User) -> int:
    """How many of ``user``'s codes are still unused."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
