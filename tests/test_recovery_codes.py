"""Recovery codes: ten single-use codes instead of the authenticator, stored hashed,
counted by the per-account lock of the second factor, audited and mailed when used."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.accounts import recovery_codes
from ehrenamt.core import security
from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import RecoveryCode, User, UserRole
from tests.factories import make_office, make_user
from tests.harness import at_once
from tests.helpers import page_text, post, sign_in
from tests.test_auth import is_signed_in_as_staff, password_step
from tests.test_staff import audit_actions, mails_to

PAGE = "/anmelden/wiederherstellungscode"
CODE = re.compile(r"<li><code>([A-Z2-9-]{19})</code></li>")


def clerk_with_codes() -> tuple[User, list[str]]:
    clerk = make_user(UserRole.CLERK, make_office())
    codes = recovery_codes.replace_codes(clerk)
    db.session.commit()
    return clerk, codes


def use(client: FlaskClient, user: User, code: str):  # type: ignore[no-untyped-def]
    """The right password, then ``code`` on the recovery code page."""
    assert password_step(client, user.email).status_code == 302
    return post(client, PAGE, {"code": code}, page=PAGE)


def test_codes_are_random_and_stored_as_hashes_only(ctx: None) -> None:
    _clerk, codes = clerk_with_codes()
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"([A-Z2-9]{4}-){3}[A-Z2-9]{4}", code) for code in codes)
    stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert stored == {security.hash_token(code.replace("-", "")) for code in codes}
    assert not stored & set(codes)


def test_a_code_signs_in_once(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk, codes = clerk_with_codes()
    client = make_client()
    response = use(client, clerk, codes[3].lower().replace("-", " "))
    assert response.status_code == 302
    assert is_signed_in_as_staff(client)
    assert recovery_codes.unused_count(clerk) == 9
    again = use(make_client(), clerk, codes[3])
    assert again.status_code == 200
    assert "falsch oder wurde schon verwendet" in page_text(again)
    assert audit_actions(clerk) == [AuditAction.USE_RECOVERY_CODE]
    [mail] = mails_to(clerk.email)
    assert "Wiederherstellungscode" in mail["subject"] and "noch 9 Codes" in mail["text"]


def test_the_same_code_at_once_signs_in_only_one(app: Flask, make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk, codes = clerk_with_codes()
    clients = [make_client(), make_client()]
    for client in clients:
        assert password_step(client, clerk.email).status_code == 302

    def attempt(client: FlaskClient):  # type: ignore[no-untyped-def]
        def run(meet):  # type: ignore[no-untyped-def]
            token = re.search(  # type: ignore[union-attr]
                r'name="csrf_token"[^>]*value="([^"]+)"', page_text(client.get(PAGE))
            ).group(1)
            meet()
            return client.post(PAGE, data={"csrf_token": token, "code": codes[0]}).status_code

        return run

    statuses = at_once(*(attempt(c) for c in clients))
    assert sorted(statuses) == [200, 302]
    assert recovery_codes.unused_count(clerk) == 9


def test_another_account_code_does_not_work(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk, _codes = clerk_with_codes()
    _other, other_codes = clerk_with_codes()
    assert use(make_client(), clerk, other_codes[0]).status_code == 200
    assert recovery_codes.unused_count(_other) == 10


def test_wrong_codes_count_towards_the_lock(
    app: Flask, make_client, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "SECOND_FACTOR_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1000 per minute")
    clerk, codes = clerk_with_codes()
    for n in range(3):
        client = make_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{n + 1}"
        response = use(client, clerk, "AAAA-AAAA-AAAA-AAAA")
    assert response.status_code == 429
    locked = use(make_client(), clerk, codes[0])
    assert locked.status_code == 429 and "Zu viele falsche Codes" in page_text(locked)
    assert recovery_codes.unused_count(clerk) == 10, "a right code is not even checked"


@pytest.mark.parametrize("code", ["", "x" * 41])
def test_malformed_code_gets_a_field_error(make_client, ctx: None, code: str) -> None:  # type: ignore[no-untyped-def]
    clerk, _codes = clerk_with_codes()
    response = use(make_client(), clerk, code)
    assert response.status_code == 200 and 'id="code-error"' in page_text(response)


def test_recovery_page_needs_the_password_first(client: FlaskClient, ctx: None) -> None:
    assert client.get(PAGE).headers["Location"] == "/anmelden"


def test_new_codes_replace_the_old_ones(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk, old = clerk_with_codes()
    client = make_client()
    sign_in(client, clerk)
    status = page_text(client.get("/konto/wiederherstellungscodes"))
    assert "Unbenutzte Codes: 10 von 10" in status
    response = post(client, "/konto/wiederherstellungscodes", page="/konto/wiederherstellungscodes")
    new = CODE.findall(page_text(response))
    assert len(new) == 10 and not set(new) & set(old)
    assert use(make_client(), clerk, old[0]).status_code == 200, "the old set is gone"
    assert use(make_client(), clerk, new[0]).status_code == 302
    assert audit_actions(clerk) == [AuditAction.NEW_RECOVERY_CODES, AuditAction.USE_RECOVERY_CODE]


def test_only_staff_have_recovery_codes(client: FlaskClient, ctx: None) -> None:
    sign_in(client, make_user(UserRole.VOLUNTEER))
    assert client.get("/konto/wiederherstellungscodes").status_code == 403
