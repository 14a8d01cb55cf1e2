"""The public directory of benefits: search, filters, distance, paging, partner pages."""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from ehrenamt.extensions import db
from ehrenamt.models import Benefit
from ehrenamt.partners import directory as partners_directory
from tests.factories import make_office
from tests.helpers import page_text
from tests.test_partners import make_partner

MIGRATIONS = Path(__file__).resolve().parents[1] / "ehrenamt" / "migrations" / "versions"


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
    # Postcode and town together, as people write an address, in either order: both
    # must hold, each as tolerant as alone.
    assert listed("place=06844+Dessau") == {"Fahrradladen"}
    assert listed("place=06862+Dessau") == set()
    assert listed("place=Rosslau,+06862") == {"Bäckerei Süß"}
    assert listed("place=068+ROSSLAU") == {"Bäckerei Süß"}
    assert listed("place=068+dess") == {"Fahrradladen"}


def test_sort_by_distance_with_coordinates(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    # Dessau, Wittenberg (about 28 km), Berlin (about 110 km), and one without coordinates.
    make_partner(office, name="Nah", latitude="51.8350", longitude="12.2460", benefits=("A",))
    make_partner(office, name="Mittel", latitude="51.8660", longitude="12.6480", benefits=("B",))
    make_partner(office, name="Fern", latitude="52.5200", longitude="13.4050", benefits=("C",))
    make_partner(office, name="Ohne", postcode="99999", benefits=("D",))  # not in the table
    html = page_text(client.get("/verguenstigungen/?lat=51.87&lon=12.64&radius=50"))
    assert html.index("Mittel") < html.index("Nah")
    assert "Fern" not in html and "Ohne" not in html  # outside 50 km, or unknown
    result = partners_directory.search_directory(
        partners_directory.DirectoryQuery(latitude=52.52, longitude=13.40, radius_km=200), 1, 10
    )
    assert [entry.partner.name for entry in result.items] == ["Fern", "Mittel", "Nah"]


def test_distance_filter_keeps_the_radius_and_shows_the_distance(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    # From Dessau's market: about 2.4 km, 8 km, 20 km and 40 km due north.
    for name, km in (("Zwei", 2.4), ("Acht", 8), ("Zwanzig", 20), ("Vierzig", 40)):
        make_partner(
            office,
            name=name,
            latitude=f"{51.835 + km / 111.32:.6f}",
            longitude="12.246000",
            benefits=(f"Angebot {name}",),
        )

    def listed(radius: str, language: str = "de") -> str:
        url = f"/verguenstigungen/?lat=51.835&lon=12.246&radius={radius}"
        return page_text(client.get(url, headers={"Accept-Language": language}))

    names = ("Zwei", "Acht", "Zwanzig", "Vierzig")
    assert [n for n in names if f">{n}<" in listed("5")] == ["Zwei"]
    assert [n for n in names if f">{n}<" in listed("10")] == ["Zwei", "Acht"]
    assert [n for n in names if f">{n}<" in listed("25")] == ["Zwei", "Acht", "Zwanzig"]
    assert [n for n in names if f">{n}<" in listed("50")] == list(names)
    # Babel's decimal comma in German, the point in English.
    assert "2,4 km" in listed("5") and "2.4 km" in listed("5", "en")
    # Without a radius the default (25 km) holds; a radius not offered is refused.
    assert ">Vierzig<" not in listed("") and ">Zwanzig<" in listed("")
    assert client.get("/verguenstigungen/?lat=51.8&lon=12.2&radius=7").status_code == 400


#: The centre of postcode 06844 (Dessau-Roßlau) in ehrenamt/data/postcodes_de.csv.
CENTRE_06844 = (51.8513, 12.2698)


def listed_in_order(html: str, names: tuple[str, ...]) -> list[str]:
    """The partners among ``names`` whose cards the page shows, in the page's order."""
    return sorted((n for n in names if f">{n}<" in html), key=lambda n: html.index(f">{n}<"))


def partners_due_north(centre: tuple[float, float], *places: dict[str, object]) -> None:
    """A partner per place (its name, its km north of ``centre``, address fields)."""
    office = make_office()
    latitude, longitude = centre
    for place in places:
        name, km = place.pop("name"), float(place.pop("km"))  # type: ignore[arg-type]
        make_partner(
            office,
            name=name,
            latitude=f"{latitude + km / 111.32:.6f}",
            longitude=f"{longitude:.6f}",
            benefits=(f"Angebot {name}",),
            **place,
        )


def directory_text(client: FlaskClient, query: str, language: str = "de") -> str:
    response = client.get("/verguenstigungen/?" + query, headers={"Accept-Language": language})
    assert response.status_code == 200
    return page_text(response)


def test_a_complete_postcode_with_a_radius_is_the_centre(client: FlaskClient, ctx: None) -> None:
    latitude, longitude = CENTRE_06844
    names = ("Drei", "Acht", "Zwanzig")
    # The nearest has another postcode.
    partners_due_north(
        CENTRE_06844,
        {"name": "Zwanzig", "km": 20, "postcode": "06844"},
        {"name": "Acht", "km": 8, "postcode": "06844"},
        {"name": "Drei", "km": 3, "postcode": "06862"},
    )

    def page(query: str, language: str = "de") -> str:
        return directory_text(client, query, language)

    around = page("place=06844&radius=10")
    assert listed_in_order(around, names) == ["Drei", "Acht"]
    assert "3,0 km" in around and "8,0 km" in around
    assert "Im Umkreis von 10 km um 06844 Dessau-Roßlau, sortiert nach Entfernung." in around
    assert 'href="/verguenstigungen/?place=06844">Umkreis nicht mehr verwenden' in around
    assert 'data-here="06844 Dessau-Roßlau"' in around  # the centre on the map
    assert "Within 10 km of 06844 Dessau-Roßlau" in page("place=06844&radius=10", "en")
    # With the town beside it too, and nearest first.
    assert listed_in_order(page("place=06844+Dessau&radius=25"), names) == list(names)
    # Without a radius ("any"), or with an incomplete postcode: the postcode prefix.
    for query in ("place=06844", "place=06844&radius=", "place=0684&radius=10"):
        html = page(query)
        assert listed_in_order(html, names) == ["Zwanzig", "Acht"]
        assert " km" not in html.split('class="directory-results"')[1]
    # The visitor's own position wins; the postcode then narrows as a prefix.
    near_me = page(f"place=06844&radius=50&lat={latitude}&lon={longitude}")
    assert listed_in_order(near_me, names) == ["Acht", "Zwanzig"]
    assert "Sortiert nach Entfernung von Ihrem Standort." in near_me


def test_an_unknown_postcode_as_the_centre_is_explained_at_the_field(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    make_partner(office, name="Ohne Ort", postcode="99999", benefits=("Rabatt",))
    response = client.get("/verguenstigungen/?place=99999&radius=10")
    html = page_text(response)
    assert response.status_code == 400
    field = html[html.index('id="place"') - 200 : html.index('id="place-error"') + 200]
    assert 'aria-invalid="true"' in field and "place-error" in field
    assert "Die Postleitzahl 99999 ist uns nicht bekannt." in field
    english = page_text(
        client.get("/verguenstigungen/?place=99999&radius=10", headers={"Accept-Language": "en"})
    )
    assert "We do not know the postcode 99999." in english
    # As a prefix (no radius) it is no error: the partner with that postcode is listed.
    assert ">Ohne Ort<" in page_text(client.get("/verguenstigungen/?place=99999"))


def test_bad_search_parameters_answer_400(client: FlaskClient, ctx: None) -> None:
    make_office()
    assert client.get("/verguenstigungen/?lat=abc&lon=1").status_code == 400
    assert client.get("/verguenstigungen/?page=0").status_code == 400
    assert client.get("/verguenstigungen/?q=%00").status_code == 400


def test_results_are_grouped_and_paged_by_partner(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(office, name="Zoo", benefits=("Eintritt frei", "Futter gratis"))
    many, _user = make_partner(
        office, name="Vielfalt", benefits=tuple(f"Angebot {n}" for n in range(1, 8))
    )
    for n in range(30):
        make_partner(office, name=f"Laden {n:02d}", benefits=(f"Rabatt {n:02d}",))
    first = page_text(client.get("/verguenstigungen/"))
    # One card per partner: its benefits together, each partner's name once.
    assert first.count('class="panel partner-card"') == 25 and 'rel="next"' in first
    zoo = first[first.index(">Zoo<") : first.index(">Vielfalt<")]
    assert "Eintritt frei" in zoo and "Futter gratis" in zoo
    assert first.count(">Zoo<") == 1
    # A card shows five benefits and links to the partner's page for the rest.
    vielfalt = first[first.index(">Vielfalt<") : first.index(">Laden 00<")]
    assert vielfalt.count("Angebot ") == 5 and "Angebot 6" not in vielfalt
    assert f"/verguenstigungen/partner/{many.public_id}" in vielfalt
    assert "Alle Vergünstigungen von Vielfalt" in vielfalt
    second = page_text(client.get("/verguenstigungen/?page=2"))
    assert second.count('class="panel partner-card"') == 7 and 'rel="next"' not in second
    assert "Laden 29" in second and "Laden 29" not in first


def test_a_page_of_results_takes_the_same_queries_however_many_partners(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    def queries_for_page() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/verguenstigungen/?q=rabatt").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    make_partner(office, name="Laden A", benefits=("Rabatt 1", "Rabatt 2"))
    with_one = queries_for_page()
    for n in range(24):
        make_partner(office, name=f"Laden {n}", benefits=("Rabatt 1", "Rabatt 2", "Rabatt 3"))
    assert queries_for_page() == with_one


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
    assert "Locations by postcode area:" in html and "© OpenStreetMap contributors</a>" in html


def test_the_postcode_tables_source_is_named(client: FlaskClient, ctx: None) -> None:
    """Partners and search centres are placed by an OpenStreetMap-derived table (ODbL)."""
    make_partner(make_office(), name="Kino", benefits=("Eintritt frei",))
    response = client.get("/verguenstigungen/")
    assert 'href="https://www.openstreetmap.org/copyright"' in response.text
    assert "© OpenStreetMap-Mitwirkende</a> (ODbL)" in response.text


TOLERANT_SEARCHES = [
    ("q=Rosslau", "Bäckerei Süß"),
    ("q=ROSSLAU", "Bäckerei Süß"),
    ("q=Roßlau", "Bäckerei Süß"),
    ("q=Baeckerei", "Bäckerei Süß"),
    ("q=backerei", "Bäckerei Süß"),
    ("q=BÄCKEREI", "Bäckerei Süß"),
    ("q=suess+brotchen", "Bäckerei Süß"),
    ("q=Cafe", "Café Müller"),
    ("q=mueller", "Café Müller"),
    ("q=muller+koethen", "Café Müller"),
    ("place=rosslau", "Bäckerei Süß"),
    ("place=Dessau-Rosslau", "Bäckerei Süß"),
    ("place=Kothen", "Café Müller"),
    ("place=KÖTHEN+(Anhalt)", "Café Müller"),
    ("place=06844+Dessau-Roßlau", "Bäckerei Süß"),
    ("place=Dessau-Rosslau+06844", "Bäckerei Süß"),
    ("place=06366+Kothen", "Café Müller"),
]


@pytest.mark.parametrize(("query", "found"), TOLERANT_SEARCHES)
def test_search_is_tolerant_of_spelling(
    client: FlaskClient, ctx: None, query: str, found: str
) -> None:
    office = make_office()
    make_partner(office, name="Bäckerei Süß", town="Dessau-Roßlau", benefits=("Brötchen gratis",))
    make_partner(
        office, name="Café Müller", town="Köthen (Anhalt)", postcode="06366", benefits=("Kaffee",)
    )
    html = page_text(client.get("/verguenstigungen/?" + query))
    others = {"Bäckerei Süß", "Café Müller"} - {found}
    assert found in html and not any(other in html for other in others)


def test_the_map_gets_markers_and_its_tile_host_is_allowed(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    make_partner(office, name="Mit Ort", latitude="51.8350", longitude="12.2460")
    make_partner(office, name="Ohne Ort")
    response = client.get("/verguenstigungen/")
    html = page_text(response)
    assert 'id="directory-map"' in html and 'data-tile-url="http://127.0.0.1:9/' in html
    assert html.count('data-lat="51.835000"') == 1  # a marker for the partner with a place
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: http://127.0.0.1:9;" in policy
    assert "script-src 'self';" in policy  # the markers come from data, not inline script
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    try:
        policy = client.get("/verguenstigungen/").headers["Content-Security-Policy"]
        assert "img-src 'self' data: https://*.tiles.example.org;" in policy
        app.config["MAP_TILE_URL"] = ""
        response = client.get("/verguenstigungen/")
        assert "directory-map" not in page_text(response) and "Mit Ort" in page_text(response)
        assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]
    finally:
        app.config["MAP_TILE_URL"] = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"


def test_migration_0014_folds_the_stored_text_again(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(office, name="Bäckerei Süß", town="Dessau-Roßlau", benefits=("Brötchen",))
    # As 0012 left it: lower case only, no place.
    db.session.execute(
        update(Benefit).values(search_text="brötchen bäckerei süß dessau-roßlau", place_text="")
    )
    db.session.commit()
    assert "Bäckerei Süß" not in page_text(client.get("/verguenstigungen/?q=baeckerei"))
    path = MIGRATIONS / "0014_directory_search.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.recompute(db.session.connection())
    db.session.commit()
    benefit = db.session.scalars(select(Benefit)).one()
    assert "baeckerei" in benefit.search_text and "backerei" in benefit.search_text
    assert benefit.place_text == " dessau rosslau"
    for query in ("q=baeckerei", "q=Rosslau", "place=rosslau"):
        assert "Bäckerei Süß" in page_text(client.get("/verguenstigungen/?" + query))
