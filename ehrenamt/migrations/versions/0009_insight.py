"""insight: statistics snapshots and the office audit page's index

Revision ID: 0009
Revises: 0008
The statistics page keeps its figures per set of offices for a while (they aggregate
every application); the office's audit log is read newest first per office.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statistics_snapshot",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_statistics_snapshot")),
    )
    op.create_index("ix_audit_entry_office", "audit_entry", ["office_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_audit_entry_office", table_name="audit_entry")
    op.drop_table("statistics_snapshot")
