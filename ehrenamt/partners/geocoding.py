"""Where a partner is: its postcode's centre, from the table shipped with the app.

Partners type an address, not coordinates; the directory needs coordinates to sort by
distance. The table (``ehrenamt/data/postcodes_de.csv``, OpenStreetMap, ODbL) is read
once per process and kept in memory: about 8,200 rows, well under a megabyte.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Partner

TABLE = Path(__file__).resolve().parent.parent / "data" / "postcodes_de.csv"


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


def locate(postcode: str) -> Place | None:
    """The centre of ``postcode``'s area, or None for a postcode the table does not know
    (a new one, or one that does not exist: the partner is then listed without distance)."""
    return _table().get(postcode.strip())


def place_partner(partner: Partner) -> bool:
    """Set ``partner``'s coordinates from its postcode; returns whether it is known.

    An unknown postcode clears them: coordinates of the old postcode would put the
    partner at a distance that is no longer true.
    """
    place = locate(partner.postcode or "")
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
            if place_partner(partner):
                located += 1
            else:
                unknown += 1
        last_id = partners[-1].id
        db.session.commit()
