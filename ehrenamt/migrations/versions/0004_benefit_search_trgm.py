"""benefit search trigram index

Revision ID: 0004
Revises: 0003
The public directory's text search matches any part of the text (LIKE '%x%'); on
PostgreSQL a trigram index keeps it fast with thousands of partners.

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_benefit_search_text_trgm ON benefit "
            "USING gin (search_text gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_benefit_search_text_trgm")
