"""export

Revision ID: 0007
Revises: 0005
A volunteer's rights over their data (issue #11): data exports (DSGVO Art. 15/20).

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "ready",
                "failed",
                name="exportstate",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_data_export_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_export")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_export_public_id")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_data_export_stored_name")),
    )
    with op.batch_alter_table("data_export") as batch_op:
        batch_op.create_index(batch_op.f("ix_data_export_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_export_expires_at"), ["expires_at"], unique=False)


def downgrade():
    op.drop_table("data_export")
