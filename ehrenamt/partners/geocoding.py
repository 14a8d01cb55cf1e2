"""Where a partner is: its postcode's centre, from the table shipped with the app, or
its street address from a geocoding service if the operator set one (GEOCODER_URL).

Partners type an address, not coordinates; the directory needs coordinates to sort by
distance. The table (``ehrenamt/data/postcodes_de.csv``, OpenStreetMap, ODbL) is read
once per process and kept in memory: about 8,200 rows, well under a megabyte.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Partner

TABLE = Path(__file__).resolve().parent.parent / "data" / "postcodes_de.csv"

#: The columns keep six places; a service's answer is rounded to them.
PLACES = Decimal("0.000001")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """A postcode's centre (WGS 84) and the first place name the table gives for it."""

    latitude: Decimal
    longitude: Decimal
    name: str


@functools.cache
def _table() -> dict[str, Place]:
    with TABLE.open(encoding="utf-8", newline="") as rows:
        return {
            row["postcode"]: Place(
                Decimal(row["latitude"]), Decimal(row["longitude"]), row["place"]
            )
            for row in csv.DictReader(rows)
        }


def is_postcode(text: str) -> bool:
    """Whether ``text`` has the form of a German postcode (five digits)."""
    return len(text) == 5 and text.isascii() and text.isdigit()


def postcode_places() -> dict[str, Place]:
    """Every postcode of the table with its centre and place name (read once per process;
    callers must not change it)."""
    return _table()


def locate(postcode: str) -> Place | None:
    """The centre of ``postcode``'s area, or None for a postcode the table does not know
    (a new one, or one that does not exist: the partner is then listed without distance)."""
    return _table().get(postcode.strip())


def locate_with_service(street: str, postcode: str, town: str) -> Place | None:
    """The address as the configured Nominatim-compatible service finds it, or None
    (no service set, no answer in time, an answer that is no place)."""
    url = current_app.config.get("GEOCODER_URL") or ""
    if not url:
        return None
    query = {"street": street, "postalcode": postcode, "city": town}
    query |= {"country": "de", "format": "jsonv2", "limit": "1"}
    request = urllib.request.Request(  # noqa: S310 - the operator's own setting
        f"{url}?{urllib.parse.urlencode(query)}",
        headers={"User-Agent": f"ehrenamt ({current_app.config['BASE_URL']})"},
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - as above
            request, timeout=float(current_app.config["GEOCODER_TIMEOUT"])
        ) as response:
            found = json.loads(response.read(1_000_000))
        first = found[0]
        latitude = Decimal(str(first["lat"])).quantize(PLACES)
        longitude = Decimal(str(first["lon"])).quantize(PLACES)
    except (OSError, ValueError, LookupError, TypeError, ArithmeticError) as error:
        # The address stays out of the log (a partner's, but still an address).
        logger.warning("geocoding service gave no place (%s); using the postcode table", error)
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Place(latitude, longitude, town)


def place_partner(partner: Partner, *, use_service: bool = True) -> bool:
    """Set ``partner``'s coordinates, from the geocoding service if one is set (its
    street address) or else its postcode's centre; returns whether it was placed.

    An unknown postcode clears them: coordinates of the old postcode would put the
    partner at a distance that is no longer true.
    """
    place = None
    if use_service:
        place = locate_with_service(partner.street or "", partner.postcode or "", partner.town)
    place = place or locate(partner.postcode or "")
    partner.latitude = place.latitude if place else None
    partner.longitude = place.longitude if place else None
    return place is not None


def locate_missing_partners(batch: int = 500) -> tuple[int, int]:
    """Fill the coordinates of every partner that has none, from its postcode (for
    partners registered before the table, or whose postcode the table did not know yet).

    Returns ``(located, still unknown)``; commits after each batch.
    """
    located = unknown = 0
    last_id = 0
    while True:
        partners = db.session.scalars(
            select(Partner)
            .where(Partner.latitude.is_(None), Partner.id > last_id)
            .order_by(Partner.id)
            .limit(batch)
        ).all()
        if not partners:
            return located, unknown
        for partner in partners:
            # The table only: a bulk run must not flood a shared geocoding service.
            if place_partner(partner, use_service=False):
                located += 1
            else:
                unknown += 1
        last_id = partners[-1].id
        db.session.commit()
