"""Protections every page shares: CSRF, rate limits, security headers, cookies, the
configuration the app starts with, and redirects that stay on this site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from ehrenamt import create_app, register_blueprints
from ehrenamt.accounts import links as accounts_links
from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import Base, LinkPurpose, Office, OneTimeLink, User, UserRole, utcnow
from ehrenamt.web import pages
from ehrenamt.workflow import ApplicationState
from tests.conftest import app_settings
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import csrf_token, next_totp, page_text, post, sign_in
from tests.mailbox import Mailbox
from tests.test_verify_pages import make_partner, make_partner_user

CSRF_TITLE = "Formular abgelaufen"
TOO_MANY = "Zu viele Versuche"


def _post_rules() -> list[tuple[str, str]]:
    """Every (rule, endpoint) of the app that accepts POST, read from its URL map."""
    routes = Flask("routes")
    register_blueprints(routes)
    return sorted(
        (rule.rule, rule.endpoint)
        for rule in routes.url_map.iter_rules()
        if "POST" in (rule.methods or ())
    )


#: The till API authenticates each request with its bearer key, not a session cookie,
#: so there is nothing for a forged cross-site form to ride on: it is exempt from CSRF
#: (tests/test_api.py checks that it refuses requests without a valid key).
API_PREFIX = "/api/"
POST_RULES = _post_rules()
FORM_POST_RULES = [
    (rule, endpoint) for rule, endpoint in POST_RULES if not rule.startswith(API_PREFIX)
]


def database_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a request changed nothing."""
    db.session.rollback()
    return {
        table.name: [
            tuple(row)
            for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


# --- CSRF ---------------------------------------------------------------------------


@dataclass
class World:
    """An office, a volunteer with an application awaiting its organisation, live tokens."""

    office: Office
    volunteer: User
    public_id: str
    engagement_id: int
    tokens: dict[str, str] = field(default_factory=dict)
    #: The staff member who is half-way through signing in, if any.
    pending_staff: User | None = None
    #: The clerk an admin acts on in the staff pages, if any.
    staff_member: User | None = None


@pytest.fixture
def world(ctx: None) -> World:
    """Real targets for every POST; staff accounts are made only where needed (hashing)."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    application = make_application(office, volunteer, state=ApplicationState.AWAITING_CONFIRMATION)
    engagement = application.engagements[0]
    organisation_token = security.new_token()
    engagement.token_hash = security.hash_token(organisation_token)
    engagement.token_expires_at = utcnow() + timedelta(days=30)
    tokens = {
        "auth.sign_in_with_link": accounts_links.issue_link(
            volunteer, LinkPurpose.SIGN_IN, timedelta(minutes=30)
        ),
        "auth.confirm_email": accounts_links.issue_link(
            volunteer, LinkPurpose.CONFIRM_EMAIL, timedelta(days=7)
        ),
        "confirm.respond": organisation_token,
    }
    db.session.commit()
    return World(
        office=office,
        volunteer=volunteer,
        public_id=application.public_id,
        engagement_id=engagement.id,
        tokens=tokens,
    )


def prepare_client(client: FlaskClient, world: World, rule: str, endpoint: str) -> None:
    """Sign the client in as whoever would use this endpoint."""
    if endpoint in ("auth.second_factor", "auth.enrol_second_factor", "auth.recovery_code"):
        enrolled = endpoint != "auth.enrol_second_factor"
        world.pending_staff = make_user(UserRole.CLERK, world.office, totp=enrolled)
        credentials = {"email": world.pending_staff.email, "password": PASSWORD}
        assert post(client, "/anmelden", credentials).status_code == 302
    elif rule.startswith("/verwaltung/mitarbeitende"):
        sign_in(client, make_user(UserRole.ADMIN, world.office))
        world.staff_member = make_user(UserRole.ADMIN, world.office)
    elif rule.startswith("/programm/administration/<int:user_id>"):
        sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, world.office))
        world.staff_member = make_user(UserRole.PROGRAMME_ADMIN, None)
    elif rule.startswith("/programm"):
        sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, world.office))
    elif endpoint == "auth.recovery_codes":
        sign_in(client, make_user(UserRole.CLERK, world.office))
    elif rule.startswith("/verwaltung/einstellungen"):
        sign_in(client, make_user(UserRole.ADMIN, world.office))
    elif rule.startswith("/verwaltung"):
        sign_in(client, make_user(UserRole.CLERK, world.office))
    elif rule.startswith("/konto") or endpoint == "auth.logout":
        sign_in(client, world.volunteer)


def form_for(world: World, endpoint: str) -> dict[str, str]:
    """Data that would make sense for this endpoint."""
    words = "Bitte um Auskunft zu den Stunden."
    if endpoint == "auth.second_factor" and world.pending_staff is not None:
        return {"code": next_totp(world.pending_staff)}
    return {
        "auth.login": {"email": world.volunteer.email, "password": PASSWORD},
        "auth.enrol_second_factor": {"code": "123456"},
        "auth.request_sign_in_link": {"email": world.volunteer.email},
        "confirm.respond": {"answer": "confirm", "hours": "6", "hours_unit": "week"},
        "public.set_language": {"language": "en", "next": "/"},
        "account.answer": {"answer": words},
        "account.set_password": {"password": "ein neues Passwort", "confirm": "ein neues Passwort"},
        "review.approve": {"version": "1"},
        "review.reject": {"version": "1", "reason": "other", "text": words},
        "review.request_information": {"version": "1", "question": words},
        "review.start_review": {"version": "1", "note": words},
        "review.engagement_action": {
            "engagement_id": str(world.engagement_id),
            "note": words,
            "override": "1",
        },
        "admin.apply_preset": {"preset": "bayern"},
        "staff.invite": {"display_name": "N", "email": "n@example.org", "role": "clerk"},
        "staff.change_role": {"role": "clerk"},
        "programme.new_office": {
            "name": "Neu",
            "slug": "neu",
            "contact_email": "neu@example.org",
            "preset": "bayern",
        },
        "programme.switch_office": {"office_id": str(world.office.id)},
        "passwords.forgotten_password": {"email": world.volunteer.email},
        "passwords.reset_password": {
            "password": "ein neues Passwort",
            "confirm": "ein neues Passwort",
        },
        "passwords.accept_invitation": {
            "password": "ein neues Passwort",
            "confirm": "ein neues Passwort",
        },
    }.get(endpoint, {})


def path_for(world: World, rule: str, endpoint: str) -> str:
    """The rule with its placeholders filled from the world (a dummy token if none)."""
    path = rule.replace("<public_id>", world.public_id)
    path = path.replace("<token>", world.tokens.get(endpoint, "x" * 43))
    path = path.replace("<int:key_id>", "1").replace("<int:request_id>", "1")
    if world.staff_member is not None:
        path = path.replace("<int:user_id>", str(world.staff_member.id))
    assert "<" not in path, f"no value for a placeholder of {rule}; extend path_for"
    return path


def test_post_routes_were_collected(app: Flask) -> None:
    """The parametrised CSRF test covers exactly the POST routes of the running app."""
    running = sorted(
        (rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
    )
    assert running == POST_RULES
    assert len(POST_RULES) >= 20


@pytest.mark.parametrize(("rule", "endpoint"), FORM_POST_RULES, ids=[e for _, e in FORM_POST_RULES])
def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, world: World, rule: str, endpoint: str
) -> None:
    """Every POST without the CSRF token gets 400 "Formular abgelaufen" and no effect."""
    prepare_client(client, world, rule, endpoint)
    path = path_for(world, rule, endpoint)
    data = form_for(world, endpoint)
    before = database_rows()

    response = client.post(path, data=data)

    assert response.status_code == 400
    assert CSRF_TITLE in page_text(response)
    assert database_rows() == before

    # The same POST with the token is not refused as forged: the token was all it lacked.
    accepted = post(client, path, data)
    assert CSRF_TITLE not in page_text(accepted)


def test_post_with_token_of_another_session_is_refused(make_client, ctx: None) -> None:
    """A token taken from another browser's session does not pass."""
    volunteer = make_user(UserRole.VOLUNTEER)
    attacker, victim = make_client(), make_client()
    from tests.helpers import csrf_token

    stolen = csrf_token(attacker, "/anmelden")
    response = victim.post(
        "/anmelden",
        data={"csrf_token": stolen, "email": volunteer.email, "password": PASSWORD},
    )
    assert response.status_code == 400
    assert CSRF_TITLE in page_text(response)
    assert victim.get("/konto/").status_code == 302


# --- rate limits --------------------------------------------------------------------


def limit_of(app: Flask, setting: str) -> int:
    """The per-minute count of a rate-limit setting such as "10 per minute; 50 per hour"."""
    first = str(app.config[setting]).split(";")[0].strip()
    count, _per, unit = first.split()
    assert unit == "minute"
    return int(count)


def assert_too_many(response: TestResponse) -> None:
    """The German "too many attempts" page, not a crash."""
    assert response.status_code == 429
    assert TOO_MANY in page_text(response)
    assert '<html lang="de">' in page_text(response)
    assert "Retry-After" in response.headers


def test_login_is_limited_per_client(app: Flask, client: FlaskClient, ctx: None) -> None:
    """After RATELIMIT_LOGIN POSTs from one address, sign-in answers 429, even when right."""
    volunteer = make_user(UserRole.VOLUNTEER)
    limit = limit_of(app, "RATELIMIT_LOGIN")
    for n in range(limit):
        response = post(
            client,
            "/anmelden",
            {"email": f"guess{n}@example.org", "password": "guess"},
            page="/anmelden",
        )
        assert response.status_code == 200, n
    blocked = post(
        client, "/anmelden", {"email": volunteer.email, "password": PASSWORD}, page="/anmelden"
    )
    assert_too_many(blocked)
    assert client.get("/konto/").status_code == 302


def test_login_is_limited_per_email_address(app: Flask, make_client, ctx: None) -> None:
    """Guesses at one address from many clients are limited too."""
    volunteer = make_user(UserRole.VOLUNTEER)
    limit = limit_of(app, "RATELIMIT_LOGIN")
    for n in range(limit):
        response = post(
            make_client(),
            "/anmelden",
            {"email": volunteer.email, "password": f"guess {n}"},
            page="/anmelden",
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        assert response.status_code == 200, n
    fresh_address = {"REMOTE_ADDR": "10.0.1.1"}
    blocked = post(
        make_client(),
        "/anmelden",
        {"email": volunteer.email.upper(), "password": PASSWORD},
        page="/anmelden",
        environ_base=fresh_address,
    )
    assert_too_many(blocked)
    other = make_user(UserRole.VOLUNTEER)
    allowed = post(
        make_client(),
        "/anmelden",
        {"email": other.email, "password": PASSWORD},
        page="/anmelden",
        environ_base={"REMOTE_ADDR": "10.0.1.2"},
    )
    assert allowed.status_code == 302, "other addresses are not blocked"


def test_second_factor_guesses_are_limited(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guessing TOTP codes is stopped after RATELIMIT_LOGIN attempts from one client
    (the per-account lock, tests/test_second_factor_lock.py, out of the way here)."""
    monkeypatch.setitem(app.config, "SECOND_FACTOR_MAX_FAILURES", 1000)
    clerk = make_user(UserRole.CLERK, make_office())
    post(client, "/anmelden", {"email": clerk.email, "password": PASSWORD}, page="/anmelden")
    for n in range(limit_of(app, "RATELIMIT_LOGIN")):
        response = post(
            client,
            "/anmelden/zweiter-faktor",
            {"code": f"{n:06d}"},
            page="/anmelden/zweiter-faktor",
        )
        assert response.status_code == 200, n  # the form again, with an error
    blocked = post(
        client, "/anmelden/zweiter-faktor", {"code": "999999"}, page="/anmelden/zweiter-faktor"
    )
    assert_too_many(blocked)


def test_sign_in_link_requests_are_limited(
    app: Flask, client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """After RATELIMIT_MAGIC_LINK requests from one client no more links are sent."""
    volunteer = make_user(UserRole.VOLUNTEER)
    limit = limit_of(app, "RATELIMIT_MAGIC_LINK")
    for n in range(limit):
        response = post(
            client, "/anmelden/link", {"email": f"x{n}@example.org"}, page="/anmelden/link"
        )
        assert response.status_code == 302, n
    blocked = post(client, "/anmelden/link", {"email": volunteer.email}, page="/anmelden/link")
    assert_too_many(blocked)
    db.session.rollback()
    assert db.session.scalar(select(OneTimeLink.id)) is None, "no link was issued"


# --- headers and cookies ------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/anmelden", "/datenschutz", "/antrag/", "/gibt-es-nicht", "/health"]
)
def test_pages_carry_security_headers(client: FlaskClient, ctx: None, path: str) -> None:
    """CSP without inline scripts, no framing, no MIME sniffing, on pages and errors."""
    make_office()
    response = client.get(path)
    assert response.status_code == (404 if path == "/gibt-es-nicht" else 200)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


#: Values for the routes' URL parameters; a made-up id names nothing (a 404 page, which
#: must not be stored either).
def _value_for(rule: Rule, argument: str) -> str:
    """A value the rule's converter takes: the first of an ``any(…)``, else "1"."""
    items = getattr(rule._converters.get(argument), "items", None)
    return sorted(items)[0] if items else "1"


def every_get_route(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET route of the app, its parameters filled in."""
    adapter = app.url_map.bind("localhost")
    return [
        (
            rule.endpoint,
            adapter.build(rule.endpoint, {a: _value_for(rule, a) for a in rule.arguments}),
        )
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
    ]


def test_only_public_pages_may_be_cached(app: Flask, ctx: None, make_client) -> None:  # type: ignore[no-untyped-def]
    """Every response but a public page's is sent with no-store, whoever asks: each GET
    route is walked anonymously and as a volunteer, a partner and a clerk, so a page added
    later is covered without being listed here."""
    office = make_office()
    partner = make_partner(office)
    visitors = {"anonymous": make_client()}
    for role, user in (
        ("volunteer", make_user(UserRole.VOLUNTEER)),
        ("partner", make_partner_user(partner)),
        ("clerk", make_user(UserRole.CLERK, office)),
    ):
        visitors[role] = make_client()
        sign_in(visitors[role], user)
    shown: set[str] = set()
    for who, client in visitors.items():
        for endpoint, path in every_get_route(app):
            # Buffered: a streamed export is read within its request's context.
            response = client.get(path, buffered=True)
            cache_control = response.headers.get("Cache-Control", "")
            if endpoint in pages.CACHEABLE_ENDPOINTS:
                assert "no-store" not in cache_control, (who, path)
            else:
                assert "no-store" in cache_control, (who, path, response.status_code)
                if response.status_code == 200:
                    shown.add(path)
            response.close()
    # The walk reached the pages with personal or partner data, not only their 404s.
    assert {"/pruefen/", "/pruefen/verlauf", "/partner/", "/partner/profil", "/konto/"} <= shown
    assert {"/verwaltung/", "/verwaltung/karten/", "/verwaltung/partner/"} <= shown
    # A check's answer (the holder's name) is not stored either.
    token = csrf_token(visitors["partner"], "/pruefen/")
    answer = visitors["partner"].post(
        "/pruefen/ergebnis", json={"code": "x"}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"


def session_cookie(response: TestResponse) -> str:
    """The Set-Cookie header of the session cookie."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


def test_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient) -> None:
    """Scripts cannot read the session cookie and other sites' POSTs do not carry it."""
    cookie = session_cookie(client.get("/anmelden"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "the test app turns Secure off (plain http)"


@pytest.fixture
def secure_app(app: Flask, database_url: str, mailbox: Mailbox) -> Iterator[Flask]:
    """A second app with the test settings, but SESSION_COOKIE_SECURE as in production."""
    settings = app_settings(
        database_url, mailbox, Path(app.instance_path), app.config["TEST_QUEUE"]
    )
    settings["SESSION_COOKIE_SECURE"] = True
    second = create_app(settings)
    yield second
    # create_app makes its Celery app the default; give it back to the test app.
    app.extensions["celery"].set_default()
    with second.app_context():
        db.engine.dispose()


def test_session_cookie_is_secure_when_configured(secure_app: Flask) -> None:
    """With SESSION_COOKIE_SECURE the cookie is only sent over HTTPS."""
    cookie = session_cookie(secure_app.test_client().get("/anmelden"))
    assert "; Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_secure_by_default() -> None:
    """Production defaults send cookies over HTTPS only."""
    from ehrenamt import config

    assert config.SESSION_COOKIE_SECURE is True
    assert config.REMEMBER_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


# --- configuration ------------------------------------------------------------------


@pytest.fixture
def empty_instance(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty instance folder and no EHRENAMT_SECRET_KEY in the environment."""
    monkeypatch.setenv("EHRENAMT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("EHRENAMT_SECRET_KEY", raising=False)
    yield tmp_path
    app.extensions["celery"].set_default()


@pytest.mark.parametrize("test_config", [{"TESTING": True}, {"SECRET_KEY": ""}])
def test_app_refuses_to_start_without_secret_key(
    empty_instance: Path, test_config: dict[str, Any]
) -> None:
    """Without a SECRET_KEY the factory raises instead of signing with a guessable key."""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"BROKER_URL": "memory://", **test_config})


INSTANCE_CONFIG = """
SECRET_KEY = "from-instance"
BASE_URL = "https://instance.example"
MAIL_SERVER = "mail.instance.example"
MAIL_PORT = 2511
PAGE_SIZE = 11
"""


@pytest.fixture
def layered_app(empty_instance: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app with settings at every level: defaults, instance, environment, test_config."""
    (empty_instance / "config.py").write_text(INSTANCE_CONFIG, encoding="utf-8")
    monkeypatch.setenv("EHRENAMT_MAIL_PORT", "2612")
    monkeypatch.setenv("EHRENAMT_PAGE_SIZE", "12")
    monkeypatch.setenv("EHRENAMT_SESSION_COOKIE_SECURE", "false")
    monkeypatch.setenv("EHRENAMT_MAIL_DEFAULT_SENDER", "Karte <karte@env.example>")
    layered = create_app({"PAGE_SIZE": 13, "BROKER_URL": "memory://"})
    yield layered
    with layered.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("RATELIMIT_LOGIN", "10 per minute; 50 per hour"),  # default only
        ("SECRET_KEY", "from-instance"),  # instance over default
        ("BASE_URL", "https://instance.example"),  # instance over default
        ("MAIL_SERVER", "mail.instance.example"),  # instance, not in the environment
        ("MAIL_PORT", 2612),  # environment over instance, parsed as JSON
        ("SESSION_COOKIE_SECURE", False),  # environment over default, parsed as JSON
        ("MAIL_DEFAULT_SENDER", "Karte <karte@env.example>"),  # non-JSON stays a string
        ("PAGE_SIZE", 13),  # test_config over environment over instance
    ],
)
def test_configuration_precedence(layered_app: Flask, key: str, expected: object) -> None:
    """defaults < instance/config.py < EHRENAMT_* environment < test_config."""
    assert layered_app.config[key] == expected
    assert type(layered_app.config[key]) is type(expected)


def test_instance_folder_decides_default_paths(layered_app: Flask, empty_instance: Path) -> None:
    """Without a DATABASE_URL the database and uploads live in the instance folder."""
    assert layered_app.instance_path == str(empty_instance)
    assert layered_app.config["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{empty_instance / 'ehrenamt.sqlite'}"
    )
    assert layered_app.config["UPLOAD_FOLDER"] == str(empty_instance / "uploads")


# --- redirects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/konto/",
        "/\\evil.example",
        "\\\\evil.example",
        "///evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_ignores_foreign_next(client: FlaskClient, ctx: None, target: str) -> None:
    """A `next` pointing to another site is ignored: the volunteer lands on their account."""
    volunteer = make_user(UserRole.VOLUNTEER)
    response = post(
        client,
        "/anmelden",
        {"email": volunteer.email, "password": PASSWORD},
        page="/anmelden",
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"


def test_sign_in_follows_local_next(client: FlaskClient, ctx: None) -> None:
    """A `next` on this site is followed after signing in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    response = post(
        client,
        "/anmelden",
        {"email": volunteer.email, "password": PASSWORD},
        page="/anmelden",
        query_string={"next": "/datenschutz"},
    )
    assert response.headers["Location"] == "/datenschutz"


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example"]
)
def test_language_switch_ignores_foreign_next(client: FlaskClient, target: str) -> None:
    """The language switch only returns to pages of this site."""
    response = post(client, "/sprache", {"language": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
