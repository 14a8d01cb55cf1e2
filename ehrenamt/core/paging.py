"""Lists paged in the database: one page of rows and whether another follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from ehrenamt.extensions import db

T = TypeVar("T")

#: The last page any list serves: its offset must fit the database's integers, whatever
#: number a request asks for.
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, numbered from 1."""

    items: list[T]
    number: int
    has_next: bool


def page_number(requested: int | None) -> int:
    """A requested page number made safe: at least 1, at most :data:`MAX_PAGE`."""
    return min(max(requested or 1, 1), MAX_PAGE)


def fetch_page(
    query: Select[*tuple[Any, ...]], page: int, page_size: int, *, rows: bool = False
) -> Page[Any]:
    """Run ``query`` (already ordered) for one page: one row more tells whether another
    page follows, without counting them all. ``rows`` returns whole rows (tuples) instead
    of the first column's objects."""
    number = page_number(page)
    query = query.offset((number - 1) * page_size).limit(page_size + 1)
    found = (
        [tuple(row) for row in db.session.execute(query)]
        if rows
        else list(db.session.scalars(query))
    )
    return Page(found[:page_size], number, has_next=len(found) > page_size)
