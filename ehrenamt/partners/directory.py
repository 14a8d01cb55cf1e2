"""The public directory: approved partners with their published benefits, searched by
text, category, place and distance, one card per partner."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, or_, select

from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.core.text import fold_for_search
from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Partner,
)
from ehrenamt.partners.geocoding import is_postcode, locate
from ehrenamt.partners.listing import listed_partners
from ehrenamt.partners.towns import TownSearch, find_town

#: Radii a visitor can choose, in kilometres.
RADII_KM = (5, 10, 25, 50)
#: The radius when the visitor chooses none.
DEFAULT_RADIUS_KM = 25
#: Benefits shown on a partner's card in the results; more are on the partner's page
#: (keeps a page of results bounded whatever one partner publishes).
BENEFITS_PER_CARD = 5
#: Towns an ambiguous town name lists at the field, most likely first; the visitor then
#: types the one meant more exactly.
TOWNS_SHOWN = 5
#: Words of a query that must all match; more are ignored (each adds a LIKE).
MAX_QUERY_WORDS = 6


@dataclass
class DirectoryQuery:
    """What a visitor searches the directory for."""

    text: str = ""
    category_id: int | None = None
    #: A postcode prefix (digits), the start of a word of a town's name, or both
    #: (see :func:`parse_place`).
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    #: Only partners within this many kilometres when searching near a place.
    radius_km: float = float(DEFAULT_RADIUS_KM)


@dataclass
class DirectoryEntry:
    """One partner in the results, with the benefits that matched the search."""

    partner: Partner
    benefits: list[Benefit] = field(default_factory=list)
    #: More benefits matched than the card shows.
    more: bool = False
    #: Kilometres from the visitor, when the visitor's position is known.
    distance_km: float | None = None


#: A number standing alone in the place field: a postcode or its first digits
#: ("06844 Dessau", "Dessau-Roßlau 06844"). German town names hold no digits.
_POSTCODE_PART = re.compile(r"\b[0-9]+\b")


@dataclass(frozen=True)
class PlaceSearch:
    """The place field taken apart: the postcode (or its start) and the town's words."""

    #: Digits a partner's postcode starts with; empty for none.
    postcode: str
    #: The rest, folded (core.text.fold_for_search), to match the start of the town's
    #: words; empty for none.
    words: str


def parse_place(place: str) -> PlaceSearch:
    """The postcode part (the first number) and the town part of the place field, as
    people write an address: "06844", "Dessau", "06844 Dessau", "Dessau-Roßlau, 06844"."""
    found = _POSTCODE_PART.search(place)
    if found is None:
        return PlaceSearch("", fold_for_search(place))
    rest = place[: found.start()] + " " + place[found.end() :]
    return PlaceSearch(found.group(), fold_for_search(rest))


@dataclass(frozen=True)
class Centre:
    """A complete postcode's centre or a town's, to search around when the visitor's
    position is not known (from the table shipped with the app, see partners.geocoding
    and partners.towns)."""

    #: The postcode typed; empty around a town typed by its name.
    postcode: str
    #: The table's place name for the postcode ("Dessau-Roßlau").
    name: str
    latitude: float
    longitude: float


def complete_postcode(place: str) -> str | None:
    """The place field's postcode if it is complete (five digits), else None."""
    postcode = parse_place(place).postcode
    return postcode if is_postcode(postcode) else None


def postcode_centre(place: str) -> Centre | None:
    """The centre of the place field's complete postcode; None without one, or for a
    postcode the table does not know."""
    postcode = complete_postcode(place)
    found = locate(postcode) if postcode else None
    if postcode is None or found is None:
        return None
    return Centre(postcode, found.name, float(found.latitude), float(found.longitude))


def town_search(place: str) -> TownSearch | None:
    """The town the place field names by words alone; None if it holds a number (then
    the postcode decides) or no words."""
    parsed = parse_place(place)
    return None if parsed.postcode or not parsed.words else find_town(parsed.words)


def place_centre(place: str) -> Centre | None:
    """The centre of the place field's complete postcode, or else of the one town its
    words name; None for neither."""
    search = town_search(place)
    if search is None or search.town is None:
        return postcode_centre(place)
    town = search.town
    return Centre("", town.name, town.latitude, town.longitude)


#: Kilometres per degree of latitude.
KM_PER_DEGREE = 111.32


def _published_today(today: date) -> list[ColumnElement[bool]]:
    return [
        Benefit.published.is_(True),
        or_(Benefit.valid_from.is_(None), Benefit.valid_from <= today),
        or_(Benefit.valid_until.is_(None), Benefit.valid_until >= today),
    ]


def _benefit_filters(criteria: DirectoryQuery, today: date) -> list[ColumnElement[bool]]:
    """What a benefit must meet to be listed: published today and matching the search.

    Text and town are compared folded (see core.text.fold_for_search), as they are stored.
    """
    filters = _published_today(today)
    for word in fold_for_search(criteria.text).split()[:MAX_QUERY_WORDS]:
        filters.append(Benefit.search_text.contains(word, autoescape=True))
    if criteria.category_id is not None:
        filters.append(Benefit.category_id == criteria.category_id)
    place = parse_place(criteria.place)
    if place.postcode:
        filters.append(Benefit.postcode.startswith(place.postcode, autoescape=True))
    if place.words:
        filters.append(Benefit.place_text.contains(" " + place.words, autoescape=True))
    return filters


def _degrees(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def _partners_query(criteria: DirectoryQuery, today: date) -> Select[Partner]:
    """Approved partners with at least one benefit to list, in the order to show them."""
    matching = select(Benefit.id).where(
        Benefit.partner_id == Partner.id, *_benefit_filters(criteria, today)
    )
    query = select(Partner).where(listed_partners(), matching.exists())
    if criteria.latitude is None or criteria.longitude is None:
        # In the order they joined: the primary key walks in order and stops after a page,
        # where sorting by name would sort every listed partner.
        return query.order_by(Partner.id)
    lat, lon = criteria.latitude, criteria.longitude
    lat_span = criteria.radius_km / KM_PER_DEGREE
    scale = max(math.cos(math.radians(lat)), 0.01)
    lon_span = lat_span / scale
    d_lat = Partner.latitude - _degrees(lat)
    d_lon = (Partner.longitude - _degrees(lon)) * _degrees(scale)
    squared = d_lat * d_lat + d_lon * d_lon
    # The box lets an index narrow the rows; the circle then holds the radius exactly
    # (equirectangular, accurate enough at a directory's distances). Bounds are decimals
    # like the columns: compared with floats, PostgreSQL casts the column, cannot
    # estimate the filter and picks a nested loop.
    return query.where(
        Partner.latitude.between(_degrees(lat - lat_span), _degrees(lat + lat_span)),
        Partner.longitude.between(_degrees(lon - lon_span), _degrees(lon + lon_span)),
        squared <= _degrees(lat_span * lat_span),
    ).order_by(squared, Partner.id)


def _benefits_of(
    partner_ids: list[int], criteria: DirectoryQuery, today: date
) -> dict[int, list[Benefit]]:
    """The matching benefits of a page's partners in one query, at most one more per
    partner than a card shows (so the card knows whether to link to the rest)."""
    if not partner_ids:
        return {}
    position = (
        func.row_number()
        .over(partition_by=Benefit.partner_id, order_by=(Benefit.title, Benefit.id))
        .label("position")
    )
    ranked = (
        select(Benefit.id, position)
        .where(Benefit.partner_id.in_(partner_ids), *_benefit_filters(criteria, today))
        .subquery()
    )
    query = (
        select(Benefit)
        .join(ranked, ranked.c.id == Benefit.id)
        .where(ranked.c.position <= BENEFITS_PER_CARD + 1)
        .order_by(Benefit.partner_id, ranked.c.position)
    )
    found: dict[int, list[Benefit]] = defaultdict(list)
    for benefit in db.session.scalars(query):
        found[benefit.partner_id].append(benefit)
    return found


def search_directory(
    criteria: DirectoryQuery, page: int, page_size: int, today: date | None = None
) -> Page[DirectoryEntry]:
    """Partners with published benefits valid today that match, paged in the database by
    partner; each with its matching benefits (two queries, whatever the page size).

    With the visitor's coordinates, only partners with coordinates within the radius are
    listed, nearest first.
    """
    today = today or date.today()
    partners: Page[Partner] = fetch_page(_partners_query(criteria, today), page, page_size)
    benefits = _benefits_of([p.id for p in partners.items], criteria, today)
    entries = []
    for partner in partners.items:
        listed = benefits.get(partner.id, [])
        distance = None
        if criteria.latitude is not None and criteria.longitude is not None:
            distance = distance_km(partner, criteria.latitude, criteria.longitude)
        entries.append(
            DirectoryEntry(
                partner,
                listed[:BENEFITS_PER_CARD],
                more=len(listed) > BENEFITS_PER_CARD,
                distance_km=distance,
            )
        )
    return Page(entries, partners.number, partners.has_next)


def distance_km(partner: Partner, latitude: float, longitude: float) -> float | None:
    """The approximate distance from the visitor to the partner, if it has coordinates."""
    if partner.latitude is None or partner.longitude is None:
        return None
    scale = math.cos(math.radians(latitude))
    d_lat = float(partner.latitude) - latitude
    d_lon = (float(partner.longitude) - longitude) * scale
    return math.hypot(d_lat, d_lon) * KM_PER_DEGREE


def public_partner(public_id: str) -> Partner | None:
    """A listed partner by its public id (the directory's page per partner)."""
    return db.session.scalar(
        select(Partner).where(Partner.public_id == public_id, listed_partners())
    )


def published_benefits(partner: Partner, today: date | None = None) -> list[Benefit]:
    """The partner's benefits shown in the directory today."""
    query = select(Benefit).where(
        Benefit.partner_id == partner.id, *_published_today(today or date.today())
    )
    return list(db.session.scalars(query.order_by(Benefit.title, Benefit.id)))
