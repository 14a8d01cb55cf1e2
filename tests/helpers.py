"""Acting like a browser with the test client: CSRF tokens, signing in."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ehrenamt.extensions import db
from ehrenamt.models import User
from tests.factories import PASSWORD
from tests.harness import at_once

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/") -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    response = client.get(page)
    match = CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page} ({response.status_code})"
    return match.group(1)


def post(
    client: FlaskClient,
    path: str,
    data: dict[str, Any] | None = None,
    *,
    page: str = "/",
    **kwargs: Any,
) -> TestResponse:
    """POST a form with the session's CSRF token."""
    payload = {"csrf_token": csrf_token(client, page), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def next_totp(user: User) -> str:
    """A valid TOTP code the server has not seen for this user yet."""
    db.session.refresh(user)
    totp = pyotp.TOTP(user.totp_secret or "")
    now_step = int(time.time()) // totp.interval
    # The current step: a code of the previous one may expire while the request runs.
    step = max(now_step, (user.totp_last_step or -10) + 1)
    assert step <= now_step + 1, "used up the TOTP window; wait for the next step"
    return totp.generate_otp(step)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> TestResponse:
    """Sign in with password, and with the second factor for staff."""
    response = post(
        client, "/anmelden", {"email": user.email, "password": password}, page="/anmelden"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    if user.is_staff:
        response = post(
            client,
            "/anmelden/zweiter-faktor",
            {"code": next_totp(user)},
            page="/anmelden/zweiter-faktor",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def page_text(response: TestResponse) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def qr_texts(image: Any) -> list[str]:
    """The texts of the QR codes zxing-cpp finds in a PIL image.

    Only QR codes are looked for: the card's printed text can otherwise pass for a 1D
    barcode now and then, depending on the random card number.
    """
    import zxingcpp

    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [str(result.text) for result in found]


def deactivate_each_other_at_once(
    make_client: Callable[[], FlaskClient], first: User, second: User, pages: str
) -> list[int]:
    """Each signed in, each with the other's page loaded (``pages``/<id>), both send
    "deactivate" at the same moment; the two answers' status codes."""
    clients = [make_client(), make_client()]
    sign_in(clients[0], first)
    sign_in(clients[1], second)

    def remove(client: FlaskClient, other: User):  # type: ignore[no-untyped-def]
        path = f"{pages}/{other.id}"
        token = re.search(  # type: ignore[union-attr]
            r'name="csrf_token"[^>]*value="([^"]+)"', page_text(client.get(path))
        ).group(1)

        def run(meet):  # type: ignore[no-untyped-def]
            meet()
            return client.post(f"{path}/deaktivieren", data={"csrf_token": token}).status_code

        return run

    return at_once(remove(clients[0], second), remove(clients[1], first))
