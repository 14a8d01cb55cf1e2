"""The till API: keys, verification, problems, rate limits, revocation list, records."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from ehrenamt import create_app
from ehrenamt.cardformat import card_numbers
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cards import keys as cards_keys
from ehrenamt.cards import lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.cards.production import card_url
from ehrenamt.core import rate_counters
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db, limiter
from ehrenamt.models import (
    ApiKey,
    Benefit,
    Card,
    CardType,
    Category,
    Partner,
    PartnerMember,
    PartnerState,
    RevocationReason,
    User,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.partners import api_keys
from ehrenamt.verification import check as verification_check
from ehrenamt.verification import history as verification_history
from ehrenamt.verification import limits
from ehrenamt.verification import records as verification_records
from ehrenamt.verification.results import CheckStatus
from ehrenamt.workflow import Actor
from tests.conftest import REDIS_URL
from tests.factories import make_application, make_office, make_user
from tests.harness import wait_until
from tests.helpers import page_text, post, sign_in
from tests.mailbox import free_port
from tests.processes import settings_for
from tests.test_cards import _make_active, approve_without_worker, clerk_of

VERIFY = "/api/v1/verify"
REVOCATIONS = "/api/v1/revocations"

# --- helpers --------------------------------------------------------------------------------


def make_partner(name: str = "Café Muster") -> tuple[Partner, User]:
    """An approved partner with one partner account."""
    category = db.session.scalar(select(Category).where(Category.slug == "gastronomie"))
    if category is None:
        category = Category(slug="gastronomie", name="Gastronomie", name_en="Food and drink")
    partner = Partner(
        public_id=secrets.token_hex(16),
        office_id=make_office().id,
        state=PartnerState.APPROVED,
        name=name,
        category=category,
        street="Markt 1",
        postcode="06844",
        town="Dessau-Roßlau",
        email=f"{secrets.token_hex(4)}@partner.example.org",
    )
    user = make_user(UserRole.PARTNER)
    db.session.add(PartnerMember(user_id=user.id, partner=partner))
    db.session.commit()
    return partner, user


def make_benefit(partner: Partner) -> Benefit:
    benefit = Benefit(
        public_id=secrets.token_hex(16),
        partner_id=partner.id,
        title="10 % Rabatt",
        category_id=partner.category_id,
        postcode=partner.postcode,
        published=True,
    )
    db.session.add(benefit)
    db.session.commit()
    return benefit


def new_key(partner: Partner) -> str:
    return api_keys.create_key(partner, "Kasse 1", None)[1]


def check(client: FlaskClient, key: str, code: Any, **extra: Any) -> TestResponse:
    return client.post(VERIFY, json={"code": code, **extra}, headers=bearer(key))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """An RFC 9457 problem document with ``status``, valid against the OpenAPI schema."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] and body["title"]
    validate(body, "Problem")
    return body


def validate(body: Any, schema_name: str) -> None:
    """Validate against a schema of the served OpenAPI document, as a client would."""
    document = _openapi()
    schema = {"$ref": f"#/components/schemas/{schema_name}", **document}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def _openapi() -> dict[str, Any]:
    from ehrenamt.web.api import openapi

    return openapi.document()


def expired_card() -> Card:
    """A card whose token was signed with a last day that has passed."""
    card = approve_without_worker(make_application(make_office()))
    card.valid_until = date.today() - timedelta(days=3)
    db.session.commit()
    assert cards_production.produce(card.id) == cards_production.Produced.MADE
    db.session.rollback()
    return db.session.get(Card, card.id, populate_existing=True)  # type: ignore[return-value]


def revoke(card: Card) -> None:
    clerk = clerk_of(card.application)
    lifecycle.revoke(card, Acting.user_as(clerk, Actor.CLERK), RevocationReason.LOST)


def signed_by(private_key: Any, number: str) -> str:
    claims = cardformat_token.CardClaims(
        card_number=number,
        name="Erika Fälschung",
        card_type=CardType.STANDARD,
        valid_until=date.today() + timedelta(days=300),
        office="test",
        issued_at=datetime.now(UTC).replace(microsecond=0),
    )
    return card_url(cardformat_token.sign_card(claims, private_key))


# --- keys -----------------------------------------------------------------------------------


def test_a_key_authenticates_until_it_is_revoked(app: Flask, ctx: None) -> None:
    partner, user = make_partner()
    key, plaintext = api_keys.create_key(partner, "Kasse 1", user)
    assert plaintext.startswith(f"ek_{key.prefix}_")
    assert plaintext not in key.key_hash and len(key.key_hash) == 64
    found = api_keys.authenticate(plaintext)
    assert found == api_keys.KeyHolder(key_id=key.id, partner_id=partner.id)
    for wrong in (
        plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"),
        plaintext + "x",
        "",
        "ek_",
        f"ek_{key.prefix}_",
        "x" * 500,
    ):
        assert api_keys.authenticate(wrong) is None
    other, _ = make_partner("Other")
    assert api_keys.revoke_key(other, key.id) is None  # not its key
    assert api_keys.authenticate(plaintext) is not None
    assert api_keys.revoke_key(partner, key.id) is not None
    assert api_keys.authenticate(plaintext) is None


def test_a_key_revoked_in_another_process_stops_working_within_the_cache_time(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "API_KEY_CACHE_SECONDS", 0.3)
    monkeypatch.delitem(app.extensions, "ehrenamt.api_key_cache", raising=False)
    partner, _ = make_partner()
    key, plaintext = api_keys.create_key(partner, "Kasse 1", None)
    assert api_keys.authenticate(plaintext) is not None
    # Another web process revokes it: this one's memory is not told.
    db.session.execute(
        ApiKey.__table__.update().where(ApiKey.id == key.id).values(revoked_at=utcnow())
    )
    db.session.commit()
    assert api_keys.authenticate(plaintext) is not None  # still in memory here
    wait_until(
        lambda: api_keys.authenticate(plaintext) is None,
        timeout=5,
        message="the revoked key is still accepted",
    )
    db.session.rollback()


def test_keys_of_a_partner_that_is_not_approved_do_not_authenticate(app: Flask, ctx: None) -> None:
    partner, _ = make_partner()
    partner.state = PartnerState.PENDING
    db.session.commit()
    _, plaintext = api_keys.create_key(partner, "Kasse 1", None)
    assert api_keys.authenticate(plaintext) is None


def test_partner_pages_show_a_key_once_and_only_its_own(
    app: Flask, ctx: None, make_client: Any
) -> None:
    partner_a, user_a = make_partner("A")
    _, user_b = make_partner("B")
    page = "/partner/api-schluessel/"
    a = make_client()
    sign_in(a, user_a)
    created = post(a, page, {"name": "Kasse 1"}, page=page)
    assert created.status_code == 200
    text = page_text(created)
    [key] = api_keys.keys_of(partner_a.id)
    assert created.headers["Cache-Control"] == "no-store"
    start = text.index("data-new-key>") + len("data-new-key>")
    plaintext = text[start : text.index("<", start)]
    assert plaintext.startswith(f"ek_{key.prefix}_")
    assert api_keys.authenticate(plaintext) is not None
    again = page_text(a.get(page))
    assert plaintext not in again and key.prefix in again  # shown once, then only its prefix
    assert post(a, page, {"name": ""}, page=page).status_code == 400

    b = make_client()
    sign_in(b, user_b)
    assert key.prefix not in page_text(b.get(page))
    refused = post(b, f"{page}{key.id}/widerrufen", page=page)
    assert refused.status_code == 404
    db.session.rollback()
    assert db.session.get(ApiKey, key.id).revoked_at is None  # type: ignore[union-attr]
    assert b.post(f"{page}{key.id}/widerrufen").status_code == 400  # no CSRF token

    revoked = post(a, f"{page}{key.id}/widerrufen", page=page)
    assert revoked.status_code == 302
    db.session.rollback()
    assert api_keys.authenticate(plaintext) is None
    assert make_client().get(page).status_code == 302  # anonymous: sign in first


# --- verifying ------------------------------------------------------------------------------


def test_verify_answers_for_every_kind_of_code(
    app: Flask, ctx: None, client: FlaskClient, tmp_path: Path
) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    card = _make_active(make_application(make_office()))
    url = card_url(card.token or b"")
    printed = card_numbers.format_card_number(card.number)

    answer = check(client, key, url)
    assert answer.status_code == 200
    body = answer.get_json()
    validate(body, "VerifyResult")
    assert body == {
        "valid": True,
        "status": "valid",
        "card_number": printed,
        "holder_name": card.holder_name,
        "card_type": "standard",
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
    }
    assert check(client, key, printed.lower().replace("-", " ")).get_json()["status"] == "valid"

    altered = bytearray(card.token or b"")
    altered[-5] ^= 0x01
    forger = cardformat_keys.generate_key(tmp_path / "forger")
    ring_key = cards_keys.load_key_ring().signing_key()
    unknown_number = card_numbers.new_card_number()
    gone = expired_card()
    cases = {
        card_url(bytes(altered)): "invalid",
        signed_by(forger.private_key, card.number): "invalid",  # key not published: forged
        signed_by(ring_key.private_key, unknown_number): "unknown",  # genuine, no such card
        unknown_number: "unknown",
        "garbage": "invalid",
        card_url(gone.token or b""): "expired",
        gone.number: "expired",
    }
    for code, status in cases.items():
        body = check(client, key, code).get_json()
        validate(body, "VerifyResult")
        assert body["status"] == status, code
        assert body["valid"] is False
        if status in ("invalid", "unknown"):
            assert body["card_number"] is body["holder_name"] is body["valid_until"] is None

    revoke(card)
    for code in (url, printed):
        body = check(client, key, code).get_json()
        assert (body["status"], body["valid"], body["card_number"]) == ("revoked", False, printed)


def test_every_check_is_recorded_with_partner_key_and_benefit(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    partner, _ = make_partner()
    other, _ = make_partner("Other")
    key = new_key(partner)
    card = _make_active(make_application(make_office()))
    benefit = make_benefit(partner)
    assert check(client, key, card.number, benefit=benefit.public_id).status_code == 200
    assert check(client, key, "garbage").status_code == 200
    foreign = make_benefit(other)
    assert_problem(check(client, key, card.number, benefit=foreign.public_id), 400)
    assert_problem(check(client, key, card.number, benefit=7), 400)
    assert verification_records.record_writer().flush() == 2
    db.session.rollback()
    records = list(db.session.scalars(select(Verification).order_by(Verification.id)))
    assert [(r.result, r.card_id, r.benefit_id) for r in records] == [
        ("valid", card.id, benefit.id),
        ("invalid", None, None),
    ]
    assert {(r.partner_id, r.channel) for r in records} == {(partner.id, VerificationChannel.API)}
    assert records[0].api_key_id is not None
    used = db.session.get_one(ApiKey, records[0].api_key_id).last_used_at
    assert used is not None and used >= records[-1].at


def test_checks_go_on_after_the_database_dropped_the_pooled_connections(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    """The card read has no ping per checkout: a connection the server closed (a restart)
    must cost a retry, not an error."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating server connections is a PostgreSQL test")
    partner, _ = make_partner()
    key = new_key(partner)
    card = _make_active(make_application(make_office()))
    assert check(client, key, card.number).get_json()["status"] == "valid"
    reads = db.engines["reads"]
    with reads.connect() as connection:
        pooled = connection.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled})
    db.session.commit()
    assert check(client, key, card.number).get_json()["status"] == "valid"
    with reads.connect() as connection:
        assert connection.connection.dbapi_connection.info.backend_pid != pooled  # type: ignore[union-attr]


def test_the_api_neither_reads_nor_sets_a_session_cookie(
    app: Flask, ctx: None, make_client: Any
) -> None:
    partner, user = make_partner()
    key = new_key(partner)
    browser = make_client()
    sign_in(browser, user)  # a partner signed in on the same device as the till
    assert browser.get("/partner/api-schluessel/").status_code == 200
    response = check(browser, key, "garbage")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    # Without the key, the session cookie is no way in.
    assert_problem(browser.post(VERIFY, json={"code": "x"}), 401)
    assert_problem(browser.get(REVOCATIONS), 401)


# --- problems -------------------------------------------------------------------------------


def test_missing_bad_and_revoked_keys_are_401(app: Flask, ctx: None, client: FlaskClient) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    headers: list[dict[str, str]] = [
        {},
        {"Authorization": key},  # no scheme
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Bearer "},
        bearer(key[:-2]),
        bearer("ek_0000_" + key.rsplit("_", 1)[1]),
    ]
    for header in headers:
        response = client.post(VERIFY, json={"code": "x"}, headers=header)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_problem(client.get(REVOCATIONS, headers=header), 401)
    assert check(client, key, "x").status_code == 200
    [row] = api_keys.keys_of(partner.id)
    api_keys.revoke_key(partner, row.id)
    assert_problem(check(client, key, "x"), 401)
    verification_records.record_writer().flush()
    assert db.session.scalar(select(func.count()).select_from(Verification)) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"data": "not json", "content_type": "text/plain"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": ["a", "list"]}, 400),
        ({"json": {}}, 400),
        ({"json": {"code": None}}, 400),
        ({"json": {"code": 12345}}, 400),
        ({"json": {"code": "   "}}, 400),
        ({"json": {"code": "x" * 2001}}, 400),
        ({"json": {"code": "K7QM\x00-3RXA"}}, 400),
        ({"json": {"code": "abc\x1b[31m"}}, 400),
        ({"json": {"code": "x", "benefit": ["a"]}}, 400),
        ({"data": '{"code": "' + "x" * 20000 + '"}', "content_type": "application/json"}, 413),
    ],
)
def test_malformed_requests_get_problems(
    app: Flask, ctx: None, client: FlaskClient, body: dict[str, Any], status: int
) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    response = client.post(VERIFY, headers=bearer(key), **body)
    assert_problem(response, status)
    assert verification_records.record_writer().pending() == 0
    assert check(client, key, "x").status_code == 200  # the same key and client, well-formed
    assert verification_records.record_writer().flush() == 1


def test_other_http_errors_under_api_are_problems_too(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    wrong_method = client.get(VERIFY, headers=bearer(key))
    assert_problem(wrong_method, 405)
    assert "POST" in wrong_method.headers["Allow"]
    assert_problem(client.get("/api/v1/nothing-here", headers=bearer(key)), 404)
    assert_problem(client.get("/api/v2/verify"), 404)
    assert_problem(client.get(REVOCATIONS + "?since=abc", headers=bearer(key)), 400)
    assert_problem(client.get(REVOCATIONS + "?since=-1", headers=bearer(key)), 400)
    # Pages keep their HTML error page.
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.content_type.startswith("text/html")


def test_a_bug_is_a_problem_document_too(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even an unexpected error answers JSON, not the HTML error page."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    partner, _ = make_partner()
    key = new_key(partner)
    monkeypatch.setattr(verification_check, "verify", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    body = assert_problem(check(client, key, "x"), 500)
    assert "bug" not in str(body)


# --- rate limits ----------------------------------------------------------------------------


@pytest.fixture(params=["storage", "redis"])
def counters(request: pytest.FixtureRequest, app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """The API's counters: Flask-Limiter's storage (memory here), or one Lua script on
    the real Redis (as production with EHRENAMT_RATELIMIT_STORAGE_URI=redis://...)."""
    if request.param == "redis":
        redis_counters = rate_counters._RedisCounters(REDIS_URL)
        monkeypatch.setitem(app.extensions, "ehrenamt.api_limits", redis_counters)
        request.addfinalizer(_delete_redis_counters)
    else:
        monkeypatch.setitem(app.extensions, "ehrenamt.api_limits", rate_counters._StorageCounters())
    return str(request.param)


def _delete_redis_counters() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{rate_counters.REDIS_KEY_PREFIX}ehrenamt-api/*"):
        client.delete(key)
    client.close()


def reset_counters() -> None:
    limiter.reset()
    _delete_redis_counters()


def test_rate_limit_per_partner_answers_429(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, counters: str
) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_API_PER_PARTNER", "3 per minute")
    partner, _ = make_partner()
    first, second = new_key(partner), new_key(partner)
    card = _make_active(make_application(make_office()))
    for key in (first, second, first):
        assert check(client, key, card.number).status_code == 200
    refused = check(client, second, card.number)  # the limit is the partner's, not the key's
    body = assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert "3 per 1 minute" in body["detail"]
    other, _ = make_partner("Other")
    assert check(client, new_key(other), card.number).status_code == 200
    reset_counters()
    assert check(client, first, card.number).status_code == 200


def test_api_counters_are_those_the_limiter_resets(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limiter.init_app (another app in the process) replaces the limiter's storage; the
    API's counters must follow it, or limiter.reset() would not reach them."""
    monkeypatch.delitem(app.extensions, "ehrenamt.api_limits", raising=False)
    monkeypatch.setitem(app.config, limits.FAILED_CODES, "1 per minute")
    limits.count_if_failed(4711, CheckStatus.INVALID)
    assert rate_counters.count([], [(limits.FAILED_CODES, "4711")])[1] is not None
    other = create_app(settings_for(app))
    app.extensions["celery"].set_current()
    with other.app_context():
        db.engine.dispose()
    limiter.reset()
    assert rate_counters.count([], [(limits.FAILED_CODES, "4711")])[1] is None


def test_rate_limits_unavailable_are_a_503_problem(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down: the till gets a problem it can retry, never a 500 and never a check
    that bypasses the limits."""
    nothing = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setitem(
        app.extensions, "ehrenamt.api_limits", rate_counters._RedisCounters(nothing)
    )
    partner, _ = make_partner()
    key = new_key(partner)
    for path in ("/verify", "/revocations"):
        [operation] = _openapi()["paths"][path].values()
        assert "503" in operation["responses"]
    for response in (
        check(client, key, "x"),
        check(client, "ek_guess_guess", "x"),
        client.get(REVOCATIONS, headers=bearer(key)),
    ):
        body = assert_problem(response, 503)
        assert response.headers["Retry-After"] == "5"
        assert "unavailable" in body["detail"]
    assert verification_records.record_writer().pending() == 0


def test_rate_limit_per_ip_counts_before_the_key(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, counters: str
) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_API_PER_IP", "2 per minute")
    partner, _ = make_partner()
    key = new_key(partner)
    assert_problem(check(client, "ek_guess_guess", "x"), 401)
    assert check(client, key, "x").status_code == 200
    assert_problem(check(client, key, "x"), 429)
    elsewhere = client.post(
        VERIFY, json={"code": "x"}, headers=bearer(key), environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert elsewhere.status_code == 200


def test_repeated_unknown_codes_are_throttled(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, counters: str
) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_API_FAILED_CODES", "3 per minute")
    partner, _ = make_partner()
    key = new_key(partner)
    card = _make_active(make_application(make_office()))
    for code in ("garbage", card_numbers.new_card_number(), card.number, "more garbage!"):
        assert check(client, key, code).status_code == 200  # a valid card does not count
    body = assert_problem(check(client, key, card.number), 429)
    assert body["type"] == "urn:ehrenamtskarte:problem:too-many-failed-codes"
    verification_records.record_writer().flush()
    assert db.session.scalar(select(func.count()).select_from(Verification)) == 4


# --- revocation list ------------------------------------------------------------------------


def offline_hash(salt: str, number: str) -> str:
    """What docs/card-format.md tells an offline verifier to compute."""
    return hmac.new(salt.encode(), number.encode(), hashlib.sha256).digest()[:8].hex()


def test_revocation_list_and_its_changes(app: Flask, ctx: None, client: FlaskClient) -> None:
    partner, _ = make_partner()
    key = new_key(partner)
    office = make_office()
    first, second, kept = (_make_active(make_application(office)) for _ in range(3))

    empty = client.get(REVOCATIONS, headers=bearer(key)).get_json()
    validate(empty, "RevocationList")
    assert (empty["version"], empty["full"], empty["revoked"]) == (0, True, [])

    revoke(first)
    listing = client.get(REVOCATIONS, headers=bearer(key))
    assert listing.status_code == 200
    body = listing.get_json()
    validate(body, "RevocationList")
    salt = body["salt"]
    assert body["full"] is True and body["version"] > 0
    assert body["revoked"] == [offline_hash(salt, first.number)]
    assert first.number not in listing.get_data(as_text=True)
    version = body["version"]

    revoke(second)
    changes = client.get(f"{REVOCATIONS}?since={version}", headers=bearer(key)).get_json()
    validate(changes, "RevocationList")
    assert changes["full"] is False and changes["version"] > version
    assert changes["revoked"] == [offline_hash(salt, second.number)]
    assert offline_hash(salt, kept.number) not in changes["revoked"]
    latest = client.get(f"{REVOCATIONS}?since={changes['version']}", headers=bearer(key))
    assert latest.get_json()["revoked"] == [] and latest.get_json()["full"] is False
    everything = client.get(REVOCATIONS, headers=bearer(key)).get_json()["revoked"]
    assert sorted(everything) == sorted(offline_hash(salt, c.number) for c in (first, second))
    future = client.get(f"{REVOCATIONS}?since=999999999", headers=bearer(key)).get_json()
    assert future["full"] is True and len(future["revoked"]) == 2


# --- OpenAPI --------------------------------------------------------------------------------


def test_openapi_document_describes_the_api(app: Flask, ctx: None, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document == _openapi()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/verify", "/revocations"}
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        validate({"valid": True, "status": "fine"}, "VerifyResult")


# --- retention, history and counts ----------------------------------------------------------


def test_retention_job_deletes_only_old_records(app: Flask, ctx: None) -> None:
    import workers.tasks

    partner, _ = make_partner()
    now = utcnow()
    days = app.config["VERIFICATION_RETENTION_DAYS"]
    for age in (
        timedelta(days=days, minutes=1),
        timedelta(days=days + 30),
        timedelta(days=days - 1),
        timedelta(),
    ):
        db.session.add(
            Verification(
                at=now - age, partner_id=partner.id, channel=VerificationChannel.API, result="valid"
            )
        )
    db.session.commit()
    assert workers.tasks.apply_retention() == 2
    db.session.rollback()
    ages = sorted((now - at).days for at in db.session.scalars(select(Verification.at)))
    assert ages == [0, days - 1]
    assert workers.tasks.apply_retention() == 0  # running twice changes nothing
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["apply-retention"]["task"] == "ehrenamt.apply_retention"


def test_history_and_counts_are_the_partners_own(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    partner, _ = make_partner()
    other, _ = make_partner("Other")
    key, other_key = new_key(partner), new_key(other)
    card = _make_active(make_application(make_office()))
    for code in (card.number, "garbage", card.number):
        check(client, key, code)
    check(client, other_key, card.number)
    assert verification_records.record_writer().flush() == 4
    page = verification_history.verification_history(partner.id, 1, 2)
    assert (page.number, page.has_next, len(page.items)) == (1, True, 2)
    assert page.items[0].result == "valid" and page.items[1].result == "invalid"
    assert [
        v.result for v in verification_history.verification_history(partner.id, 2, 2).items
    ] == ["valid"]
    counts = verification_history.counts_by_result(partner.id, utcnow() - timedelta(days=1))
    assert counts == {"valid": 2, "expired": 0, "revoked": 0, "unknown": 0, "invalid": 1}
    assert (
        verification_history.counts_by_result(partner.id, utcnow() + timedelta(minutes=1))["valid"]
        == 0
    )
    per_partner = verification_history.counts_per_partner(partner.office_id)
    assert per_partner == {partner.id: counts}
