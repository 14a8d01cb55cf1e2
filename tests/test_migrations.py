"""The migrations build exactly the schema the models describe, on either database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ehrenamt.extensions import db
from ehrenamt.models import Base, UserRole
from tests.factories import make_application, make_office, make_user


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The PostgreSQL trigram index is made by hand in the migration; models can't say it.
    return not (type_ == "index" and reflected and name is not None and name.endswith("_trgm"))


def test_migrated_schema_matches_the_models(ctx: None) -> None:
    """`flask db upgrade` (run by the test app) leaves nothing for autogenerate to do."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _include}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_postgresql_knows_an_actors_audit_rows_lie_in_one_office(ctx: None) -> None:
    """Migration 0019's statistics: without them the planner misjudges a clerk's audit
    rows and picks a slow plan for the audit log's combined filters (bench/audit.py)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("extended statistics are PostgreSQL's")
    kinds = db.session.scalar(
        text("SELECT stxkind FROM pg_statistic_ext WHERE stxname = 'st_audit_entry_office_actor'")
    )
    assert kinds is not None and "f" in kinds  # f: functional dependencies


def test_database_refuses_an_unknown_state(ctx: None) -> None:
    """Enum columns carry CHECK constraints: bad values cannot get in by any route."""
    office = make_office()
    application = make_application(office, make_user(UserRole.VOLUNTEER))
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE application SET state = 'lost' WHERE id = :id"), {"id": application.id}
        )
        db.session.flush()
    db.session.rollback()
