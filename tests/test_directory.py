"""The public directory of benefits: search, filters, distance, paging, partner pages."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Benefit
from ehrenamt.partners import directory as partners_directory
from tests.factories import make_office
from tests.helpers import page_text
from tests.test_partners import make_partner


def test_only_published_benefits_of_approved_partners_are_listed(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    make_partner(office, name="Bestätigt", benefits=("Sichtbar",))
    make_partner(office, name="Offen", benefits=("Unsichtbar",), approve=False)
    html = page_text(client.get("/verguenstigungen/"))
    assert "Sichtbar" in html and "Unsichtbar" not in html


def test_benefits_outside_their_dates_are_not_listed(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, _user = make_partner(office, benefits=("Alt", "Künftig", "Jetzt"))
    today = date.today()
    alt, future, now = partner.benefits
    alt.valid_until = today - timedelta(days=1)
    future.valid_from = today + timedelta(days=1)
    now.valid_from, now.valid_until = today, today
    db.session.commit()
    html = page_text(client.get("/verguenstigungen/"))
    assert "Jetzt" in html and "Alt<" not in html and "Künftig" not in html


def test_search_by_text_category_and_place(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(
        office,
        name="Bäckerei Süß",
        town="Roßlau",
        postcode="06862",
        benefits=("Brötchen gratis",),
        category="essen-trinken-gastronomie",
    )
    make_partner(
        office,
        name="Fahrradladen",
        town="Dessau",
        postcode="06844",
        benefits=("Inspektion 10 % günstiger",),
        category="auto-zweirad",
    )

    def listed(query: str) -> set[str]:
        html = page_text(client.get("/verguenstigungen/?" + query))
        return {name for name in ("Bäckerei Süß", "Fahrradladen") if name in html}

    assert listed("") == {"Bäckerei Süß", "Fahrradladen"}
    assert listed("q=BRÖTCHEN") == {"Bäckerei Süß"}
    assert listed("q=fahrrad") == {"Fahrradladen"}
    assert listed("q=100%25") == set()  # % is a literal, not a wildcard
    assert listed("category=auto-zweirad") == {"Fahrradladen"}
    assert listed("category=essen-trinken-gastronomie&q=inspektion") == set()
    assert listed("place=068") == {"Bäckerei Süß", "Fahrradladen"}
    assert listed("place=06862") == {"Bäckerei Süß"}
    assert listed("place=dessau") == {"Fahrradladen"}
    assert listed("place=Roßlau") == {"Bäckerei Süß"}


def test_sort_by_distance_with_coordinates(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    # Dessau, Wittenberg (about 30 km), Berlin (about 110 km), and one without coordinates.
    make_partner(office, name="Nah", latitude="51.8350", longitude="12.2460", benefits=("A",))
    make_partner(office, name="Mittel", latitude="51.8660", longitude="12.6480", benefits=("B",))
    make_partner(office, name="Fern", latitude="52.5200", longitude="13.4050", benefits=("C",))
    make_partner(office, name="Ohne", postcode="99999", benefits=("D",))  # not in the table
    html = page_text(client.get("/verguenstigungen/?lat=51.87&lon=12.64"))
    assert html.index("Mittel") < html.index("Nah")
    assert "Fern" not in html and "Ohne" not in html  # outside the 50 km box, or unknown
    assert "km" in html
    result = partners_directory.search_directory(
        partners_directory.DirectoryQuery(latitude=52.52, longitude=13.40, radius_km=200), 1, 10
    )
    assert [partner.name for _b, partner in result.items] == ["Fern", "Mittel", "Nah"]


def test_bad_search_parameters_answer_400(client: FlaskClient, ctx: None) -> None:
    make_office()
    assert client.get("/verguenstigungen/?lat=abc&lon=1").status_code == 400
    assert client.get("/verguenstigungen/?page=0").status_code == 400
    assert client.get("/verguenstigungen/?q=%00").status_code == 400


def test_directory_is_paged(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(office, name="Partner", benefits=tuple(f"Angebot {n:02d}" for n in range(30)))
    first = page_text(client.get("/verguenstigungen/"))
    assert first.count("Angebot ") == 25 and 'rel="next"' in first
    second = page_text(client.get("/verguenstigungen/?page=2"))
    assert second.count("Angebot ") == 5 and 'rel="next"' not in second
    assert "Angebot 29" in second and "Angebot 29" not in first


def test_partner_page_shows_its_published_benefits(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, _user = make_partner(office, name="Zoo", benefits=("Eintritt frei", "Futter"))
    hidden = partner.benefits[1]
    hidden.unpublished_by_staff = True
    hidden.published = False
    db.session.commit()
    html = page_text(client.get(f"/verguenstigungen/partner/{partner.public_id}"))
    assert "Zoo" in html and "Eintritt frei" in html and "Futter" not in html
    pending, _u = make_partner(office, name="Offen", approve=False)
    assert client.get(f"/verguenstigungen/partner/{pending.public_id}").status_code == 404
    assert client.get("/verguenstigungen/partner/nichtda").status_code == 404


def test_directory_works_in_english(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(office, name="Theater", benefits=("Karten günstiger",))
    headers = {"Accept-Language": "en"}
    html = page_text(client.get("/verguenstigungen/", headers=headers))
    assert "Search" in html and "Education/culture/entertainment" in html
    assert "Theater" in html
    assert db.session.scalar(select(Benefit.title)) == "Karten günstiger"
