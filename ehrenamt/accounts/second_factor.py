"""The TOTP second factor of staff accounts, its recovery codes, and its lock after too
many wrong codes.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, literal, or_, update

from ehrenamt.accounts import recovery_codes, users
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


def enrol_totp(user: User, secret: str, code: str) -> list[str] | None:
    """Save the authenticator secret once the user proved it works with a code.

    Returns a new set of recovery codes, to be shown once; None for a wrong code.
    """
    step = security.verify_totp(secret, code, None)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_last_step = step
    codes = recovery_codes.replace_codes(user)
    db.session.commit()
    return codes


def check_second_factor(user: User, code: str) -> SecondFactorCheck:
    """Check a TOTP code: right and fresh, wrong (or used before), or not checked at all
    because the account's second factor is locked. Commits."""
    if not user.totp_secret:
        return SecondFactorCheck(Outcome.WRONG)
    secret, last_step = user.totp_secret, user.totp_last_step

    def accept() -> dict[str, object] | None:
        step = security.verify_totp(secret, code, last_step)
        return None if step is None else {"totp_last_step": step}

    return _check(user, accept)


def check_recovery_code(user: User, code: str) -> SecondFactorCheck:
    """Check a recovery code instead of a TOTP code; it counts towards the same lock.

    A used code is audited and the person told by mail (someone with their password
    and a code signed in). Commits.
    """
    if not user.totp_secret:
        return SecondFactorCheck(Outcome.WRONG)

    def accept() -> dict[str, object] | None:
        return {} if recovery_codes.use_code(user, code) else None

    checked = _check(user, accept)
    if checked.outcome == Outcome.ACCEPTED:
        left = recovery_codes.unused_count(user)
        audit.record(
            audit.Acting.staff(user),
            subject_type=audit.Subject.USER,
            subject_id=user.id,
            action=audit.AuditAction.USE_RECOVERY_CODE,
            office_id=user.office_id,
            reason=f"{left} codes left",
        )
        with force_locale(user.language):
            mail.queue_mail(
                users.email_of(user),
                _("Ein Wiederherstellungscode wurde verwendet"),
                "recovery_code_used",
                user=user,
                left=left,
            )
        outbox.commit()
    return checked


def new_recovery_codes(user: User) -> list[str]:
    """A new set of recovery codes for the signed-in ``user`` (audited); the old set
    stops working. Commits; returns the codes to be shown once."""
    codes = recovery_codes.replace_codes(user)
    audit.record(
        audit.Acting.staff(user),
        subject_type=audit.Subject.USER,
        subject_id=user.id,
        action=audit.AuditAction.NEW_RECOVERY_CODES,
        office_id=user.office_id,
    )
    db.session.commit()
    return codes


def _check(user: User, accept: Callable[[], dict[str, object] | None]) -> SecondFactorCheck:
    """Count the attempt, then ``accept`` the code: it returns the columns to set when
    the code is right, None when it is wrong."""
    user_id = user.id
    attempt = _reserve_attempt(user_id)
    if attempt is None:
        db.session.expire(user)
        return SecondFactorCheck(Outcome.LOCKED, user.second_factor_locked_until)
    attempts, locked_until = attempt
    accepted = accept()
    if accepted is not None:
        db.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(second_factor_failures=0, second_factor_locked_until=None, **accepted)
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
