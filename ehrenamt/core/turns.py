"""Take turns on one row, on PostgreSQL and SQLite alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute

from ehrenamt.extensions import db


def wait_for_turn(entity: Any, column: InstrumentedAttribute[Any]) -> None:
    """Write ``column`` of ``entity``'s row to itself, then read the row again.

    The write locks the row (PostgreSQL) or the database (SQLite, where SELECT … FOR
    UPDATE does nothing), so of two requests at once on the same row the second waits
    here until the first commits, then reads what the first wrote (a link it sent, a
    password it set) and decides on that. Nothing changes in the row.
    """
    model = type(entity)
    db.session.execute(
        update(model)
        .where(model.id == entity.id)
        .values({column: column})
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(entity)
