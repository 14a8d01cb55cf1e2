"""Guessing the second factor: wrong codes count per account, from whatever address.

After SECOND_FACTOR_MAX_FAILURES wrong codes the account's second factor is locked for
SECOND_FACTOR_LOCK_SECONDS (OWASP ASVS 2.2.1), in the database, so that every web
process sees it; the person is told once by mail that someone knew their password.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.core.audit import AuditAction, Subject
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, User, UserRole, utcnow
from tests.factories import make_office, make_user
from tests.harness import at_once
from tests.helpers import page_text, post
from tests.mailbox import Mailbox, text_of
from tests.test_auth import (
    WRONG_CODE,
    current_code,
    is_signed_in_as_staff,
    password_step,
    wrong_code_for,
)

LOCKED = "Zu viele falsche Codes"
MAX_FAILURES = 3


@pytest.fixture(autouse=True)
def _settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small maximum; the per-address and per-e-mail limits out of the way, so that only
    the per-account count stops the guessing."""
    monkeypatch.setitem(app.config, "SECOND_FACTOR_MAX_FAILURES", MAX_FAILURES)
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1000 per minute")


def guess(make_client, user: User, code: str, address: str) -> TestResponse:  # type: ignore[no-untyped-def]
    """From a fresh client at ``address``: the right password, then ``code``."""
    client = make_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert password_step(client, user.email).status_code == 302
    response = post(
        client, "/anmelden/zweiter-faktor", {"code": code}, page="/anmelden/zweiter-faktor"
    )
    response.client = client  # type: ignore[attr-defined]
    return response


def lock(make_client, user: User) -> None:  # type: ignore[no-untyped-def]
    """Enough wrong codes, from as many addresses, to lock ``user``'s second factor."""
    wrong = wrong_code_for(user.totp_secret or "")
    for n in range(MAX_FAILURES):
        guess(make_client, user, wrong, f"198.51.100.{n + 1}")


def test_ten_addresses_together_get_no_more_than_the_maximum_of_guesses(
    make_client, ctx: None
) -> None:  # type: ignore[no-untyped-def]
    clerk = make_user(UserRole.CLERK, make_office())
    wrong = wrong_code_for(clerk.totp_secret or "")
    responses = [guess(make_client, clerk, wrong, f"10.0.0.{n + 1}") for n in range(10)]
    answered = responses[: MAX_FAILURES - 1]
    assert [r.status_code for r in answered] == [200] * (MAX_FAILURES - 1)
    assert all(WRONG_CODE in page_text(r) for r in answered)
    # The guess that uses up the maximum locks the step; later ones are not even checked,
    # so even the right code from yet another address is refused.
    refused = responses[MAX_FAILURES - 1 :]
    assert all(r.status_code == 429 and LOCKED in page_text(r) for r in refused)
    right = guess(make_client, clerk, current_code(clerk), "10.0.1.1")
    assert right.status_code == 429
    assert 'id="code-error"' in page_text(right)
    assert not is_signed_in_as_staff(right.client)  # type: ignore[attr-defined]
    db.session.refresh(clerk)
    assert clerk.second_factor_locked_until is not None
    assert clerk.second_factor_locked_until > utcnow() + timedelta(minutes=14)
    assert clerk.totp_last_step is None, "no code was accepted"


def test_guesses_at_the_same_moment_are_counted_before_they_are_checked(
    app: Flask, make_client, ctx: None
) -> None:  # type: ignore[no-untyped-def]
    """Requests arriving together cannot all be checked before any is counted."""
    clerk = make_user(UserRole.CLERK, make_office())
    wrong = wrong_code_for(clerk.totp_secret or "")
    clients = []
    for n in range(6):
        client = make_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.2.{n + 1}"
        password_step(client, clerk.email)
        clients.append(client)

    def attempt(client: FlaskClient):  # type: ignore[no-untyped-def]
        def run(meet):  # type: ignore[no-untyped-def]
            meet()
            return post(
                client, "/anmelden/zweiter-faktor", {"code": wrong}, page="/anmelden/zweiter-faktor"
            ).status_code

        return run

    statuses = at_once(*(attempt(c) for c in clients))
    assert statuses.count(200) == MAX_FAILURES - 1, statuses
    assert statuses.count(429) == len(clients) - MAX_FAILURES + 1, statuses


@pytest.mark.worker
def test_the_person_is_told_once_by_mail(make_client, ctx: None, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    clerk = make_user(UserRole.CLERK, make_office())
    lock(make_client, clerk)
    guess(make_client, clerk, wrong_code_for(clerk.totp_secret or ""), "198.51.100.99")
    [mail] = mailbox.wait_for(to=clerk.email, subject="Falsche Codes")
    assert f"{MAX_FAILURES}-mal" in text_of(mail)
    assert "Passwort" in text_of(mail)
    with pytest.raises(AssertionError):
        mailbox.wait_for(to=clerk.email, count=2, timeout=1.0)


def test_the_lock_is_audited_and_logged_with_counts_only(
    make_client, ctx: None, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    clerk = make_user(UserRole.CLERK, make_office())
    with caplog.at_level(logging.WARNING, logger="ehrenamt.accounts.second_factor"):
        lock(make_client, clerk)
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.LOCK_SECOND_FACTOR)
    )
    assert (entry.subject_type, entry.subject_id) == (Subject.USER, clerk.id)
    assert entry.office_id == clerk.office_id
    [line] = [r.getMessage() for r in caplog.records]
    assert str(MAX_FAILURES) in line
    assert clerk.email not in line and clerk.display_name not in line


def test_after_the_lock_period_the_right_code_works(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk = make_user(UserRole.CLERK, make_office())
    lock(make_client, clerk)
    assert guess(make_client, clerk, current_code(clerk), "203.0.113.1").status_code == 429
    db.session.refresh(clerk)
    clerk.second_factor_locked_until = utcnow() - timedelta(seconds=1)  # the period is over
    db.session.commit()
    response = guess(make_client, clerk, current_code(clerk), "203.0.113.1")
    assert response.status_code == 302
    assert is_signed_in_as_staff(response.client)  # type: ignore[attr-defined]
    db.session.refresh(clerk)
    assert (clerk.second_factor_failures, clerk.second_factor_locked_until) == (0, None)


def test_a_lock_that_ran_out_counts_afresh(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """After the period the maximum applies again: the first wrong code does not re-lock."""
    clerk = make_user(UserRole.CLERK, make_office())
    lock(make_client, clerk)
    db.session.refresh(clerk)
    clerk.second_factor_locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    wrong = wrong_code_for(clerk.totp_secret or "")
    assert guess(make_client, clerk, wrong, "203.0.113.2").status_code == 200
    db.session.refresh(clerk)
    assert (clerk.second_factor_failures, clerk.second_factor_locked_until) == (1, None)


def test_a_right_code_starts_the_count_again(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Someone who mistypes now and then is never locked out by typos spread over days."""
    clerk = make_user(UserRole.CLERK, make_office())
    wrong = wrong_code_for(clerk.totp_secret or "")
    for _round in range(2):
        for n in range(MAX_FAILURES - 1):
            assert guess(make_client, clerk, wrong, f"203.0.113.{n + 10}").status_code == 200
        response = guess(make_client, clerk, current_code(clerk), "203.0.113.9")
        assert response.status_code == 302
        db.session.refresh(clerk)
        assert clerk.second_factor_failures == 0
        # The next round's right code must be of a new time step (a code works once).
        clerk.totp_last_step = None
        db.session.commit()


def test_the_lock_is_per_account(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    office = make_office()
    locked, colleague = make_user(UserRole.CLERK, office), make_user(UserRole.CLERK, office)
    lock(make_client, locked)
    # From the very addresses that locked the other account.
    response = guess(make_client, colleague, current_code(colleague), "198.51.100.1")
    assert response.status_code == 302
    assert is_signed_in_as_staff(response.client)  # type: ignore[attr-defined]
