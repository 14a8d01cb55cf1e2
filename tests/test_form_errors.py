"""Errors on a long form (issue #14, the applicant): the summary links every faulty field
and takes the focus; adding an organisation keeps the position; a failed submission never
empties a typed field, passwords included. The same for partner registration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Playwright, expect

from tests.factories import PASSWORD, application_form_data, make_office
from tests.helpers import page_text, post
from tests.test_partners import registration_data
from tests.test_verify_pages import plain_browser


def summary_links(html: str) -> dict[str, str]:
    """The error summary's links: target id → text."""
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return dict(re.findall(r'<li><a href="#([^"]+)">([^<]+)</a>', summary))


def test_apply_summary_links_every_faulty_field(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    data = application_form_data(
        office, first_name="", postcode="123", **{"engagements-0-hours": "viel"}
    )

    response = post(client, "/antrag/", data, page="/antrag/")

    assert response.status_code == 400
    html = page_text(response)
    links = summary_links(html)
    assert links == {
        "first_name": "Vorname",
        "postcode": "Postleitzahl",
        "engagements-0-hours": "Organisation 1: Stunden",
    }
    for target in links:
        assert f'id="{target}"' in html  # each link leads to its field
    assert f'value="{data["password"]}"' in html  # the password is kept too


def test_adding_an_organisation_keeps_the_position(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    html = page_text(client.get("/antrag/"))
    assert 'formaction="/antrag/#organisation-2"' in html
    data = application_form_data(office, add_engagement="Weitere Organisation hinzufügen")
    again = page_text(post(client, "/antrag/#organisation-2", data, page="/antrag/"))
    assert 'id="organisation-2"' in again
    assert 'formaction="/antrag/#organisation-3"' in again
    assert f'value="{data["password"]}"' in again


def test_partner_registration_keeps_passwords_and_links_errors(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    data = registration_data(office, name="", **{"benefits-0-title": ""}, postcode="1")
    response = post(
        client, "/akzeptanzstelle/registrieren", data, page="/akzeptanzstelle/registrieren"
    )
    assert response.status_code == 400
    html = page_text(response)
    links = summary_links(html)
    assert "name" in links and "postcode" in links
    assert html.count(f'value="{PASSWORD}"') == 2  # password and its repetition


@pytest.mark.browser
def test_focus_moves_to_the_summary_and_rows_keep_their_place(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    with app.app_context():
        make_office()
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/antrag/")
        page.get_by_label("Vorname", exact=True).fill("Erika")
        page.get_by_label("Passwort für Ihr Konto", exact=False).fill("ein langes Passwort")
        page.get_by_role("button", name="Weitere Organisation hinzufügen").click()
        page.wait_for_url(re.compile(r"#organisation-2$"))
        second = page.locator("#organisation-2")
        expect(second).to_be_in_viewport()
        assert page.evaluate("window.scrollY") > 500  # not the top of the page
        expect(page.get_by_label("Vorname", exact=True)).to_have_value("Erika")

        page.get_by_role("button", name="Antrag absenden").click()
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        page.screenshot(path=str(tmp_path / "errors.png"))
        expect(page.get_by_label("Passwort für Ihr Konto", exact=False)).to_have_value(
            "ein langes Passwort"
        )
        summary.get_by_role("link", name="Nachname").click()
        expect(page.get_by_label("Nachname", exact=True)).to_be_focused()
    finally:
        browser.close()
