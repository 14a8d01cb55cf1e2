"""The directory's categories of benefits."""

from __future__ import annotations

from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import (
    Category,
)

#: The ten categories of the Bavarian Ehrenamtskarte. The same list seeds migration 0003;
#: migrations must not import application code, so it is repeated here for
#: :func:`ensure_categories` (tests and new databases made without the migration's seed).
CATEGORIES = [
    ("auto-zweirad", "Auto/Zweirad", "Cars/two-wheelers"),
    ("multimedia", "Multimedia", "Multimedia"),
    ("gesundheit-sport-wellness", "Gesundheit/Sport/Wellness", "Health/sport/wellness"),
    (
        "bildung-kultur-unterhaltung",
        "Bildung/Kultur/Unterhaltung",
        "Education/culture/entertainment",
    ),
    ("dienstleistungen-finanzen", "Dienstleistungen/Finanzen", "Services/finance"),
    ("mode-beauty", "Mode/Beauty", "Fashion/beauty"),
    ("wohnen-haus-garten", "Wohnen/Haus/Garten", "Home/house/garden"),
    ("freizeit-reise-unterkuenfte", "Freizeit/Reise/Unterkünfte", "Leisure/travel/accommodation"),
    ("essen-trinken-gastronomie", "Essen/Trinken/Gastronomie", "Food/drink/restaurants"),
    ("sonstiges", "Sonstiges", "Other"),
]


def ensure_categories() -> list[Category]:
    """Create the missing standard categories (idempotent); all categories in order."""
    existing = set(db.session.scalars(select(Category.slug)))
    for position, (slug, name, name_en) in enumerate(CATEGORIES):
        if slug not in existing:
            db.session.add(Category(slug=slug, name=name, name_en=name_en, position=position))
    db.session.commit()
    return list_categories()


def list_categories() -> list[Category]:
    """Every category, in the directory's order."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def category_name(category: Category, language: str) -> str:
    """The category's name in the page's language."""
    return category.name_en if language == "en" else category.name
