"""The pages' rate limits while their Redis cannot be reached.

Each web process then counts the pages' own limits in its memory (Flask-Limiter's
in-memory fallback) and says so in the log once: nobody gets a 500, nobody is locked out
of the service by a cache, and guessing stays throttled per process.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter.util import get_qualified_name
from werkzeug.test import TestResponse

from ehrenamt import create_app
from ehrenamt.core import rate_counters
from ehrenamt.extensions import limiter
from ehrenamt.models import UserRole
from ehrenamt.verification import limits
from tests.conftest import IsolatedClient
from tests.factories import make_office, make_user
from tests.helpers import csrf_token, post, sign_in
from tests.mailbox import free_port
from tests.processes import settings_for
from tests.test_verify_pages import make_partner, make_partner_user

#: Every page limit, low, so that a test reaches it in a few requests.
LOW_LIMITS = {
    setting: "2 per minute"
    for setting in (
        "RATELIMIT_LOGIN",
        "RATELIMIT_MAGIC_LINK",
        "RATELIMIT_CONFIRMATION",
        "RATELIMIT_VERIFY_PAGE",
        "RATELIMIT_APPLICATION_FORM",
        "RATELIMIT_EMAIL_CHANGE",
        "RATELIMIT_ELIGIBILITY_CHECK",
        "RATELIMIT_PARTNER_CONFIRMATION",
        "RATELIMIT_DRAFT",
    )
}
LIMIT = 2


def _check_page(client: FlaskClient) -> TestResponse:
    return post(client, "/pruefen/", {"code": "1234"}, page="/pruefen/")


def _check_json(client: FlaskClient) -> TestResponse:
    token = csrf_token(client, "/pruefen/")
    return client.post("/pruefen/ergebnis", json={"code": "1234"}, headers={"X-CSRFToken": token})


def _link(path: str) -> Callable[[FlaskClient], TestResponse]:
    def use(client: FlaskClient) -> TestResponse:
        return post(client, path, page=path)

    return use


#: Each limited page: how to call it, and what it answers while its limit is not used
#: up (the answer it gives with a working Redis). A new limited page must be added here:
#: test_every_limited_page_is_covered fails otherwise.
LIMITED_PAGES: dict[str, tuple[Callable[[FlaskClient], TestResponse], int]] = {
    "auth.login": (
        lambda c: post(
            c, "/anmelden", {"email": "x@example.org", "password": "x"}, page="/anmelden"
        ),
        200,
    ),
    # Without a password step first both send back to sign in.
    "auth.second_factor": (
        lambda c: post(c, "/anmelden/zweiter-faktor", {"code": "123456"}, page="/anmelden"),
        302,
    ),
    "auth.enrol_second_factor": (
        lambda c: post(c, "/anmelden/authenticator-einrichten", {"code": "1"}, page="/anmelden"),
        302,
    ),
    "auth.recovery_code": (
        lambda c: post(c, "/anmelden/wiederherstellungscode", {"code": "x"}, page="/anmelden"),
        302,
    ),
    "passwords.forgotten_password": (
        lambda c: post(
            c, "/passwort-vergessen", {"email": "x@example.org"}, page="/passwort-vergessen"
        ),
        302,
    ),
    # Without a new password the form is refused before the link is looked at.
    "passwords.reset_password": (_link(f"/passwort-neu/{secrets.token_urlsafe(32)}"), 400),
    "passwords.accept_invitation": (_link(f"/einladung/{secrets.token_urlsafe(32)}"), 400),
    "auth.request_sign_in_link": (
        lambda c: post(c, "/anmelden/link", {"email": "x@example.org"}, page="/anmelden/link"),
        302,
    ),
    "auth.sign_in_with_link": (_link(f"/anmelden/link/{secrets.token_urlsafe(32)}"), 404),
    "auth.confirm_email": (_link(f"/email-bestaetigen/{secrets.token_urlsafe(32)}"), 404),
    "confirm.respond": (lambda c: c.get(f"/bestaetigung/{secrets.token_urlsafe(32)}"), 404),
    # Checked and recorded; the answer is on the page it redirects to.
    "verify.scan": (_check_page, 303),
    "verify.result_json": (_check_json, 200),
    # An empty application form: refused at its fields.
    "apply.form": (lambda c: post(c, "/antrag/", {}, page="/antrag/"), 400),
    # A signed-in volunteer (see _client_for): a wrong password; an address refused.
    "account.reauthenticate": (
        lambda c: post(c, "/konto/bestaetigen", {"password": "wrong"}, page="/konto/bestaetigen"),
        400,
    ),
    "account.change_email": (
        lambda c: post(c, "/konto/email", {"email": "not an address"}, page="/konto/"),
        400,
    ),
    # A draft without an address: refused at its field; a link nobody was mailed.
    "apply.save_draft": (lambda c: post(c, "/antrag/entwurf", {}, page="/antrag/"), 400),
    "apply.open_draft": (lambda c: c.get(f"/antrag/entwurf/{secrets.token_urlsafe(32)}"), 303),
    # The form's live check of the rules: nothing typed, nothing to say.
    "apply.eligibility": (lambda c: post(c, "/antrag/voraussetzungen", {}, page="/antrag/"), 200),
    # A signed-in partner whose address is not confirmed asks for a new link.
    "partners.resend_confirmation": (
        lambda c: post(c, "/partner/email-bestaetigung", {}, page="/partner/"),
        302,
    ),
}


def _app_with_limit_storage(app: Flask, uri: str) -> Iterator[Flask]:
    """An app like the test app (same database) whose rate limits live at ``uri``."""
    other = create_app(
        settings_for(
            app,
            RATELIMIT_STORAGE_URI=uri,
            BROKER_URL=app.config["BROKER_URL"],
            CELERY_QUEUE=app.config["TEST_UNREAD_QUEUE"],
            **LOW_LIMITS,
        )
    )
    other.test_client_class = IsolatedClient
    app.extensions["celery"].set_current()
    yield other
    # There is one limiter per process, bound to the app built last: build one with the
    # test app's settings (memory) so that the following tests count as before. Whether
    # the storage is down is kept by the limiter, not by init_app: a later test would
    # otherwise count in the fallback memory, which limiter.reset() does not empty.
    create_app(settings_for(app))
    app.extensions["celery"].set_current()
    limiter._storage_dead = False


@pytest.fixture
def unreachable(app: Flask) -> Iterator[Flask]:
    """Rate limits on a Redis port where nobody listens (connection refused)."""
    yield from _app_with_limit_storage(app, f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture
def hung(app: Flask) -> Iterator[Flask]:
    """Rate limits on a Redis that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield from _app_with_limit_storage(app, f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    finally:
        listener.close()


def _client_for(other: Flask, endpoint: str) -> FlaskClient:
    client = other.test_client()
    if endpoint.startswith("apply."):
        with other.app_context():
            make_office()  # the form needs an office to apply to
    if endpoint.startswith("account."):
        with other.app_context():
            sign_in(client, make_user(UserRole.VOLUNTEER))
    if endpoint.startswith("partners."):
        with other.app_context():
            sign_in(client, make_partner_user(make_partner(make_office())))
    if endpoint.startswith("verify."):
        # Signing in is a limited page too: from another address than the checks.
        client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
        with other.app_context():
            sign_in(client, make_partner_user(make_partner(make_office())))
        client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
    return client


@pytest.mark.parametrize("endpoint", sorted(LIMITED_PAGES))
def test_limited_page_answers_and_counts_while_redis_is_down(
    unreachable: Flask, endpoint: str
) -> None:
    """No 500: the page answers as with a working Redis, and its limit still holds,
    counted in this process."""
    request, status = LIMITED_PAGES[endpoint]
    client = _client_for(unreachable, endpoint)
    for attempt in range(LIMIT):
        assert request(client).status_code == status, attempt
    assert request(client).status_code == 429


def test_every_limited_page_is_covered(app: Flask) -> None:
    """The list above names every page that has a rate limit of its own."""
    with app.test_request_context():
        limited = {
            endpoint
            for endpoint, view in app.view_functions.items()
            if limiter.limit_manager.decorated_limits(get_qualified_name(view))
        }
    assert limited == set(LIMITED_PAGES)


def test_outage_is_logged_once_not_per_request(
    unreachable: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = unreachable.test_client()
    with caplog.at_level(logging.INFO):
        for endpoint in ("auth.login", "auth.request_sign_in_link", "apply.form"):
            request, _status = LIMITED_PAGES[endpoint]
            request(client)
    unreachable_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable_lines) == 1
    assert unreachable_lines[0].levelno >= logging.WARNING


def test_hung_redis_costs_a_timeout_once_not_every_request(hung: Flask) -> None:
    """A Redis that never answers would hang every page without timeouts."""
    request, status = LIMITED_PAGES["apply.form"]
    client = _client_for(hung, "apply.form")
    started = time.monotonic()
    assert request(client).status_code == status
    assert time.monotonic() - started < 5
    started = time.monotonic()
    assert request(client).status_code == status
    assert request(client).status_code == 429
    assert time.monotonic() - started < 1


def test_api_counters_log_an_outage_once_and_its_end(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The till API's own counters (503 while down): one line when the outage begins,
    one when it ends, however many checks came in between."""
    dead = rate_counters._RedisCounters(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setitem(app.extensions, "ehrenamt.api_limits", dead)
    with caplog.at_level(logging.INFO, logger="ehrenamt.core.rate_counters"):
        for _ in range(3):
            with pytest.raises(rate_counters.Unavailable):
                rate_counters.count([(limits.PER_IP, "192.0.2.9")])
        monkeypatch.setitem(app.extensions, "ehrenamt.api_limits", rate_counters._StorageCounters())
        for _ in range(3):
            rate_counters.count([(limits.PER_IP, "192.0.2.9")])
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == [logging.ERROR, logging.WARNING]
    assert "unreachable" in messages[0][1]
    assert "again" in messages[1][1]
