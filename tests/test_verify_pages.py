"""The partner's check page, its history, and the public check page (/karte).

Server-side tests use the test client; the browser tests scan a real card's QR code
through Chromium's fake camera (a .y4m video made from the card's PNG) and open the
public page, which verifies the signature in the browser.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, Route, expect
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.cardformat import card_numbers
from ehrenamt.cards import lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.cards.production import Produced
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Card,
    CardDocument,
    Category,
    DocumentKind,
    Office,
    Partner,
    PartnerMember,
    PartnerState,
    RevocationReason,
    User,
    UserRole,
    Verification,
    VerificationChannel,
)
from ehrenamt.partners import api_keys
from ehrenamt.verification import check as verification_check
from ehrenamt.verification import records as verification_records
from ehrenamt.verification import revocation as verification_revocation
from ehrenamt.workflow import Actor
from tests.factories import make_application, make_office, make_user
from tests.helpers import csrf_token, page_text, post, qr_texts, sign_in
from tests.test_cards import approve_without_worker, clerk_of

CHROMIUM = "/usr/bin/chromium"


# --- data -------------------------------------------------------------------------------


def make_partner(office: Office, state: PartnerState = PartnerState.APPROVED) -> Partner:
    """A partner with one benefit, made directly (the partner services are separate)."""
    token = secrets.token_hex(4)
    category = Category(slug=f"cat-{token}", name="Kultur", name_en="Culture", position=1)
    db.session.add(category)
    db.session.flush()
    partner = Partner(
        public_id=secrets.token_hex(8),
        office_id=office.id,
        state=state,
        name=f"Museum {token}",
        category_id=category.id,
        street="Museumsplatz 1",
        postcode="06844",
        town="Dessau-Roßlau",
        email=f"museum-{token}@example.org",
    )
    partner.benefits.append(
        Benefit(
            public_id=secrets.token_hex(8),
            title="Freier Eintritt",
            category_id=category.id,
            postcode="06844",
            published=True,
        )
    )
    db.session.add(partner)
    db.session.commit()
    return partner


def make_partner_user(partner: Partner) -> User:
    """An account working for ``partner``."""
    user = make_user(UserRole.PARTNER, partner.office)
    db.session.add(PartnerMember(user_id=user.id, partner_id=partner.id))
    db.session.commit()
    return user


def make_card(office: Office, *, revoked: bool = False) -> Card:
    """An active card with its documents, made as the worker makes it."""
    card = approve_without_worker(make_application(office, first_name="Erika"))
    assert cards_production.produce(card.id) == Produced.MADE
    db.session.rollback()
    card = db.session.get(Card, card.id, populate_existing=True)
    assert card is not None
    if revoked:
        lifecycle.revoke(
            card, Acting.user_as(clerk_of(card.application), Actor.CLERK), RevocationReason.LOST
        )
        db.session.rollback()
    return card


def card_png(card: Card) -> bytes:
    document = db.session.scalar(
        select(CardDocument).where(
            CardDocument.card_id == card.id, CardDocument.kind == DocumentKind.PNG
        )
    )
    assert document is not None
    return document.content


def qr_text(card: Card) -> str:
    """What the QR code on the card's PNG says (its URL)."""
    [text] = qr_texts(Image.open(io.BytesIO(card_png(card))))
    return text


def records(partner: Partner | int | None = None) -> list[tuple[VerificationChannel, str]]:
    """The checks recorded (of one partner), oldest first."""
    partner_id = partner.id if isinstance(partner, Partner) else partner
    db.session.rollback()
    query = select(Verification.channel, Verification.result).order_by(Verification.id)
    if partner_id is not None:
        query = query.where(Verification.partner_id == partner_id)
    return [(channel, result) for channel, result in db.session.execute(query)]


@pytest.fixture
def partner_client(app: Flask, ctx: None, client: FlaskClient) -> tuple[FlaskClient, Partner]:
    partner = make_partner(make_office())
    sign_in(client, make_partner_user(partner))
    return client, partner


# --- the partner's page, without JavaScript ----------------------------------------------


def test_check_page_needs_an_approved_partner(app: Flask, ctx: None, make_client) -> None:  # type: ignore[no-untyped-def]
    office = make_office()
    anonymous = make_client()
    response = anonymous.get("/pruefen/")
    assert response.status_code == 302
    assert "/anmelden" in response.headers["Location"]

    volunteer = make_client()
    sign_in(volunteer, make_user(UserRole.VOLUNTEER))
    assert volunteer.get("/pruefen/").status_code == 403
    assert volunteer.get("/pruefen/verlauf").status_code == 403

    pending = make_client()
    sign_in(pending, make_partner_user(make_partner(office, PartnerState.PENDING)))
    assert pending.get("/pruefen/").status_code == 403

    approved = make_client()
    sign_in(approved, make_partner_user(make_partner(office)))
    response = approved.get("/pruefen/")
    assert response.status_code == 200
    assert "vendor/jsQR.js" in page_text(response)
    # Served by the app itself; `make` copies it from node_modules (npm ci).
    script = approved.get("/static/vendor/jsQR.js")
    assert script.status_code == 200, "run `make test` (it installs jsQR with npm ci)"
    assert b"jsQR" in script.get_data()
    script.close()


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        ("valid", "gültig"),
        ("revoked", "gesperrt"),
        ("unknown", "unbekannt"),
        ("garbage", "nicht echt"),
        ("qr", "gültig"),
        ("altered_qr", "nicht echt"),
    ],
)
def test_typed_code_gives_the_answer_page(
    partner_client: tuple[FlaskClient, Partner], kind: str, word: str
) -> None:
    client, partner = partner_client
    card = make_card(partner.office, revoked=kind == "revoked")
    url = qr_text(card)
    altered = url[:-5] + ("1" if url[-5] != "1" else "2") + url[-4:]
    code = {
        "valid": card_numbers.format_card_number(card.number).lower(),
        "revoked": card.number,
        "unknown": card_numbers.format_card_number(lifecycle.unused_number()),
        "garbage": "https://example.org/karte#12345",
        "qr": url,
        "altered_qr": altered,
    }[kind]

    response = post(client, "/pruefen/", {"code": code}, page="/pruefen/")
    # Post/redirect/get: the answer is on the page the check redirects to.
    assert response.status_code == 303
    assert response.headers["Location"] == "/pruefen/"
    response = client.get("/pruefen/")

    assert response.status_code == 200
    html = page_text(response)
    assert f'data-status="{verification_check.check(code).status.value}"' in html
    assert f'<span class="verdict-word">{word}</span>' in html
    if kind in ("valid", "revoked", "qr"):
        assert card.holder_name in html
    else:
        assert card.holder_name not in html
    assert records(partner) == [
        (VerificationChannel.PAGE, verification_check.check(code).status.value)
    ]


def test_typed_form_needs_a_code_and_csrf(partner_client: tuple[FlaskClient, Partner]) -> None:
    client, partner = partner_client
    response = post(client, "/pruefen/", {"code": ""}, page="/pruefen/")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in page_text(response)
    assert client.post("/pruefen/", data={"code": "K7QM3RXA9TWP"}).status_code == 400
    assert records(partner) == []


def test_recorded_benefit_must_be_the_partners_own(
    partner_client: tuple[FlaskClient, Partner],
) -> None:
    client, partner = partner_client
    card = make_card(partner.office)
    [benefit] = partner.benefits
    post(client, "/pruefen/", {"code": card.number, "benefit": benefit.public_id}, page="/pruefen/")
    other = make_partner(partner.office)
    token = csrf_token(client, "/pruefen/")
    response = client.post(
        "/pruefen/ergebnis",
        json={"code": card.number, "benefit": other.benefits[0].public_id},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    db.session.rollback()
    assert list(
        db.session.scalars(
            select(Verification.benefit_id)
            .where(Verification.partner_id == partner.id)
            .order_by(Verification.id)
        )
    ) == [benefit.id, None]


def test_json_answer(partner_client: tuple[FlaskClient, Partner]) -> None:
    client, partner = partner_client
    card = make_card(partner.office)
    revoked = make_card(partner.office, revoked=True)
    token = csrf_token(client, "/pruefen/")

    def ask(body: object) -> tuple[int, dict[str, object]]:
        response = client.post("/pruefen/ergebnis", json=body, headers={"X-CSRFToken": token})
        return response.status_code, response.get_json()

    assert ask({"code": qr_text(card)}) == (
        200,
        {
            "status": "valid",
            "holder_name": card.holder_name,
            "card_type": "Ehrenamtskarte",
            "valid_until": card.valid_until.strftime("%d.%m.%Y") if card.valid_until else None,
        },
    )
    assert ask({"code": revoked.number})[1]["status"] == "revoked"
    assert ask({"code": "not a card"}) == (
        200,
        {"status": "invalid", "holder_name": None, "card_type": None, "valid_until": None},
    )
    assert records(partner) == [
        (VerificationChannel.PAGE, "valid"),
        (VerificationChannel.PAGE, "revoked"),
        (VerificationChannel.PAGE, "invalid"),
    ]
    for bad in ({}, {"code": ""}, {"code": 5}, {"code": "x" * 3000}, ["x"], {"code": "a\x00"}):
        assert ask(bad)[0] == 400
    assert ask({"code": card.number, "benefit": 3})[0] == 400
    # A benefit that is not one of ours is not recorded, however it is spelt.
    for benefit in ("\x00", "x" * 5000, "unknown"):
        assert ask({"code": card.number, "benefit": benefit})[1]["status"] == "valid"
    response = post(
        client, "/pruefen/", {"code": card.number, "benefit": "a\x00"}, page="/pruefen/"
    )
    assert response.status_code == 303  # checked and recorded (post/redirect/get)
    # No CSRF token in the header: refused, nothing recorded.
    assert client.post("/pruefen/ergebnis", json={"code": card.number}).status_code == 400
    assert len(records(partner)) == 7


def test_checks_are_rate_limited_per_partner(
    app: Flask, partner_client: tuple[FlaskClient, Partner], make_client
) -> None:  # type: ignore[no-untyped-def]
    client, partner = partner_client
    colleague = make_client()
    colleague.environ_base["REMOTE_ADDR"] = "192.0.2.7"  # another device, another address
    sign_in(colleague, make_partner_user(partner))
    previous = app.config.get("RATELIMIT_VERIFY_PAGE")
    app.config["RATELIMIT_VERIFY_PAGE"] = "3 per minute"
    try:
        token = csrf_token(client, "/pruefen/")
        for _ in range(2):
            response = client.post(
                "/pruefen/ergebnis", json={"code": "x"}, headers={"X-CSRFToken": token}
            )
            assert response.status_code == 200
        # The colleague shares the partner's allowance.
        # (answered on the page it redirects to: post/redirect/get)
        assert post(colleague, "/pruefen/", {"code": "x"}, page="/pruefen/").status_code == 303
        response = client.post(
            "/pruefen/ergebnis", json={"code": "x"}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 429
        assert post(colleague, "/pruefen/", {"code": "x"}, page="/pruefen/").status_code == 429
    finally:
        if previous is None:
            app.config.pop("RATELIMIT_VERIFY_PAGE")
        else:
            app.config["RATELIMIT_VERIFY_PAGE"] = previous
    assert len(records(partner)) == 3


def test_repeated_unknown_codes_are_throttled_on_the_page_and_the_api_together(
    app: Flask,
    partner_client: tuple[FlaskClient, Partner],
    make_client,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_API_FAILED_CODES", "3 per minute")
    client, partner = partner_client
    card = make_card(partner.office)
    token = csrf_token(client, "/pruefen/")

    def scanned(code: str) -> TestResponse:
        return client.post("/pruefen/ergebnis", json={"code": code}, headers={"X-CSRFToken": token})

    assert scanned("garbage").get_json()["status"] == "invalid"
    assert scanned(card.number).get_json()["status"] == "valid"  # a real card does not count
    assert scanned(card_numbers.new_card_number()).get_json()["status"] == "unknown"
    _, key = api_keys.create_key(partner, "Kasse", None)
    till = make_client().post(
        "/api/v1/verify", json={"code": "more garbage!"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert till.get_json()["status"] == "invalid"  # the third, through the till
    refused = scanned(card.number)
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "too_many_failed_codes"}
    typed = post(client, "/pruefen/", {"code": card.number}, page="/pruefen/")
    assert typed.status_code == 429
    assert "Zu viele unbekannte oder ungültige Codes" in page_text(typed)
    verification_records.record_writer().flush()
    assert records(partner) == [
        (VerificationChannel.PAGE, "invalid"),
        (VerificationChannel.PAGE, "valid"),
        (VerificationChannel.PAGE, "unknown"),
        (VerificationChannel.API, "invalid"),
    ]


def test_history_shows_only_own_checks_with_counts(
    partner_client: tuple[FlaskClient, Partner], make_client
) -> None:  # type: ignore[no-untyped-def]
    client, partner = partner_client
    card = make_card(partner.office)
    for code in (card.number, card.number, "garbage"):
        post(client, "/pruefen/", {"code": code}, page="/pruefen/")
    other_partner = make_partner(partner.office)
    other = make_client()
    sign_in(other, make_partner_user(other_partner))
    post(other, "/pruefen/", {"code": card.number}, page="/pruefen/")

    html = page_text(client.get("/pruefen/verlauf"))
    assert '<strong data-count="total">3</strong>' in html
    assert '<strong data-count="valid">2</strong>' in html
    assert '<strong data-count="invalid">1</strong>' in html
    assert html.count("<tr data-result=") == 3
    other_html = page_text(other.get("/pruefen/verlauf"))
    assert '<strong data-count="total">1</strong>' in other_html
    # Pages past the end (however far) are empty, never an error.
    for page in ("2", "99999999999999999999999", "-3", "x"):
        assert client.get(f"/pruefen/verlauf?seite={page}").status_code == 200


# --- the public revocation list (what /karte decides "revoked" from) ----------------------


REVOCATIONS = "/.well-known/ehrenamtskarte-revocations.json"


def test_revocation_list_is_public_cacheable_and_the_apis(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    office = make_office()
    card = make_card(office)
    revoked = make_card(office, revoked=True)

    response = client.get(REVOCATIONS)  # no key, no cookie: anybody may fetch it

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    listing = response.get_json()
    salt = listing["salt"]
    assert listing["algorithm"] == "HMAC-SHA256/64"
    assert listing["revoked"] == [verification_revocation.revocation_hash(salt, revoked.number)]
    assert verification_revocation.revocation_hash(salt, card.number) not in listing["revoked"]
    # The same salt and entries as the partners' API list.
    _, key = api_keys.create_key(make_partner(office), "Kasse", None)
    api = client.get("/api/v1/revocations", headers={"Authorization": f"Bearer {key}"})
    assert (api.get_json()["salt"], api.get_json()["revoked"]) == (salt, listing["revoked"])
    # A visitor who has it gets "not modified" instead of the list again.
    again = client.get(REVOCATIONS, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    # Nothing asks about one card any more, so there is no per-card question to use up.
    assert client.get(f"/karte/gesperrt?nummer={card.number}").status_code == 404
    assert records() == []


def test_revocation_list_shows_a_revocation_at_once(
    app: Flask, ctx: None, client: FlaskClient
) -> None:
    card = make_card(make_office())
    before = client.get(REVOCATIONS).get_json()
    entry = verification_revocation.revocation_hash(before["salt"], card.number)
    assert entry not in before["revoked"]
    lifecycle.revoke(
        card, Acting.user_as(clerk_of(card.application), Actor.CLERK), RevocationReason.LOST
    )
    assert entry in client.get(REVOCATIONS).get_json()["revoked"]


def test_public_page_works_offline_and_explains_without_script(client: FlaskClient) -> None:
    html = page_text(client.get("/karte"))
    assert "<noscript>" in html
    assert "js/card-check.js" in html
    assert "Kartennummer auf ihrer Prüfseite" in html


# --- in the browser ---------------------------------------------------------------------


def write_y4m(png: bytes, path: Path, width: int = 640, height: int = 480) -> None:
    """One 4:2:0 video frame showing the card's QR code, for Chromium's fake camera."""
    card = Image.open(io.BytesIO(png)).convert("L")
    [code] = zxingcpp.read_barcodes(card, formats=zxingcpp.BarcodeFormat.QRCode)
    # Only the QR code, enlarged with sharp edges, on white, as a camera would frame it.
    left = min(p.x for p in (code.position.top_left, code.position.bottom_left))
    top = min(p.y for p in (code.position.top_left, code.position.top_right))
    right = max(p.x for p in (code.position.top_right, code.position.bottom_right))
    bottom = max(p.y for p in (code.position.bottom_left, code.position.bottom_right))
    margin = (right - left) // 8
    qr = card.crop((left - margin, top - margin, right + margin, bottom + margin))
    side = min(width, height) - 40
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + luma + chroma + chroma)


def camera_browser(playwright: Playwright, video: Path) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


@pytest.mark.browser
@pytest.mark.parametrize(("revoked", "word"), [(False, "gültig"), (True, "gesperrt")])
def test_partner_scans_a_card_with_the_camera(
    app: Flask,
    live_server: str,
    playwright: Playwright,
    tmp_path: Path,
    revoked: bool,
    word: str,
) -> None:
    with app.app_context():
        partner = make_partner(make_office())
        partner_id = partner.id
        user = make_partner_user(partner)
        card = make_card(partner.office, revoked=revoked)
        name = card.holder_name
        write_y4m(card_png(card), tmp_path / "card.y4m")
        email = user.email

    browser = camera_browser(playwright, tmp_path / "card.y4m")
    try:
        context = browser.new_context(locale="de-DE", permissions=["camera"])
        page = context.new_page()
        page.goto(f"{live_server}/anmelden")
        page.get_by_label("E-Mail-Adresse").fill(email)
        page.get_by_label("Passwort").fill("correct horse battery staple")
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(lambda url: "/anmelden" not in url)
        page.goto(f"{live_server}/pruefen/")
        page.get_by_role("button", name="Kamera starten").click()
        verdict = page.locator("#verdict")
        expect(verdict).to_be_visible(timeout=30000)
        expect(verdict.locator("[data-verdict]:visible .verdict-word")).to_have_text(
            word, timeout=30000
        )
        expect(page.locator("#verdict-name")).to_have_text(name)
        # The camera is off once the code is read.
        expect(page.locator("#scan-video")).to_be_hidden()
        context.close()
    finally:
        browser.close()
    with app.app_context():
        assert records(partner_id) == [
            (VerificationChannel.PAGE, "revoked" if revoked else "valid")
        ]


def public_page(browser: Browser, tmp_path: Path) -> Page:
    """A phone-sized German page, as a camera app opens the card's URL on a phone."""
    return browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})


def public_verdict(page: Page, url: str, screenshot: Path | None = None) -> str:
    """Open ``url`` on the public page and wait for its answer: the verdict's status."""
    page.goto(url)
    page.reload()  # a new fragment alone would only fire hashchange
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible(timeout=30000)
    # Exactly one panel is visible: the status's own word, never colour alone.
    expect(verdict.locator("[data-verdict]:visible .verdict-word")).to_have_count(1)
    if screenshot is not None:
        page.screenshot(path=screenshot, full_page=True)
    return str(verdict.get_attribute("data-status"))


def plain_browser(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--disable-gpu", "--disable-background-networking"]
    )


@pytest.mark.browser
def test_public_page_decides_revocation_from_the_list(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    with app.app_context():
        office = make_office()
        valid = make_card(office)
        revoked = make_card(office, revoked=True)
        valid_digits = qr_text(valid).split("#", 1)[1]
        revoked_digits = qr_text(revoked).split("#", 1)[1]
        name = valid.holder_name
        numbers = (valid.number, revoked.number)
    position = len(valid_digits) // 2
    changed = (
        valid_digits[:position]
        + ("1" if valid_digits[position] != "1" else "2")
        + valid_digits[position + 1 :]
    )

    browser = plain_browser(playwright)
    try:
        page = public_page(browser, tmp_path)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        # Whatever per-card question someone may have used up, the list decides.
        page.route("**/karte/gesperrt*", lambda route: route.fulfill(status=429))
        for digits, status, word in (
            (valid_digits, "valid", "gültig"),
            (revoked_digits, "revoked", "gesperrt"),
            (changed, "invalid", "nicht echt"),
            ("12", "invalid", "nicht echt"),
        ):
            shot = tmp_path / f"{status}-{len(digits)}.png"
            assert public_verdict(page, f"{live_server}/karte#{digits}", shot) == status
            expect(page.locator("[data-verdict]:visible .verdict-word")).to_have_text(word)
            if digits == valid_digits:
                expect(page.locator("#verdict-name")).to_have_text(name)
            if status == "invalid":
                expect(page.locator("#verdict-card")).to_be_hidden()
        # Neither the token nor the card number reached the server.
        assert any(REVOCATIONS in url for url in requests)
        for secret in (valid_digits[:30], *numbers):
            assert not any(secret in url for url in requests)
    finally:
        browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("failure", [503, 429, "aborted", "not a list"])
def test_public_page_without_the_list_never_says_valid(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path, failure: object
) -> None:
    with app.app_context():
        office = make_office()
        valid_digits = qr_text(make_card(office)).split("#", 1)[1]
        revoked_digits = qr_text(make_card(office, revoked=True)).split("#", 1)[1]

    def broken_list(route: Route) -> None:
        if failure == "aborted":
            route.abort("connectionrefused")
        elif failure == "not a list":
            route.fulfill(status=200, content_type="application/json", body='{"revoked": 5}')
        else:
            route.fulfill(status=int(str(failure)), body="")

    browser = plain_browser(playwright)
    try:
        page = public_page(browser, tmp_path)
        page.route(f"**{REVOCATIONS}", broken_list)
        page.route("**/karte/gesperrt*", lambda route: route.fulfill(status=429))
        for digits in (valid_digits, revoked_digits):
            shot = tmp_path / f"unchecked-{failure}.png"
            assert public_verdict(page, f"{live_server}/karte#{digits}", shot) == "unchecked"
            expect(page.locator("[data-verdict]:visible .verdict-word")).to_have_text(
                "echt, aber Sperrstatus nicht prüfbar"
            )
            expect(page.locator("[data-verdict=valid]")).to_be_hidden()
            expect(page.locator("#verdict-name")).to_be_visible()
    finally:
        browser.close()


def fragment_cases(digits: str) -> list[tuple[str, str]]:
    """Fragments made from a valid card's digits, and the verdict each must get, on the
    page and on the API alike: the token is ASCII digits, never percent-decoded."""
    escaped_first = f"%{ord(digits[0]):X}{digits[1:]}"  # "%35…" is "5…" once decoded
    return [
        (digits, "valid"),
        (escaped_first, "invalid"),
        (f"{digits[:-1]}%{ord(digits[-1]):x}", "invalid"),
        (f"%{digits}", "invalid"),  # a broken escape: URIError if decoded
        ("%E0%A4%A", "invalid"),
        (f"{digits}%20", "invalid"),
    ]


@pytest.mark.browser
def test_public_page_and_api_read_the_fragment_alike(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path, make_client
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        office = make_office()
        digits = qr_text(make_card(office)).split("#", 1)[1]
        _, key = api_keys.create_key(make_partner(office), "Kasse", None)
    till = make_client()

    browser = plain_browser(playwright)
    try:
        page = public_page(browser, tmp_path)
        for index, (fragment, expected) in enumerate(fragment_cases(digits)):
            url = f"{live_server}/karte#{fragment}"
            answer = till.post(
                "/api/v1/verify", json={"code": url}, headers={"Authorization": f"Bearer {key}"}
            )
            assert answer.get_json()["status"] == expected, fragment
            shot = tmp_path / f"fragment-{index}.png"
            assert public_verdict(page, url, shot) == expected, fragment
            if expected == "invalid":
                expect(page.locator("[data-verdict]:visible .verdict-word")).to_have_text(
                    "nicht echt"
                )
                expect(page.locator("#verdict-card")).to_be_hidden()  # no empty facts
    finally:
        browser.close()
