"""A mistyped card number is a typo, not a forged card (issue #14, the cashier).

On the check page (with and without JavaScript) and on the till API it is pointed out as
a typo, what was typed stays, and it is neither recorded as a check nor counted against
the partner's limit of unknown or forged codes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Playwright, expect

from ehrenamt.cardformat import card_numbers
from ehrenamt.core import rate_counters
from ehrenamt.models import Partner
from ehrenamt.partners import api_keys
from ehrenamt.verification import check as verification_check
from ehrenamt.verification import limits
from ehrenamt.verification import records as verification_records
from ehrenamt.web.api import openapi
from ehrenamt.web.api.views import MISTYPED_CARD_NUMBER
from tests.factories import make_office
from tests.helpers import csrf_token, page_text, post
from tests.test_api import assert_problem, check
from tests.test_verify_pages import (
    make_card,
    make_partner,
    make_partner_user,
    partner_client,  # noqa: F401 (a fixture)
    plain_browser,
    records,
)

TYPO_MESSAGE = "Tippfehler? Bitte die Nummer noch einmal prüfen."


def one_character_off(number: str) -> str:
    """``number`` with its third character replaced: the check character no longer fits."""
    replacement = next(c for c in card_numbers.ALPHABET if c != number[2])
    return card_numbers.format_card_number(number[:2] + replacement + number[3:])


def failed_codes_used(partner: Partner) -> bool:
    """Whether the partner's allowance of failed codes (set to one) is used up."""
    return rate_counters.count([], [(limits.FAILED_CODES, str(partner.id))])[1] is not None


@pytest.fixture
def one_failed_code(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A partner may send a single unknown or forged code, so one counted shows."""
    monkeypatch.setitem(app.config, limits.FAILED_CODES, "1 per minute")


def test_check_tells_a_typo_from_a_forgery(ctx: None) -> None:
    card = make_card(make_office())
    with pytest.raises(card_numbers.InvalidCardNumber, match="Tippfehler"):
        verification_check.check(one_character_off(card.number))
    for typed in ("K7QM-3RXA-9TW0", "K7QM3RXA9T"):  # a look-alike; a character missing
        with pytest.raises(card_numbers.InvalidCardNumber):
            verification_check.check(typed)
    # A well-formed number that is no card here is "unknown", QR garbage "invalid".
    assert verification_check.check(card_numbers.new_card_number()).status == "unknown"
    assert verification_check.check("https://example.org/karte#12345").status == "invalid"


def test_typed_typo_on_the_page_keeps_the_number_and_is_not_a_forgery(
    partner_client: tuple[FlaskClient, Partner],  # noqa: F811
    one_failed_code: None,
) -> None:
    client, partner = partner_client
    card = make_card(partner.office)
    typo = one_character_off(card.number)

    response = post(client, "/pruefen/", {"code": typo}, page="/pruefen/")

    assert response.status_code == 200
    html = page_text(response)
    assert TYPO_MESSAGE in html
    assert f'value="{typo}"' in html
    assert 'aria-invalid="true"' in html
    assert "data-status=" not in html  # no verdict shown, least of all "nicht echt"
    assert records(partner) == []
    assert not failed_codes_used(partner)
    # The page's script gets the message to show at the field, and nothing is counted.
    token = csrf_token(client, "/pruefen/")
    answer = client.post("/pruefen/ergebnis", json={"code": typo}, headers={"X-CSRFToken": token})
    assert answer.status_code == 422
    assert answer.get_json() == {"error": "typo", "message": TYPO_MESSAGE}
    assert records(partner) == []
    assert not failed_codes_used(partner)
    # A well-formed unknown number still counts.
    unknown = post(
        client,
        "/pruefen/",
        {"code": card_numbers.new_card_number()},
        page="/pruefen/",
        follow_redirects=True,
    )
    assert '<span class="verdict-word">unbekannt</span>' in page_text(unknown)
    assert failed_codes_used(partner)


def test_till_api_answers_a_typo_with_its_own_problem(
    app: Flask, ctx: None, client: FlaskClient, one_failed_code: None
) -> None:
    partner = make_partner(make_office())
    _, key = api_keys.create_key(partner, "Kasse", None)
    card = make_card(partner.office)

    body = assert_problem(check(client, key, one_character_off(card.number)), 422)

    assert body["type"] == MISTYPED_CARD_NUMBER
    assert verification_records.record_writer().flush() == 0
    assert not failed_codes_used(partner)
    assert check(client, key, card.number).get_json()["status"] == "valid"
    # The document tells till developers about it.
    verify = openapi.document()["paths"]["/verify"]["post"]["responses"]
    assert "mistyped-card-number" in verify["422"]["description"]


@pytest.mark.browser
def test_typo_in_the_browser_is_shown_at_the_field(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    with app.app_context():
        partner = make_partner(make_office())
        email = make_partner_user(partner).email
        card = make_card(partner.office)
        typo = one_character_off(card.number)
        number = card.number
        partner_id = partner.id

    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/anmelden")
        page.get_by_label("E-Mail-Adresse").fill(email)
        page.get_by_label("Passwort").fill("correct horse battery staple")
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(lambda url: "/anmelden" not in url)
        page.goto(f"{live_server}/pruefen/")
        field = page.get_by_label("Kartennummer", exact=True)
        field.fill(typo)
        page.get_by_role("button", name="Prüfen").click()

        expect(page.locator("#code-error")).to_have_text(TYPO_MESSAGE)
        expect(field).to_have_value(typo)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#verdict")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "typo.png"), full_page=True)
        # Corrected, the card is checked and the typo message goes.
        field.fill(number)
        page.get_by_role("button", name="Prüfen").click()
        expect(page.locator("[data-verdict]:visible .verdict-word")).to_have_text("gültig")
        expect(page.locator("#code-error")).to_have_count(0)
    finally:
        browser.close()
    with app.app_context():
        assert [result for _, result in records(partner_id)] == ["valid"]
