"""The TOTP second factor of staff accounts."""

from __future__ import annotations

from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import User


def enrol_totp(user: User, secret: str, code: str) -> bool:
    """Save the authenticator secret once the user proved it works with a code."""
    step = security.verify_totp(secret, code, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.commit()
    return True


def check_second_factor(user: User, code: str) -> bool:
    """Whether the TOTP code is right and fresh; a used code is refused."""
    if not user.totp_secret:
        return False
    step = security.verify_totp(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    db.session.commit()
    return True
