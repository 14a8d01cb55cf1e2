"""The public directory: published benefits, searched by text, category and distance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, or_, select

from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Partner,
    PartnerState,
)


@dataclass
class DirectoryQuery:
    """What a visitor searches the directory for."""

    text: str = ""
    category_id: int | None = None
    #: A postcode prefix (digits) or a town name.
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    #: Only partners within this many kilometres when sorting by distance.
    radius_km: float = 50.0


#: Kilometres per degree of latitude.
KM_PER_DEGREE = 111.32


def _published_today(query: Select, today: date) -> Select:
    return query.where(
        Benefit.published.is_(True),
        or_(Benefit.valid_from.is_(None), Benefit.valid_from <= today),
        or_(Benefit.valid_until.is_(None), Benefit.valid_until >= today),
    )


def _degrees(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def search_directory(
    criteria: DirectoryQuery, page: int, page_size: int, today: date | None = None
) -> Page:
    """Published benefits valid today, filtered and paged in the database.

    With the visitor's coordinates, only partners with coordinates in a bounding box
    around them are listed, nearest first (an equirectangular approximation, which is
    accurate enough at the distances a directory is used for).
    """
    today = today or date.today()
    query = _published_today(select(Benefit, Partner).join(Partner), today)
    text = criteria.text.strip().lower()
    if text:
        query = query.where(Benefit.search_text.contains(text, autoescape=True))
    if criteria.category_id is not None:
        query = query.where(Benefit.category_id == criteria.category_id)
    place = criteria.place.strip()
    if place.isdigit():
        query = query.where(Benefit.postcode.startswith(place, autoescape=True))
    elif place:
        query = query.where(func.lower(Partner.town).startswith(place.lower(), autoescape=True))
    if criteria.latitude is not None and criteria.longitude is not None:
        lat, lon = criteria.latitude, criteria.longitude
        lat_span = criteria.radius_km / KM_PER_DEGREE
        scale = max(math.cos(math.radians(lat)), 0.01)
        lon_span = lat_span / scale
        # Bounds as decimals like the columns: compared with floats, PostgreSQL casts
        # the column, cannot estimate the filter and picks a nested loop.
        query = query.where(
            Partner.latitude.between(_degrees(lat - lat_span), _degrees(lat + lat_span)),
            Partner.longitude.between(_degrees(lon - lon_span), _degrees(lon + lon_span)),
        )
        d_lat = Partner.latitude - _degrees(lat)
        d_lon = (Partner.longitude - _degrees(lon)) * _degrees(scale)
        query = query.order_by(d_lat * d_lat + d_lon * d_lon, Benefit.id)
    else:
        # In the order they were added: the primary key walks in order and stops after a
        # page, where sorting by name would join and sort every published benefit.
        query = query.order_by(Benefit.id)
    return fetch_page(query, page, page_size, rows=True)


def distance_km(partner: Partner, latitude: float, longitude: float) -> float | None:
    """The approximate distance from the visitor to the partner, if it has coordinates."""
    if partner.latitude is None or partner.longitude is None:
        return None
    scale = math.cos(math.radians(latitude))
    d_lat = float(partner.latitude) - latitude
    d_lon = (float(partner.longitude) - longitude) * scale
    return math.hypot(d_lat, d_lon) * KM_PER_DEGREE


def public_partner(public_id: str) -> Partner | None:
    """An approved partner by its public id (the directory's page per partner)."""
    return db.session.scalar(
        select(Partner).where(
            Partner.public_id == public_id, Partner.state == PartnerState.APPROVED
        )
    )


def published_benefits(partner: Partner, today: date | None = None) -> list[Benefit]:
    """The partner's benefits shown in the directory today."""
    query = _published_today(
        select(Benefit).where(Benefit.partner_id == partner.id), today or date.today()
    )
    return list(db.session.scalars(query.order_by(Benefit.title, Benefit.id)))
