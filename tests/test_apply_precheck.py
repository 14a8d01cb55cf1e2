"""Eligibility before submitting (issue #14, the applicant): the form says which of the
office's rules the answers do not meet, after sending and live as the applicant types;
the applicant may still apply."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Playwright, expect
from sqlalchemy import func, select

from ehrenamt.extensions import db
from ehrenamt.models import Application, Office
from tests.factories import application_form_data, make_office
from tests.helpers import page_text, post
from tests.test_verify_pages import plain_browser


def too_young() -> str:
    """A birth date of someone just 15 years old."""
    today = date.today()
    return today.replace(year=today.year - 15, day=1).isoformat()


def applications() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Application)) or 0


@pytest.fixture
def office(ctx: None) -> Office:
    return make_office()  # Dessau-Roßlau's rules: 16 years, 4 h/week or 200 h/year, 3 years


def test_submit_tells_what_is_not_met_and_may_still_apply(
    client: FlaskClient, office: Office
) -> None:
    data = application_form_data(office, birth_date=too_young(), **{"engagements-0-hours": "2"})

    response = post(client, "/antrag/", data, page="/antrag/")

    assert response.status_code == 200
    html = page_text(response)
    assert f"Nach den Regeln von {office.name} erfüllen Sie diese Voraussetzungen nicht:" in html
    assert "Mindestalter: Sie sind 15 Jahre alt, nötig sind 16." in html
    assert "zusammen 2,0 Stunden pro Woche (104 im Jahr)" in html
    assert 'name="despite_rules"' in html
    assert applications() == 0  # no organisation has been mailed
    # Everything typed is still there.
    assert 'value="Erika"' in html and 'value="2"' in html

    sent = post(client, "/antrag/", {**data, "despite_rules": "y"}, page="/antrag/")
    assert sent.status_code == 302
    assert applications() == 1


def test_a_qualification_replaces_hours_and_years(client: FlaskClient, office: Office) -> None:
    since = (date.today() - timedelta(days=200)).isoformat()
    data = application_form_data(
        office, **{"engagements-0-hours": "1", "engagements-0-engaged_since": since}
    )
    html = page_text(post(client, "/antrag/", data, page="/antrag/"))
    assert "diese Voraussetzungen nicht" in html  # hours and years
    assert "Zeitlicher Umfang" in html and "Dauer des Engagements" in html
    live = client.post(
        "/antrag/voraussetzungen", data={**data, "qualification": "juleica"} | csrf(client)
    ).get_json()
    assert live["count"] == 0


def csrf(client: FlaskClient) -> dict[str, str]:
    from tests.helpers import csrf_token

    return {"csrf_token": csrf_token(client, "/antrag/")}


def test_live_check_reads_a_half_filled_form(client: FlaskClient, office: Office) -> None:
    answer = client.post(
        "/antrag/voraussetzungen",
        data={
            "office": str(office.id),
            "birth_date": too_young(),
            "postcode": "99999",
            "engagements-0-hours": "viel",
            "engagements-0-organisation_postcode": "12345",
            "engagements-0-allowance": "5000",
        }
        | csrf(client),
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["count"] == 3  # age, allowance, place; the unreadable hours are not judged
    assert "Mindestalter" in body["html"] and "5.000 €" in body["html"]
    assert "nicht im Gebiet" in body["html"]
    # A postcode in the office's own list is fine; nothing typed yet, nothing to say.
    fine = client.post(
        "/antrag/voraussetzungen",
        data={"office": str(office.id), "engagements-0-organisation_postcode": "06846"}
        | csrf(client),
    ).get_json()
    assert fine == {"count": 0, "html": fine["html"]} and "Voraussetzung" not in fine["html"]
    assert client.post("/antrag/voraussetzungen", data={"office": "x"}).status_code == 400


def test_rules_box_explains_only_this_offices_rules(client: FlaskClient, ctx: None) -> None:
    office = make_office(preset="bayern")
    office.rules.qualifications = "juleica"
    office.rules.long_service_card = True
    office.rules.long_service_years = 25
    db.session.commit()
    html = page_text(client.get("/antrag/"))
    box = html.split('class="rules"', 1)[1].split("</section>", 1)[0]
    assert "Jugendleiter/in-Card (Juleica)" in box
    assert "Freiwillige Feuerwehr" not in box
    assert "Wohnsitz im Gebiet der Ausgabestelle" in box
    assert "seit mindestens 25 Jahren" in box and "Jubiläumskarte" in box


@pytest.mark.browser
def test_live_summary_as_the_applicant_types(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    with app.app_context():
        name = make_office().name
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server}/antrag/")
        summary = page.locator("#eligibility-live")
        expect(summary).to_have_text("")
        page.get_by_label("Geburtsdatum").fill(too_young())
        expect(summary).to_contain_text(
            f"Nach den Regeln von {name} erfüllen Sie diese Voraussetzung nicht:"
        )
        expect(summary).to_contain_text("Mindestalter")
        page.locator("#eligibility-summary").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "live.png"))
        page.get_by_label("Geburtsdatum").fill("1980-05-17")
        expect(summary).not_to_contain_text("Mindestalter")
    finally:
        browser.close()
