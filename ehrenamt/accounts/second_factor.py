"""The TOTP second factor of staff accounts, and its lock after too many wrong codes.

The per-IP rate limit alone let ten addresses guess five times as often as one, after a
single right password. Wrong codes are therefore counted per account in the database
(OWASP ASVS 2.2.1), so all addresses and all web processes add up: after
SECOND_FACTOR_MAX_FAILURES wrong codes no code of the account is checked for
SECOND_FACTOR_LOCK_SECONDS, and the person is told by mail that someone knew their
password.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, literal, or_, update

from ehrenamt.accounts import users
from ehrenamt.core import audit, mail, outbox, security
from ehrenamt.extensions import db
from ehrenamt.models import User, utcnow
from ehrenamt.models.base import UTCDateTime

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    """What became of a second-factor code."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    #: Not checked, or the last wrong code allowed: the account's second factor is locked.
    LOCKED = "locked"


@dataclass(frozen=True)
class SecondFactorCheck:
    """The outcome of a code, and until when the second factor is locked (if it is)."""

    outcome: Outcome
    locked_until: datetime | None = None


def enrol_totp(user: User, secret: str, code: str) -> bool:
    """Save the authenticator secret once the user proved it works with a code."""
    step = security.verify_totp(secret, code, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.commit()
    return True


def check_second_factor(user: User, code: str) -> SecondFactorCheck:
    """Check a TOTP code: right and fresh, wrong (or used before), or not checked at all
    because the account's second factor is locked. Commits."""
    if not user.totp_secret:
        return SecondFactorCheck(Outcome.WRONG)
    user_id = user.id
    attempt = _reserve_attempt(user_id)
    if attempt is None:
        db.session.expire(user)
        return SecondFactorCheck(Outcome.LOCKED, user.second_factor_locked_until)
    attempts, locked_until = attempt
    step = security.verify_totp(user.totp_secret, code, user.totp_last_step)
    if step is not None:
        db.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(totp_last_step=step, second_factor_failures=0, second_factor_locked_until=None)
        )
        db.session.commit()
        return SecondFactorCheck(Outcome.ACCEPTED)
    if locked_until is None:
        return SecondFactorCheck(Outcome.WRONG)
    _tell_of_lock(user, attempts)
    return SecondFactorCheck(Outcome.LOCKED, locked_until)


def _reserve_attempt(user_id: int) -> tuple[int, datetime | None] | None:
    """Count the attempt before its code is checked, in one conditional UPDATE.

    Counting first, not after a wrong code, means that requests arriving at the same
    moment cannot all be checked before any of them is counted. The attempt that reaches
    the maximum locks the step at once; a right code lifts the lock again. Returns the
    attempts counted and the lock this attempt set, or None when the step is locked.
    """
    config = current_app.config
    now = utcnow()
    locked = User.second_factor_locked_until
    # A lock that has run out starts the count afresh.
    attempts = case((locked.is_not(None), 1), else_=User.second_factor_failures + 1)
    # Stored as the column stores its values (UTC), or SQLite could not compare them.
    until = literal(
        now + timedelta(seconds=int(config["SECOND_FACTOR_LOCK_SECONDS"])), UTCDateTime()
    )
    row = db.session.execute(
        update(User)
        .where(User.id == user_id, or_(locked.is_(None), locked <= now))
        .values(
            second_factor_failures=attempts,
            second_factor_locked_until=case(
                (attempts >= int(config["SECOND_FACTOR_MAX_FAILURES"]), until), else_=None
            ),
        )
        .returning(User.second_factor_failures, User.second_factor_locked_until)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    # Commit now: the count holds even if this process dies while checking the code.
    db.session.commit()
    return None if row is None else (int(row[0]), row[1])


def _tell_of_lock(user: User, attempts: int) -> None:
    """Audit the lock, log it (counts only) and mail the person whose password is known."""
    audit.record(
        audit.Acting.system(),
        subject_type=audit.Subject.USER,
        subject_id=user.id,
        action=audit.AuditAction.LOCK_SECOND_FACTOR,
        office_id=user.office_id,
        reason=f"{attempts} wrong second-factor codes",
    )
    minutes = max(1, int(current_app.config["SECOND_FACTOR_LOCK_SECONDS"]) // 60)
    with force_locale(user.language):
        mail.queue_mail(
            users.email_of(user),
            _("Falsche Codes bei der Anmeldung mit Ihrem Passwort"),
            "second_factor_locked",
            user=user,
            attempts=attempts,
            minutes=minutes,
        )
    outbox.commit()
    log.warning("second factor of account %d locked after %d wrong codes", user.id, attempts)
