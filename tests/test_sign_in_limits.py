"""Limits per e-mail address on the sign-in pages: counted whichever client asks, and
never written to the log or to Redis as the address itself."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from ehrenamt.models import UserRole
from tests.factories import make_user
from tests.helpers import post
from tests.test_security import assert_too_many, limit_of


def test_sign_in_link_requests_are_limited_per_address(app: Flask, make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Many clients cannot flood one person's mailbox with sign-in links."""
    volunteer = make_user(UserRole.VOLUNTEER)
    for n in range(limit_of(app, "RATELIMIT_MAGIC_LINK")):
        client = make_client()
        client.environ_base["REMOTE_ADDR"] = f"10.3.0.{n + 1}"
        response = post(client, "/anmelden/link", {"email": volunteer.email}, page="/anmelden/link")
        assert response.status_code == 302, n
    client = make_client()
    client.environ_base["REMOTE_ADDR"] = "10.3.1.1"
    blocked = post(
        client, "/anmelden/link", {"email": volunteer.email.upper()}, page="/anmelden/link"
    )
    assert_too_many(blocked)
    other = make_user(UserRole.VOLUNTEER)
    allowed = post(client, "/anmelden/link", {"email": other.email}, page="/anmelden/link")
    assert allowed.status_code == 302, "other addresses are not limited"


def test_limits_per_address_log_no_address(
    app: Flask, make_client, ctx: None, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Flask-Limiter logs the key of each limit exceeded: it must not be the address."""
    volunteer = make_user(UserRole.VOLUNTEER)
    with caplog.at_level(logging.DEBUG):
        for n in range(limit_of(app, "RATELIMIT_LOGIN") + 1):
            client = make_client()
            client.environ_base["REMOTE_ADDR"] = f"10.4.0.{n + 1}"
            post(client, "/anmelden", {"email": volunteer.email, "password": "x"}, page="/anmelden")
    assert any("exceeded" in record.getMessage() for record in caplog.records)
    local_part = volunteer.email.split("@")[0]
    assert not [r.getMessage() for r in caplog.records if local_part in r.getMessage()]
