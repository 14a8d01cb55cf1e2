"""Towns by name from the postcode table: folding, namesakes, ambiguity, the centre."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ehrenamt.partners.towns import TownIndex, find_town
from tests.factories import make_office
from tests.helpers import page_text
from tests.test_directory import directory_text, listed_in_order, partners_due_north

#: A small table: postcode → (place name, latitude, longitude).
TABLE = {
    "06842": ("Dessau-Roßlau", 51.80, 12.20),
    "06844": ("Dessau-Roßlau", 51.85, 12.27),
    "06862": ("Dessau-Roßlau", 51.92, 12.26),
    "06366": ("Köthen (Anhalt)", 51.75, 11.97),
    "48143": ("Münster", 51.96, 7.63),
    "48147": ("Münster", 51.97, 7.62),
    "86692": ("Münster", 48.63, 10.92),
    "37620": ("Halle", 51.98, 9.57),
    "06108": ("Halle (Saale)", 51.48, 11.97),
    "06110": ("Halle (Saale)", 51.47, 11.98),
    "06886": ("Wittenberg", 51.87, 12.65),
    "19322": ("Wittenberge", 53.00, 11.75),
}


@pytest.fixture(scope="module")
def index() -> TownIndex:
    return TownIndex(TABLE)


@pytest.mark.parametrize(
    "typed", ["Dessau-Roßlau", "DESSAU ROSSLAU", "Dessau", "Rosslau", "Roßlau", "dess", "ross"]
)
def test_a_town_is_found_by_its_name_a_word_of_it_or_a_words_start(
    index: TownIndex, typed: str
) -> None:
    town = index.search(typed).town
    assert town is not None and town.name == "Dessau-Roßlau"
    # The mean of its postcodes' centres; its lowest postcode.
    assert (town.postcode, town.postcodes) == ("06842", 3)
    assert town.latitude == pytest.approx(51.8567, abs=1e-4)
    assert town.longitude == pytest.approx(12.2433, abs=1e-4)


@pytest.mark.parametrize("typed", ["Köthen", "Koethen", "Kothen", "köthen (anhalt)"])
def test_umlauts_fold_as_the_directory_folds_them(index: TownIndex, typed: str) -> None:
    town = index.search(typed).town
    assert town is not None and town.name == "Köthen (Anhalt)"


def test_namesakes_far_apart_are_different_towns(index: TownIndex) -> None:
    found = index.search("Münster")
    assert found.town is None
    assert [(t.postcode, t.postcodes) for t in found.candidates] == [("48143", 2), ("86692", 1)]


def test_an_exact_name_does_not_win_over_longer_names_that_begin_with_it(
    index: TownIndex,
) -> None:
    # Exact first, then bigger towns (more postcodes) first.
    found = index.search("Halle")
    assert [t.name for t in found.candidates] == ["Halle", "Halle (Saale)"]
    saale = index.search("Halle Saale").town
    assert saale is not None and saale.postcode == "06108"


def test_a_whole_word_wins_over_the_start_of_a_longer_word(index: TownIndex) -> None:
    town = index.search("Wittenberg").town
    assert town is not None and town.name == "Wittenberg"
    assert [t.name for t in index.search("Witten").candidates] == ["Wittenberg", "Wittenberge"]


@pytest.mark.parametrize("typed", ["", "  ", "Atlantis", "-"])
def test_nothing_or_an_unknown_name_finds_no_town(index: TownIndex, typed: str) -> None:
    assert index.search(typed).town is None and index.search(typed).candidates == ()


def test_the_shipped_table_knows_the_programmes_towns() -> None:
    for typed, name in (("Rosslau", "Dessau-Roßlau"), ("Köthen", "Köthen (Anhalt)")):
        town = find_town(typed).town
        assert town is not None and town.name == name
    assert len(find_town("Neustadt").candidates) > 5


@pytest.mark.parametrize(
    ("place", "german", "english"),
    [
        (
            "Neustadt",
            "Meinten Sie 35279\u00a0Neustadt, 67433\u00a0Neustadt an der Weinstraße,"
            " 01844\u00a0Neustadt in Sachsen, 31535\u00a0Neustadt am Rübenberge,"
            " 53577\u00a0Neustadt (Wied), …?",
            "Did you mean 35279\u00a0Neustadt, 67433\u00a0Neustadt an der Weinstraße,",
        ),
        (
            "Frankfurt",
            "Meinten Sie 60306\u00a0Frankfurt am Main, 15230\u00a0Frankfurt (Oder)? Bitte",
            "Did you mean 60306\u00a0Frankfurt am Main, 15230\u00a0Frankfurt (Oder)? Please",
        ),
        (
            "Atlantis",
            "Einen Ort „Atlantis“ kennen wir nicht.",
            "We do not know a town called “Atlantis”.",
        ),
    ],
    ids=["neustadt", "frankfurt", "unknown"],
)
def test_an_ambiguous_or_unknown_town_as_the_centre_is_explained_at_the_field(
    client: FlaskClient, ctx: None, place: str, german: str, english: str
) -> None:
    make_office()
    response = client.get(f"/verguenstigungen/?place={place}&radius=10")
    html = page_text(response)
    assert response.status_code == 400
    field = html[html.index('id="place"') - 200 : html.index('id="place-error"') + 400]
    assert 'aria-invalid="true"' in field and german in field
    url = f"/verguenstigungen/?place={place}&radius=10"
    assert english in page_text(client.get(url, headers={"Accept-Language": "en"}))
    # Without a radius the name only narrows by town: no error.
    assert client.get(f"/verguenstigungen/?place={place}").status_code == 200


#: The centre of Dessau-Roßlau by its name: the mean of its seven postcodes' centres.
CENTRE_DESSAU_ROSSLAU = (51.8481, 12.2251)


def test_a_towns_name_with_a_radius_is_the_centre(client: FlaskClient, ctx: None) -> None:
    names = ("Drei", "Acht", "Zwanzig")
    # The nearest is in the next town.
    partners_due_north(
        CENTRE_DESSAU_ROSSLAU,
        {"name": "Zwanzig", "km": 20, "town": "Dessau-Roßlau"},
        {"name": "Acht", "km": 8, "town": "Dessau-Roßlau"},
        {"name": "Drei", "km": 3, "town": "Oranienbaum-Wörlitz"},
    )

    def page(query: str, language: str = "de") -> str:
        return directory_text(client, query, language)

    for place in ("Dessau-Roßlau", "dessau+rosslau", "Rosslau", "Dessau"):
        around = page(f"place={place}&radius=10")
        assert listed_in_order(around, names) == ["Drei", "Acht"], place
        assert "3,0 km" in around and "8,0 km" in around
    assert "Im Umkreis von 10 km um Dessau-Roßlau, sortiert nach Entfernung." in around
    assert 'data-here="Dessau-Roßlau"' in around
    english = page("place=Dessau&radius=10", "en")
    assert "Within 10 km of Dessau-Roßlau, sorted by distance." in english
    assert listed_in_order(page("place=Dessau&radius=25"), names) == list(names)
    # Without a radius the name narrows by the partner's town, as before.
    assert listed_in_order(page("place=Dessau"), names) == ["Zwanzig", "Acht"]
